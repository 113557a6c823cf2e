import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from billing.submit import event_submit_for_billing
from consignment.models import FacilityContact
from events.models import Event, EventLine, EventStatus
from events.services import event_add_devices
from inventory.models import Device, DeviceStatus
from inventory.udi import udi_raw
from tests.factories import (
    AdminFactory,
    FacilityContactFactory,
    FacilityFactory,
    ManagerFactory,
    ProductFactory,
    ProductLineFactory,
    UserFactory,
    make_event,
    receive,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    line = ProductLineFactory()
    org = line.organization
    admin = AdminFactory(organization=org)
    rep = UserFactory(organization=org, username="rep1")
    facility = FacilityFactory(organization=org)
    product = ProductFactory(product_line=line, organization=org)
    return {"org": org, "line": line, "admin": admin, "rep": rep, "facility": facility,
            "product": product}


def _event(world, **kwargs):
    kwargs.setdefault("actor", world["admin"])
    kwargs.setdefault("representative", world["rep"])
    kwargs.setdefault("facility", world["facility"])
    return make_event(product_line=world["line"], **kwargs)


# --- list ------------------------------------------------------------------------------------


def test_rep_sees_own_events_admin_and_manager_the_organisations(client, world):
    mine = _event(world, name="Mine")
    other_rep = UserFactory(organization=world["org"])
    theirs = _event(world, representative=other_rep, name="Other rep's")
    client.force_login(world["rep"])
    html = client.get(reverse("events:list")).content.decode()
    assert mine.name in html and escape(theirs.name) not in html
    assert "Create Event" in html
    client.force_login(ManagerFactory(organization=world["org"]))
    html = client.get(reverse("events:list")).content.decode()
    assert mine.name in html and escape(theirs.name) in html
    assert "Create Event" not in html


def test_events_list_hides_other_organisations_and_filters(client, world):
    other_line = ProductLineFactory()
    other_admin = AdminFactory(organization=other_line.organization)
    make_event(
        actor=other_admin, representative=UserFactory(organization=other_line.organization),
        facility=FacilityFactory(organization=other_line.organization),
        product_line=other_line, name="Foreign event",
    )
    _event(world, name="Spring stocking")
    _event(world, name="Knee case", event_type="case", patient_id="P1")
    client.force_login(world["admin"])
    html = client.get(reverse("events:list")).content.decode()
    assert "Foreign event" not in html
    assert "Spring stocking" in html and "Knee case" in html
    html = client.get(reverse("events:list"), {"event_type": "case"}).content.decode()
    assert "Knee case" in html and "Spring stocking" not in html
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    html = client.get(reverse("events:list"), {"date_to": yesterday.isoformat()}).content.decode()
    assert "Knee case" not in html
    # Another organisation's facility is not a valid filter choice.
    foreign_facility = FacilityFactory(organization=other_line.organization)
    html = client.get(reverse("events:list"), {"facility": foreign_facility.pk}).content.decode()
    assert escape(foreign_facility.name) not in html


def test_events_list_query_count_does_not_grow(client, world, django_assert_max_num_queries):
    client.force_login(world["admin"])
    _event(world)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("events:list"), {"sort": "facility"})
    assert response.status_code == 200
    names = [f"Event {i:02}" for i in range(30)]
    for name in names:
        _event(world, name=name, facility=FacilityFactory(organization=world["org"]))
    with django_assert_max_num_queries(9):
        response = client.get(reverse("events:list"), {"sort": "facility", "page": 2})
    assert response.status_code == 200
    # 31 events, 25 a page: page 2 shows the other 6; each event is on exactly one page.
    first = client.get(reverse("events:list"), {"sort": "facility"}).content.decode()
    second = response.content.decode()
    everyone = ["stocking_order event", *names]
    assert sum(f">{name}</a>" in second for name in everyone) == 6
    assert all((f">{name}</a>" in first) != (f">{name}</a>" in second) for name in everyone)


@pytest.mark.parametrize("sort", ["date", "-date", "representative", "-representative",
                                  "facility", "status", "event_type", "name"])
def test_events_that_tie_on_the_sort_are_each_on_exactly_one_page(client, world, sort):
    """30 events with the same date, rep, facility, status, type and name: every sort ends with
    the id, so page 1 and page 2 together list each of them once."""
    day = timezone.localdate()
    ids = {_event(world, name="Same", date=day).pk for _ in range(30)}
    client.force_login(world["admin"])
    seen = []
    for page in (1, 2):
        html = client.get(reverse("events:list"), {"sort": sort, "page": page}).content.decode()
        seen += [int(pk) for pk in re.findall(r'href="/events/(\d+)/">Same</a>', html)]
    assert sorted(seen) == sorted(ids)


def test_every_events_list_sort_ends_with_the_id():
    """PostgreSQL returns tied rows in any order, differently for LIMIT/OFFSET page queries
    (seen on the scale data set: 5,435 events of one day), so every sort ends with the id."""
    from events.tables import EventTable

    table = EventTable(Event.objects.none())
    for column in table.columns:
        if column.orderable:
            assert column.order_by[-1].lstrip("-") == "pk", column.name


# --- create ---------------------------------------------------------------------------------


def test_rep_creates_a_case_for_themself(client, world):
    contact = FacilityContactFactory(facility=world["facility"], organization=world["org"])
    client.force_login(world["rep"])
    response = client.get(reverse("events:create"))
    html = response.content.decode()
    assert "Event Type" in html and "Add New" in html and ">Create</button>" in html
    response = client.post(reverse("events:create"), {
        "event_type": "case", "name": "Knee 14", "date": "2026-11-20",
        "facility": world["facility"].pk, "representative": AdminFactory(
            organization=world["org"]).pk,  # ignored: a rep's representative is fixed
        "facility_contact": contact.pk, "manufacturer": world["line"].manufacturer_id,
        "product_line": world["line"].pk, "patient_id": "PT-77", "surgeon": "Dr. Who",
    })
    event = Event.objects.get(name="Knee 14")
    assert response.status_code == 302
    # It lands on the "Mark Used Inventory" tab, as its message says.
    assert response["Location"] == reverse("events:detail", args=[event.pk]) + "?tab=used"
    assert event.representative == world["rep"]
    assert event.patient_id == "PT-77" and event.facility_contact == contact


def test_create_choices_never_show_another_organisations_rows(client, world):
    foreign = FacilityFactory(name="Foreign Hospital")
    foreign_line = ProductLineFactory(name="Foreign line")
    foreign_rep = UserFactory(organization=foreign.organization, first_name="Foreigner")
    client.force_login(world["admin"])
    html = client.get(reverse("events:create")).content.decode()
    assert world["facility"].name in escape(html) or escape(world["facility"].name) in html
    assert "Foreign Hospital" not in html and "Foreigner" not in html
    html = client.get(reverse("events:product_line_options"),
                      {"manufacturer": foreign_line.manufacturer_id}).content.decode()
    assert "Foreign line" not in html
    response = client.post(reverse("events:create"), {
        "event_type": "stocking_order", "name": "X", "date": "2026-11-20",
        "facility": foreign.pk, "representative": foreign_rep.pk,
        "manufacturer": world["line"].manufacturer_id, "product_line": world["line"].pk,
    })
    assert response.status_code == 200
    assert not Event.objects.filter(name="X").exists()


def test_product_lines_follow_the_manufacturer(client, world):
    ProductLineFactory(manufacturer=world["line"].manufacturer, organization=world["org"],
                                 name="Cervical plates")
    other = ProductLineFactory(organization=world["org"],
                               manufacturer__organization=world["org"], name="Hips")
    client.force_login(world["admin"])
    html = client.get(reverse("events:product_line_options"),
                      {"manufacturer": world["line"].manufacturer_id}).content.decode()
    assert "Cervical plates" in html and world["line"].name in html and "Hips" not in html
    assert other.pk


def test_add_new_contact_creates_and_selects_it(client, world):
    client.force_login(world["rep"])
    html = client.get(reverse("events:contact_create"),
                      {"facility": world["facility"].pk}).content.decode()
    assert "New facility contact" in html
    response = client.post(
        reverse("events:contact_create"),
        {"facility": world["facility"].pk, "name": "Nora Nurse", "title": "OR lead"},
        headers={"HX-Request": "true"},
    )
    contact = FacilityContact.objects.get(name="Nora Nurse")
    assert contact.facility == world["facility"] and contact.organization == world["org"]
    assert response["HX-Retarget"] == "#id_facility_contact"
    assert f'value="{contact.pk}" selected' in response.content.decode()
    # Another organisation's facility is refused.
    foreign = FacilityFactory()
    response = client.post(reverse("events:contact_create"),
                           {"facility": foreign.pk, "name": "Spy"})
    assert not FacilityContact.objects.filter(name="Spy").exists()


# --- event page, permissions ------------------------------------------------------------------


def test_another_organisations_event_is_404(client, world):
    other_line = ProductLineFactory()
    foreign_event = make_event(
        actor=AdminFactory(organization=other_line.organization),
        representative=UserFactory(organization=other_line.organization),
        facility=FacilityFactory(organization=other_line.organization), product_line=other_line,
    )
    client.force_login(world["admin"])
    for name in ("events:detail", "events:device_search"):
        assert client.get(reverse(name, args=[foreign_event.pk])).status_code == 404
    for name in ("events:add_device", "events:scan", "billing:submit",
                 "events:facility_stock_only"):
        assert client.post(reverse(name, args=[foreign_event.pk])).status_code == 404
    # A rep can't open another rep's event either.
    event = _event(world)
    client.force_login(UserFactory(organization=world["org"]))
    assert client.get(reverse("events:detail", args=[event.pk])).status_code == 404


def test_manager_is_read_only(client, world):
    event = _event(world)
    devices = receive(custodian=world["rep"], product=world["product"], count=2)
    event_add_devices(actor=world["admin"], event=event, devices=devices[:1])
    manager = ManagerFactory(organization=world["org"])
    client.force_login(manager)
    response = client.get(reverse("events:detail", args=[event.pk]), {"tab": "used"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Submit For Billing" not in html and ">Remove</button>" not in html
    assert devices[0].serial in html
    posts = [
        (reverse("events:create"), {}),
        (reverse("events:contact_create"), {}),
        (reverse("events:add_device", args=[event.pk]), {"device": devices[1].pk}),
        (reverse("events:scan", args=[event.pk]), {"label": "x"}),
        (reverse("events:remove_device", args=[event.pk, devices[0].pk]), {}),
        (reverse("events:facility_stock_only", args=[event.pk]), {}),
        (reverse("events:update", args=[event.pk]), {"name": "x"}),
        (reverse("billing:submit", args=[event.pk]), {"signature_name": "M", "attest": "on"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert event.lines.count() == 1
    assert client.get(reverse("events:create")).status_code == 403


# --- Mark Used Inventory ------------------------------------------------------------------------


def test_search_finds_the_reps_available_devices_by_serial_lot_reference_description(
    client, world
):
    event = _event(world)
    mine = receive(custodian=world["rep"], product=world["product"], count=2, lot="LOT-XYZ",
                   serials=["SN-AAA1", "SN-BBB2"])
    expired = receive(custodian=world["rep"], product=world["product"], serials=["SN-OLD"],
                      expires_in_days=1, today=timezone.localdate() - datetime.timedelta(days=2))
    someone_else = receive(custodian=UserFactory(organization=world["org"]),
                           product=world["product"], serials=["SN-OTHER"])
    other_maker = receive(custodian=world["rep"], serials=["SN-MAKER"])
    client.force_login(world["rep"])
    url = reverse("events:device_search", args=[event.pk])
    html = client.get(url, {"q": "aaa1"}).content.decode()
    assert "SN-AAA1" in html and "SN-BBB2" not in html
    html = client.get(url, {"q": "lot-xyz"}).content.decode()
    assert "SN-AAA1" in html and "SN-BBB2" in html
    html = client.get(url, {"q": world["product"].reference}).content.decode()
    assert "SN-AAA1" in html
    html = client.get(url, {"q": world["product"].description.split()[0]}).content.decode()
    assert "SN-BBB2" in html
    html = client.get(url, {"q": ""}).content.decode()
    for device in (expired[0], someone_else[0], other_maker[0]):
        assert device.serial not in html
    event_add_devices(actor=world["rep"], event=event, devices=mine[:1])
    html = client.get(url, {"q": ""}).content.decode()
    assert "SN-AAA1" not in html and "SN-BBB2" in html


def test_device_search_query_count_does_not_grow(client, world, django_assert_max_num_queries):
    event = _event(world)
    receive(custodian=world["rep"], product=world["product"], count=2)
    client.force_login(world["rep"])
    url = reverse("events:device_search", args=[event.pk])
    # session, user, event, results (the maker's products, the page's ids, their rows), what
    # the search hid (issue 23), why the rep may not use the other matches (whatever their number
    # and reasons: is the organisation small enough to read whole, the units' ids, their details
    # — issue 29; a large organisation's bound is in test_mark_used_search_bound.py) and the
    # organisation (its currency)
    with django_assert_max_num_queries(11):
        assert client.get(url, {"q": "SN"}).content.decode().count(">Add</button>") == 2
    for _ in range(3):
        receive(custodian=world["rep"], product=ProductFactory(product_line=world["line"],
                                                               organization=world["org"]),
                count=15)
    receive(custodian=UserFactory(organization=world["org"]), product=world["product"], count=9)
    with django_assert_max_num_queries(11):
        html = client.get(url, {"q": "SN"}).content.decode()
    assert html.count("aria-label=\"Add SN") == 25
    assert "9 matches are held by another rep." in html
    detail = reverse("events:detail", args=[event.pk])
    with django_assert_max_num_queries(9):
        assert client.get(detail, {"tab": "used"}).status_code == 200


def test_add_remove_and_total(client, world):
    event = _event(world)
    devices = receive(custodian=world["rep"], product=world["product"], count=2)
    client.force_login(world["rep"])
    for device in devices:
        response = client.post(reverse("events:add_device", args=[event.pk]),
                               {"device": device.pk}, headers={"HX-Request": "true"})
        assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="lines-total">$2,000.00<' in html
    response = client.post(reverse("events:remove_device", args=[event.pk, devices[0].pk]),
                           headers={"HX-Request": "true"})
    assert list(event.lines.values_list("device_id", flat=True)) == [devices[1].pk]
    assert 'data-testid="lines-total">$1,000.00<' in response.content.decode()


def test_adding_a_device_the_rules_refuse_shows_the_error_and_changes_nothing(client, world):
    event = _event(world)
    other = UserFactory(organization=world["org"], first_name="Olive", last_name="Other")
    theirs = receive(custodian=other, product=world["product"], serials=["SN-THEIRS"])[0]
    client.force_login(world["rep"])
    response = client.post(reverse("events:add_device", args=[event.pk]),
                           {"device": theirs.pk}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert 'data-testid="add-error"' in html and "SN SN-THEIRS is not in" in html
    assert not event.lines.exists()


def test_scan_adds_the_device_from_a_raw_or_bracketed_label(client, world):
    event = _event(world)
    a, b = receive(custodian=world["rep"], product=world["product"], count=2, lot="L7")
    client.force_login(world["rep"])
    url = reverse("events:scan", args=[event.pk])
    raw = udi_raw(world["product"].gtin, a.expiration_date, a.lot, a.serial)
    assert "\x1d" in raw
    response = client.post(url, {"label": raw + "\r\n"}, headers={"HX-Request": "true"})
    assert f"Scanned and added SN {a.serial}" in response.content.decode()
    client.post(url, {"label": b.build_udi()}, headers={"HX-Request": "true"})
    assert set(event.lines.values_list("device_id", flat=True)) == {a.pk, b.pk}


def test_scan_errors_are_shown_next_to_the_scan_box(client, world):
    event = _event(world)
    client.force_login(world["rep"])
    url = reverse("events:scan", args=[event.pk])
    response = client.post(url, {"label": "(01)00000000000017(21)X"},
                           headers={"HX-Request": "true"})
    html = response.content.decode()
    assert 'data-testid="scan-error"' in html and "Unknown GTIN" in html
    response = client.post(url, {"label": "hello world"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    # Words for a rep, not the parser's ("Failed to get GS1 Application Identifier ...").
    assert "That is not a UDI label. Scan the device" in html
    assert "Application Identifier" not in html and "hello world" not in html
    # Without htmx: the error comes back as a message on the event page.
    response = client.post(url, {"label": "hello"}, follow=True)
    assert "That is not a UDI label" in response.content.decode()
    assert not event.lines.exists()


def test_facility_stock_filter_switches_the_search_to_facility_stock(client, world):
    stocking = _event(world)
    sold = receive(custodian=world["rep"], product=world["product"], serials=["SN-SHELF"])
    event_add_devices(actor=world["admin"], event=stocking, devices=sold)
    event_submit_for_billing(actor=world["admin"], event=stocking, signature_name="Admin")
    receive(custodian=world["rep"], product=world["product"], serials=["SN-BAG"])
    case = _event(world, event_type="case", patient_id="P-1", actor=world["rep"])
    client.force_login(world["rep"])
    search = reverse("events:device_search", args=[case.pk])
    html = client.get(search).content.decode()
    assert "SN-BAG" in html and "SN-SHELF" not in html
    response = client.post(reverse("events:facility_stock_only", args=[case.pk]),
                           {"facility_stock_only": "on"}, headers={"HX-Request": "true"})
    assert "checked" in response.content.decode()
    case.refresh_from_db()
    assert case.facility_stock_only
    html = client.get(search).content.decode()
    assert "SN-SHELF" in html and "SN-BAG" not in html


# --- Submit For Billing ---------------------------------------------------------------------


def test_submit_for_billing_locks_the_event_and_twice_is_harmless(client, world):
    event = _event(world)
    devices = receive(custodian=world["rep"], product=world["product"], count=2)
    event_add_devices(actor=world["rep"], event=event, devices=devices)
    client.force_login(world["rep"])
    url = reverse("billing:submit", args=[event.pk])
    response = client.post(url, {"signature_name": "Riley Rep"}, follow=True)
    # Refused: back on the event page (not left on /submit/), the reason in the submit form.
    assert response.redirect_chain[-1][0] == f"{reverse('events:detail', args=[event.pk])}?tab=used"
    assert "Tick the attestation" in response.content.decode()
    data = {"signature_name": "Riley Rep", "attest": "on"}
    response = client.post(url, data, follow=True)
    html = response.content.decode()
    event.refresh_from_db()
    assert event.status == EventStatus.PENDING_PO
    assert "Pending PO" in html and event.sales_order.number in html
    assert 'data-testid="billing-panel"' in html
    assert "Submit For Billing</button>" not in html and ">Remove</button>" not in html
    assert set(Device.objects.filter(pk__in=[d.pk for d in devices]).values_list(
        "status", flat=True)) == {DeviceStatus.FACILITY_STOCK}
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    assert "already submitted" in response.content.decode()
    assert Event.objects.get(pk=event.pk).sales_order.number == event.sales_order.number


def test_rule_violations_at_submit_are_form_errors_naming_the_devices(client, world):
    case = _event(world, event_type="case", actor=world["rep"])  # no patient ID
    devices = receive(custodian=world["rep"], product=world["product"], count=1)
    event_add_devices(actor=world["rep"], event=case, devices=devices)
    client.force_login(world["rep"])
    response = client.post(reverse("billing:submit", args=[case.pk]),
                           {"signature_name": "Riley", "attest": "on"}, follow=True)
    html = response.content.decode()
    assert response.redirect_chain == [(f"/events/{case.pk}/?tab=used", 302)]
    assert "Enter the Patient ID" in html and 'data-testid="form-errors"' in html
    case.refresh_from_db()
    assert case.is_draft
    # Devices expire between marking and submitting: the error names the device.
    case.patient_id = "P-9"
    case.save()
    Device.objects.filter(pk=devices[0].pk).update(
        expiration_date=timezone.localdate() - datetime.timedelta(days=1)
    )
    html = client.post(reverse("billing:submit", args=[case.pk]),
                       {"signature_name": "Riley", "attest": "on"}, follow=True).content.decode()
    assert f"SN {devices[0].serial} expired" in html
    assert EventLine.objects.filter(event=case, committed=True).count() == 0


def test_event_page_query_count_does_not_grow_with_lines(
    client, world, django_assert_max_num_queries
):
    event = _event(world)
    devices = receive(custodian=world["rep"], product=world["product"], count=22)
    event_add_devices(actor=world["rep"], event=event, devices=devices[:1])
    client.force_login(world["rep"])
    url = reverse("events:detail", args=[event.pk])
    with django_assert_max_num_queries(9):
        assert client.get(url, {"tab": "used"}).status_code == 200
    event_add_devices(actor=world["rep"], event=event, devices=devices[1:20])
    with django_assert_max_num_queries(9):
        html = client.get(url, {"tab": "used"}).content.decode()
    assert html.count(">Remove</button>") == 20
    assert html.count("aria-label=\"Add SN") == 2
    # The details tab adds the edit form's choices: facility, rep, contact, manufacturer, line.
    with django_assert_max_num_queries(14):
        assert client.get(url, {"tab": "details"}).status_code == 200


def test_details_tab_edits_a_draft(client, world):
    case = _event(world, event_type="case", actor=world["rep"], name="Case A")
    client.force_login(world["rep"])
    response = client.post(reverse("events:update", args=[case.pk]), {
        "name": "Case A, OR 2", "date": "2026-11-21", "patient_id": "PT-1", "surgeon": "Dr. B",
        # The header comes with the form (unchanged here; a rep's own name is fixed).
        "facility": case.facility_id, "manufacturer": case.manufacturer_id,
        "product_line": case.product_line_id,
    })
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.name, case.patient_id, case.surgeon) == ("Case A, OR 2", "PT-1", "Dr. B")
    response = client.post(reverse("events:update", args=[case.pk]), {
        "name": " ", "date": "2026-11-21",
    })
    assert response.status_code == 200 and "This field is required" in response.content.decode()
