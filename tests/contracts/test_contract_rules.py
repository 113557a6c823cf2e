"""Contracts: the price resolver (most specific entry wins, in force on the event's date), the
overlap refusal (service and database), the CSV import (all or nothing, rows named)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from contracts.importing import ImportRefused, contract_prices_import
from contracts.models import Contract, ContractPrice
from contracts.selectors import contract_prices
from contracts.services import (
    contract_create,
    contract_price_set,
    contract_update,
    facility_group_create,
)
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db
D = datetime.date
JAN_1, DEC_31 = D(2026, 1, 1), D(2026, 12, 31)


def contract(world, name="St. Mary's 2026", facility=None, group=None, start=JAN_1, end=DEC_31):
    if group is None and facility is None:
        facility = world.st_marys
    return contract_create(
        actor=world.admin, name=name, facility=facility, group=group, valid_from=start, valid_to=end
    )


def price_of(world, product, on, facility=None):
    return contract_prices(
        organization_id=world.org.pk,
        facility_id=(facility or world.st_marys).pk,
        on=on,
        products=[product],
    )[product.pk]


def test_a_product_price_beats_the_product_line_percent_off(world):
    c = contract(world)
    contract_price_set(
        actor=world.admin, contract=c, product_line=world.line, percent_off=Decimal("10")
    )
    other = ProductFactory(
        product_line=world.line, organization=world.org, unit_price=Decimal("200.00")
    )
    contract_price_set(
        actor=world.admin, contract=c, product=world.product, price=Decimal("850.00")
    )
    resolved = contract_prices(
        organization_id=world.org.pk,
        facility_id=world.st_marys.pk,
        on=D(2026, 6, 1),
        products=[world.product, other],
    )
    assert resolved[world.product.pk].price == Decimal("850.00")
    assert resolved[world.product.pk].contract == c
    assert resolved[other.pk].price == Decimal("180.00")  # 10 % off 200.00
    assert "10% off list" in resolved[other.pk].basis


def test_the_facility_contract_beats_its_hospital_system_for_the_same_kind_of_entry(world):
    system = facility_group_create(
        actor=world.admin, name="Unity Health", facilities=[world.st_marys, world.mercy]
    )
    group_contract = contract(world, name="Unity 2026", group=system)
    contract_price_set(
        actor=world.admin, contract=group_contract, product=world.product, price=Decimal("900.00")
    )
    own = contract(world, name="St. Mary's own")
    contract_price_set(
        actor=world.admin, contract=own, product_line=world.line, percent_off=Decimal("50")
    )
    # St. Mary's: the group's product price (more specific entry) beats its own line discount.
    assert price_of(world, world.product, D(2026, 3, 1)).price == Decimal("900.00")
    contract_price_set(
        actor=world.admin, contract=own, product=world.product, price=Decimal("700.00")
    )
    assert price_of(world, world.product, D(2026, 3, 1)).contract == own
    # Mercy has no contract of its own: the hospital system's price.
    assert price_of(world, world.product, D(2026, 3, 1), world.mercy).price == Decimal("900.00")


def test_only_the_contract_in_force_on_the_date_prices(world):
    old = contract(world, name="2025", start=D(2025, 1, 1), end=D(2025, 12, 31))
    new = contract(world, name="2026", start=D(2026, 1, 1), end=None)
    contract_price_set(
        actor=world.admin, contract=old, product=world.product, price=Decimal("800.00")
    )
    contract_price_set(
        actor=world.admin, contract=new, product=world.product, price=Decimal("820.00")
    )
    assert price_of(world, world.product, D(2025, 12, 31)).price == Decimal("800.00")
    assert price_of(world, world.product, D(2026, 1, 1)).price == Decimal("820.00")
    assert price_of(world, world.product, D(2031, 1, 1)).contract == new  # open-ended
    before = price_of(world, world.product, D(2024, 12, 31))
    assert (before.price, before.contract, before.basis) == (Decimal("1000.00"), None, "list price")
    # Another facility never gets St. Mary's price.
    assert price_of(world, world.product, D(2026, 6, 1), world.mercy).contract is None


def test_overlapping_contracts_of_the_same_scope_are_refused(world):
    contract(world, name="A", start=D(2026, 1, 1), end=D(2026, 6, 30))
    with pytest.raises(ValidationError, match="can't overlap"):
        contract(world, name="B", start=D(2026, 6, 30), end=D(2026, 12, 31))
    with pytest.raises(ValidationError, match="can't overlap"):
        contract(world, name="C", start=D(2025, 1, 1), end=None)
    contract(world, name="D", start=D(2026, 7, 1), end=None)  # the day after: fine
    contract(world, name="E", facility=world.mercy)  # another facility: fine
    b = contract(world, name="F", facility=world.mercy, start=D(2027, 1, 1), end=None)
    with pytest.raises(ValidationError, match="can't overlap"):
        contract_update(
            actor=world.admin, contract=b, name="F", valid_from=D(2026, 12, 1), valid_to=None
        )
    assert sorted(Contract.objects.values_list("name", flat=True)) == ["A", "D", "E", "F"]


def test_the_database_refuses_overlap_whatever_the_path(world):
    first = contract(world, name="A", start=D(2026, 1, 1), end=None)
    system = facility_group_create(actor=world.admin, name="Unity", facilities=[world.mercy])
    contract(world, name="G1", group=system, start=D(2026, 1, 1), end=D(2026, 12, 31))
    for scope in ({"facility": world.st_marys}, {"group": system}):
        with pytest.raises(IntegrityError, match="no_overlap"), transaction.atomic():
            Contract.objects.create(
                organization=world.org,
                name=f"raw {scope}",
                valid_from=D(2026, 5, 1),
                valid_to=D(2026, 5, 2),
                created_by=world.admin,
                **scope,
            )
    assert Contract.objects.filter(pk=first.pk).exists()
    with pytest.raises(IntegrityError), transaction.atomic():  # a line entry with a price
        ContractPrice.objects.create(
            organization=world.org, contract=first, product_line=world.line, price=Decimal("1")
        )


def test_a_facility_joins_one_hospital_system_only_and_reps_manage_nothing(world):
    facility_group_create(actor=world.admin, name="Unity", facilities=[world.mercy])
    with pytest.raises(ValidationError, match="already belongs to Unity"):
        facility_group_create(actor=world.admin, name="Other", facilities=[world.mercy])
    with pytest.raises(PermissionDenied):
        contract_create(
            actor=world.rep, name="x", facility=world.st_marys, valid_from=D(2026, 1, 1)
        )


def test_entry_rules(world):
    c = contract(world)
    for kwargs, message in [
        ({"product": world.product}, "Enter the contract price"),
        ({"product": world.product, "percent_off": Decimal(5)}, "percentage off applies"),
        ({"product_line": world.line, "percent_off": Decimal(0)}, "more than 0"),
        ({"product_line": world.line, "percent_off": Decimal(101)}, "at most 100"),
        ({}, "Name a product"),
    ]:
        with pytest.raises(ValidationError, match=message):
            contract_price_set(actor=world.admin, contract=c, **kwargs)
    assert not ContractPrice.objects.exists()


CSV_HEADER = "reference,product_line,price,percent_off\n"


def test_the_csv_import_writes_every_row_or_none_and_names_each_problem(world):
    c = contract(world)
    bad = (
        CSV_HEADER + f"{world.product.reference},,850.00,\n"
        "NOPE-1,,10,\n"
        ",Pedicle Screws,,150\n"
        f"{world.product.reference},,abc,\n"
        ",No Such Line,,5\n"
        f"{world.product.reference},Pedicle Screws,1,\n"
    )
    with pytest.raises(ImportRefused) as refused:
        contract_prices_import(actor=world.admin, contract=c, data=bad.encode())
    assert [str(e) for e in refused.value.row_errors] == [
        "Row 3: no product has the reference “NOPE-1”.",
        "Row 4: the percentage off must be more than 0 and at most 100.",
        "Row 5: the price “abc” is not a number.",
        "Row 6: no product line is named “No Such Line”.",
        "Row 7: name a product or a product line, not both.",
    ]
    assert not ContractPrice.objects.exists()
    good = CSV_HEADER + f"{world.product.reference.lower()},,850.00,\n,pedicle screws,,12.5\n"
    assert contract_prices_import(actor=world.admin, contract=c, data=good.encode()) == 2
    assert price_of(world, world.product, D(2026, 2, 1)).price == Decimal("850.00")
    # Importing again replaces the entries, never duplicates them.
    again = CSV_HEADER + f"{world.product.reference},,840,\n"
    contract_prices_import(actor=world.admin, contract=c, data=again.encode())
    assert ContractPrice.objects.count() == 2
    assert price_of(world, world.product, D(2026, 2, 1)).price == Decimal("840.00")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "Row 1: the file is empty"),
        (b"ref,price\n", "Row 1: the header must be"),
        (b"\xff\xfe", "not UTF-8"),
        ((CSV_HEADER + "A\x00B,,1,\n").encode(), "Row 2: contains a NUL byte"),
        ((CSV_HEADER + "A,,1\n").encode(), "Row 2: wrong number of columns"),
        (CSV_HEADER.encode(), "Row 2: the file has no price rows."),
        ((CSV_HEADER + "x" * 2000 + ",,1,\n").encode(), "Row 2: is longer than"),
    ],
)
def test_the_csv_import_refuses_malformed_files(world, data, message):
    c = contract(world)
    with pytest.raises(ImportRefused) as refused:
        contract_prices_import(actor=world.admin, contract=c, data=data)
    assert message in " ".join(refused.value.messages)
    assert not ContractPrice.objects.exists()


def test_one_query_prices_any_number_of_products(world, django_assert_num_queries):
    c = contract(world)
    products = [ProductFactory(product_line=world.line, organization=world.org) for _ in range(6)]
    contract_price_set(actor=world.admin, contract=c, product=products[0], price=Decimal(1))
    contract_price_set(
        actor=world.admin, contract=c, product_line=world.line, percent_off=Decimal(20)
    )
    with django_assert_num_queries(1):
        resolved = contract_prices(
            organization_id=world.org.pk,
            facility_id=world.st_marys.pk,
            on=D(2026, 5, 5),
            products=products,
        )
    assert resolved[products[0].pk].price == Decimal("1.00")
    assert {resolved[p.pk].price for p in products[1:]} == {Decimal("800.00")}
