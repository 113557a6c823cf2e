"""The one label parser (inventory.labels) against labels printed by others.

Where each example comes from is said beside it. Sources:

* [FDA] "UDI Formats by FDA-Accredited Issuing Agency", FDA/CDRH, version 1.3 (27 January 2017):
  the plain-text example UDI of each issuing agency (GS1, ICCBBA).
* [HIBC] ANSI/HIBC 2.x, "The Health Industry Supplier Labeling Standard": the check character
  worked example (``+A123BJC5D6E71`` sums to 145, 145 mod 43 = 16, check character ``G``) and
  the secondary data structure's example data ``$$52001510X3`` (flag 5, YYJJJ 20015, lot 10X3).
* [IDA-UDI] IDAutomation, "HIBCC Unique Device Identification (UDI)" (barcode-faq/udi/
  hibcc-udi.html): the primary data structure example LIC A123, PCN ABCDEFGHI123456789, U/M 1,
  check character E; and its secondary/supplemental example (expiry 2020-02-02 16h, lot
  LOT123456789012345, serial XYZ456789012345678, manufactured 2013-02-02).
* [IDA-HIBC] IDAutomation, "HIBC | HIBCC UDI" (barcode-faq/udi/hibc.html): the concatenated
  data ``+A123BJC5D6E71/$$52001510X3`` whose check character their generator appends.
* [ICCBBA] IDAutomation, "ICCBBA UDI" (barcode-faq/udi/iccbba-udi.html) and [FDA]: the ISBT 128
  example data structures (=/A9999XYZ100T0944, =,000025, …).
* [biip] the GS1 Digital Link examples in biip's ``gs1_digital_link_uris`` module documentation
  (biip 5.2, taken from GS1's Digital Link standard).
* [issue 30] the labels quoted in the issue as refused today.

A label a test builds itself (every HIBC date form) says so; its check character is computed by
the algorithm the worked example above pins down.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError

from inventory.labels import (
    GS,
    Label,
    hibc_check_character,
    hibc_text,
    looks_like_label,
    parse_label,
    parse_product_code,
)


def messages(text: str) -> str:
    with pytest.raises(ValidationError) as caught:
        parse_label(text)
    return " ".join(caught.value.messages)


# --- GS1 element strings, every form a scanner types -------------------------------------

# [FDA] "Example of GS1 easily readable plain-text UDI".
FDA_GS1 = "(01)51022222233336(11)141231(17)150707(10)A213B1(21)1234"
FDA_GS1_RAW = "0151022222233336111412311715070710A213B1" + GS + "211234"


@pytest.mark.parametrize("text", [
    FDA_GS1,                                 # bracketed, as printed under the barcode
    FDA_GS1_RAW,                             # raw, GS after the variable-length lot
    "]d2" + FDA_GS1_RAW,                     # GS1 DataMatrix symbology prefix
    "]C1" + FDA_GS1_RAW,                     # GS1-128
    "]Q3" + FDA_GS1_RAW,                     # GS1 QR Code
    FDA_GS1_RAW.replace(GS, "<GS>"),         # what a keyboard-wedge scanner shows for GS
    FDA_GS1_RAW.replace(GS, "\\x1d"),
    GS + FDA_GS1_RAW + "\r\n",               # leading FNC1-as-GS and the scanner's Enter
])
def test_the_fda_gs1_example_in_every_form(text):
    assert parse_label(text) == Label(
        "GS1", gtin="51022222233336", lot="A213B1", serial="1234",
        expiration_date=datetime.date(2015, 7, 7),
    )


def test_a_gs1_gtin_with_a_wrong_check_digit_is_refused_by_name():
    assert "wrong check digit" in messages("(01)51022222233337(17)150707(10)A213B1")


# --- GS1 Digital Link ---------------------------------------------------------------------

@pytest.mark.parametrize("uri, expected", [
    # [issue 30] refused today with "That is not a UDI label".
    ("https://id.gs1.org/01/07612345678900/10/LOT1/21/SER1?17=271231",
     Label("GS1", gtin="07612345678900", lot="LOT1", serial="SER1",
           expiration_date=datetime.date(2027, 12, 31))),
    # [biip] with GS1 Digital Link 1.0's short names (lot, ser, exp) and a GTIN-12.
    ("https://id.gs1.org/01/614141123452/lot/ABC1/ser/12345?exp=180426",
     Label("GS1", gtin="00614141123452", lot="ABC1", serial="12345",
           expiration_date=datetime.date(2018, 4, 26))),
    # [biip] a GTIN with a measure only: no lot, serial or expiry.
    ("https://id.gs1.org/01/614141123452?3103=000195", Label("GS1", gtin="00614141123452")),
    # A QR code reader may keep the ]Q1 prefix of a plain QR code.
    ("]Q1https://id.gs1.org/01/07612345678900/21/SER1",
     Label("GS1", gtin="07612345678900", serial="SER1")),
])
def test_gs1_digital_link_uris(uri, expected):
    assert parse_label(uri) == expected


def test_a_web_address_that_is_no_digital_link_says_so():
    assert "not a GS1 Digital Link" in messages("https://example.com/catalogue/screw")


def test_a_digital_link_without_a_gtin_says_so():
    # [biip] an SSCC (a shipping container), not a product.
    text = "https://id.gs1.org/00/106141412345678908?02=00614141123452&37=25&10=ABC123"
    assert "no GTIN" in messages(text)


# --- HIBC: check characters ---------------------------------------------------------------

def test_the_standards_check_character_worked_example():
    # [HIBC] +A123BJC5D6E71 -> 145 mod 43 = 16 -> "G"; [IDA-UDI] +A123ABCDEFGHI1234567891 -> "E".
    assert hibc_check_character("+A123BJC5D6E71") == "G"
    assert hibc_check_character("+A123ABCDEFGHI1234567891") == "E"


@pytest.mark.parametrize("text, expected", [
    # [HIBC] primary data structure.
    ("+A123BJC5D6E71G", Label("HIBC", hibc_labeler="A123", hibc_product="BJC5D6E7", hibc_unit=1)),
    # [IDA-UDI] primary data structure with an 18-character catalogue number.
    ("+A123ABCDEFGHI1234567891E",
     Label("HIBC", hibc_labeler="A123", hibc_product="ABCDEFGHI123456789", hibc_unit=1)),
    # [IDA-UDI] the concatenated UDI: primary / $$4 YYMMDDHH expiry + lot / S serial / 16D
    # manufacture date, one check character over all of it ("$").
    ("+A123ABCDEFGHI1234567891/$$420020216LOT123456789012345/SXYZ456789012345678/16D20130202$",
     Label("HIBC", hibc_labeler="A123", hibc_product="ABCDEFGHI123456789", hibc_unit=1,
           lot="LOT123456789012345", serial="XYZ456789012345678",
           expiration_date=datetime.date(2020, 2, 2))),
    # [HIBC] the primary and the secondary as two Code 39 symbols read one after the other:
    # the secondary's link character (G) is the primary's check character.
    ("+A123BJC5D6E71G+$$52001510X3GD",
     Label("HIBC", hibc_labeler="A123", hibc_product="BJC5D6E7", hibc_unit=1, lot="10X3",
           expiration_date=datetime.date(2020, 1, 15))),
])
def test_hibc_labels_from_the_standard_and_label_guides(text, expected):
    assert parse_label(text) == expected


def test_the_concatenated_example_of_a_label_guide():
    # [IDA-HIBC] +A123BJC5D6E71/$$52001510X3 plus the check character their generator appends.
    data = "+A123BJC5D6E71/$$52001510X3"
    label = parse_label(data + hibc_check_character(data))
    assert (label.hibc_labeler, label.hibc_product, label.hibc_unit) == ("A123", "BJC5D6E7", 1)
    assert (label.lot, label.expiration_date) == ("10X3", datetime.date(2020, 1, 15))


@pytest.mark.parametrize("text", [
    "+A123BJC5D6E71H",                       # [HIBC] worked example, last character changed
    "+A123ABCDEFGHI1234567891/$$420020216LOT123456789012345/SXYZ456789012345678/16D20130202%",
    "+A123BJC5D6E71G+$$52001510X3GE",        # the secondary's own check character
])
def test_a_wrong_check_character_is_refused_with_a_message_that_says_so(text):
    message = messages(text)
    assert "check character is wrong" in message and "scan it again" in message


def test_the_issues_hibc_example_has_a_wrong_check_character():
    # [issue 30] "+H703420500/$$3271231LOT123J": its data gives the check character " " (38),
    # not "J"; with the right one it reads.
    assert "it reads 'J', the data before it gives ' '" in messages(
        "+H703420500/$$3271231LOT123J")
    label = parse_label("+H703420500/$$3271231LOT123 ")
    assert (label.hibc_labeler, label.hibc_product, label.hibc_unit) == ("H703", "42050", 0)
    assert (label.lot, label.expiration_date) == ("LOT123", datetime.date(2027, 12, 31))


def test_a_space_check_character_survives_the_trimming_of_the_scan():
    # A scanner's Enter arrives after the space; forms trim both. The parser reads the label
    # with its trailing space when it is needed, and never otherwise.
    assert parse_label("+H703420500/$$3271231LOT123 \r\n").lot == "LOT123"


def test_a_link_character_that_does_not_match_the_primary_is_refused():
    secondary = "+$$52001510X3X"  # linked to a primary whose check character is X, not G
    text = "+A123BJC5D6E71G" + secondary + hibc_check_character(secondary)
    assert "link character 'X' does not match the primary label's check character 'G'" in (
        messages(text))


def test_a_secondary_label_alone_asks_for_the_primary():
    assert "scan the primary label" in messages("+$$52001510X3GD")


def test_characters_outside_the_hibc_set_are_named():
    assert "contains 'b', which HIBC labels never carry" in messages("+A123bJC5D6E71G")


# --- HIBC: every date form, quantity and serial variants (built here from the standard) ----

EXPIRY = datetime.date(2020, 1, 15)


def hibc(secondary: str) -> Label:
    """The standard's example primary with ``secondary`` concatenated, and its check."""
    data = "+A123BJC5D6E71/" + secondary
    return parse_label(data + hibc_check_character(data))


@pytest.mark.parametrize("secondary, lot, serial, expiry, quantity", [
    ("$$0120" + "10X3", "10X3", "", datetime.date(2020, 1, 31), None),   # MMYY: end of month
    ("$$1220" + "10X3", "10X3", "", datetime.date(2020, 12, 31), None),  # MMYY, month 12
    ("$$2011520" + "10X3", "10X3", "", EXPIRY, None),                      # 2: MMDDYY
    ("$$3200115" + "10X3", "10X3", "", EXPIRY, None),                      # 3: YYMMDD
    ("$$420011523" + "10X3", "10X3", "", EXPIRY, None),                    # 4: YYMMDDHH
    ("$$520015" + "10X3", "10X3", "", EXPIRY, None),                       # 5: YYJJJ
    ("$$62001523" + "10X3", "10X3", "", EXPIRY, None),                     # 6: YYJJJHH
    ("$$7" + "10X3", "10X3", "", None, None),                              # 7: no date
    ("20015" + "10X3", "10X3", "", EXPIRY, None),                          # plain YYJJJ
    ("$" + "10X3", "10X3", "", None, None),                                # lot only
    ("$$824" + "3200115" + "10X3", "10X3", "", EXPIRY, 24),                # 8: quantity 2 digits
    ("$$900100" + "520015" + "10X3", "10X3", "", EXPIRY, 100),             # 9: quantity 5 digits
    ("$$824" + "10X3", "10X3", "", None, 24),                              # quantity, no date
    ("$+" + "0001", "", "0001", None, None),                               # serial only
    ("$$+3200115" + "0001", "", "0001", EXPIRY, None),                     # serial with a date
    ("$$+7" + "0001", "", "0001", None, None),                             # serial, no date
    ("$$7" + "10X3/S0001", "10X3", "0001", None, None),                    # /S serial
    ("$$7" + "10X3/14D20200115", "10X3", "", EXPIRY, None),                # /14D expiry
    ("$$7" + "10X3/Q12/16D20190101", "10X3", "", None, 12),                # /Q, /16D
])
def test_every_date_form_quantity_and_serial_of_the_standard(secondary, lot, serial, expiry,
                                                            quantity):
    label = hibc(secondary)
    assert (label.lot, label.serial, label.expiration_date, label.quantity) == (
        lot, serial, expiry, quantity)
    assert label.product_code == "+A123BJC5D6E71"


@pytest.mark.parametrize("secondary, words", [
    ("$$3201315" + "10X3", "20131510X3"[:6] + " is not a date (YYMMDD)"),
    ("$$5" + "20400" + "10X3", "is not a date (YYJJJ)"),
    ("$$1320" + "10X3", "1320 is not a date (MMYY)"),
    ("$$8X4" + "10X3", "quantity X4 is not a 2-digit number"),
    ("$$7" + "10X3/ZZ9", "part ZZ9 that the HIBC standard does not define"),
])
def test_bad_secondary_data_is_named(secondary, words):
    data = "+A123BJC5D6E71/" + secondary
    assert words in messages(data + hibc_check_character(data))


def test_hibc_labels_the_project_prints_read_back():
    text = hibc_text("H703", "MS00003", 0, datetime.date(2028, 3, 31), "L-7", "SN9")
    assert parse_label(text) == Label(
        "HIBC", hibc_labeler="H703", hibc_product="MS00003", hibc_unit=0, lot="L-7",
        serial="SN9", expiration_date=datetime.date(2028, 3, 31))
    assert parse_label(text).hri == text


# --- ISBT 128 and anything else -----------------------------------------------------------

@pytest.mark.parametrize("text", [
    # [ICCBBA]/[FDA] the ISBT 128 example data structures, concatenated as a scanner sends them.
    "=/A9999XYZ100T0944=,000025=A99971312345600=>014032=}013032&,1000000000000XYZ123",
    "=A99971312345600",
    "]d1=/A9999XYZ100T0944",
])
def test_isbt_128_is_refused_by_name(text):
    assert messages(text).startswith("ISBT 128 labels are not supported yet")


def test_garbage_is_not_a_label():
    message = messages("hello world")
    assert message.startswith("That is not a UDI label.") and "HIBC" in message


def test_what_search_boxes_take_for_a_label():
    assert all(looks_like_label(t) for t in (
        FDA_GS1, FDA_GS1_RAW, "+A123BJC5D6E71G", "https://id.gs1.org/01/07612345678900",
        "=A99971312345600"))
    assert not any(looks_like_label(t) for t in ("SN-1234", "LOT-A", "screw", "01234"))


def test_receiving_files_name_products_by_gtin_or_hibc_code():
    assert parse_product_code("07612345678900") == ("GS1", ("07612345678900",))
    assert parse_product_code("+A123BJC5D6E71") == ("HIBC", ("A123", "BJC5D6E7", 1))
    with pytest.raises(ValidationError, match="neither a 14-digit GTIN nor a HIBC"):
        parse_product_code("761234567890")
