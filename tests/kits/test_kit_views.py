"""The kit screens through HTTP: each page renders for its roles, the whole flow works by
posting the forms, and every list/detail page's queries stay bounded whatever the rows."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from events.models import Event
from inventory.models import Device, DeviceStatus, Kit, Transfer
from inventory.selectors import ledger_discrepancies

pytestmark = pytest.mark.django_db


def test_flow_through_the_forms(client, kits):
    w = kits.world
    screws = w.devices(3, product=kits.screw)
    plates = w.devices(2, product=kits.plate)
    client.force_login(w.rep)
    response = client.post(reverse("inventory:kit_create"),
                           {"template": kits.template.pk, "tag": "pss-9"})
    kit = Kit.objects.get(tag="PSS-9")
    assert response.url == reverse("inventory:kit_detail", args=[kit.pk])
    # Pack by scanning a serial and by picking.
    client.post(reverse("inventory:kit_pack", args=[kit.pk]),
                {"labels": screws[0].serial, "devices": [d.pk for d in screws[1:] + plates]})
    page = client.get(reverse("inventory:kit_detail", args=[kit.pk])).content.decode()
    assert 'data-testid="kit-state">complete' in page
    today = timezone.localdate()
    response = client.post(reverse("events:loan_create"), {
        "kits": [kit.pk], "facility": w.st_marys.pk, "date": today,
        "due_back": today + datetime.timedelta(days=2)})
    loan = Event.objects.get(event_type="loan")
    assert response.url == reverse("events:loan_detail", args=[loan.pk])
    assert client.get(reverse("events:detail", args=[loan.pk])).url == response.url
    # Check-in with a unit neither back nor lost: refused, nothing changes.
    url = reverse("events:kit_check_in", args=[loan.pk, kit.pk])
    response = client.post(url, {"present": [d.pk for d in screws + plates[:1]]})
    assert "unaccounted for" in response.content.decode()
    assert Device.objects.filter(kit=kit, status=DeviceStatus.LOANED).count() == 5
    response = client.post(url, {"present": [d.pk for d in screws[1:] + plates[:1]],
                                 "labels": screws[0].serial, "lost": [plates[1].pk]})
    assert response.status_code == 302
    kit.refresh_from_db()
    assert kit.status == Kit.Status.AVAILABLE
    # Replenish from the rep's own stock: a refill transfer, then accepted.
    spare = w.devices(1, product=kits.plate)
    response = client.post(reverse("inventory:kit_replenish", args=[kit.pk]), {"source": w.rep.pk})
    assert 'data-testid="refill-drafted"' in response.content.decode()
    refill = Transfer.objects.get(into_kit=kit)
    client.post(reverse("inventory:transfer_accept", args=[refill.pk]))
    assert Device.objects.get(pk=spare[0].pk).kit == kit
    assert list(ledger_discrepancies()) == []


def test_label_pdf_has_the_tag(client, kits):
    kit = kits.build(tag="PSS-1")
    client.force_login(kits.world.manager)
    response = client.get(reverse("inventory:kit_label", args=[kit.pk]))
    assert response["Content-Type"] == "application/pdf"
    import io

    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "PSS-1" in text and "SCR-55" in text


def test_template_csv_form_and_managers_read_only(client, kits):
    w = kits.world
    client.force_login(w.admin)
    response = client.post(reverse("inventory:kit_template_create"), {
        "name": "Plate set", "product_line": w.line.pk, "items": "PLT-2,4\nNOPE,1"})
    assert "no product &#x27;NOPE&#x27;" in response.content.decode()
    response = client.post(reverse("inventory:kit_template_create"), {
        "name": "Plate set", "product_line": w.line.pk, "items": "PLT-2,4"})
    assert response.status_code == 302
    client.force_login(w.manager)
    assert client.get(reverse("inventory:kit_create")).status_code == 403
    assert client.get(reverse("inventory:kit_template_create")).status_code == 403
    assert client.get(reverse("inventory:kit_list")).status_code == 200


def test_a_rep_sees_only_their_kits(client, kits):
    w = kits.world
    mine = kits.build(tag="MINE")
    theirs = kits.build(tag="THEIRS", custodian=w.rep2)
    client.force_login(w.rep)
    page = client.get(reverse("inventory:kit_list")).content.decode()
    assert "MINE" in page and "THEIRS" not in page
    assert client.get(reverse("inventory:kit_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("inventory:kit_detail", args=[mine.pk])).status_code == 200


def test_the_kit_list_is_paged(client, kits, monkeypatch):
    """The Kits list shows a page of kits (50) with a pager, not every kit at once."""
    from inventory import kit_views

    monkeypatch.setattr(kit_views, "KITS_PER_PAGE", 2)
    for tag, screws in (("K-A", 3), ("K-B", 1), ("K-C", 2)):
        kits.build(tag=tag, screws=screws, plates=1)
    client.force_login(kits.world.admin)
    first = client.get(reverse("inventory:kit_list")).content.decode()
    assert "K-A" in first and "K-B" in first and "K-C" not in first
    # Each kit's units, counted with the page's states: K-A holds 4, K-B 2.
    assert re.findall(r'<td class="num">(\d+)</td>', first) == ["4", "2"]
    assert "Page 1 of 2" in first and "3 kits" in first
    second = client.get(reverse("inventory:kit_list") + "?page=2").content.decode()
    assert "K-C" in second and "K-A" not in second and "Previous" in second
    # A page past the end shows the last one, as the other lists do.
    assert "K-C" in client.get(reverse("inventory:kit_list") + "?page=9").content.decode()


@pytest.mark.parametrize("extra", [0, 6])
def test_kit_pages_query_count_is_bounded(client, kits, django_assert_max_num_queries, extra):
    w = kits.world
    for i in range(2 + extra):
        kit = kits.build(tag=f"K-{i}", screws=1 + (i % 3), plates=1)
    loan = kits.loan(kit)
    case = w.event("case", actor=w.rep)
    w.add(case, [Device.objects.filter(kit=kit).first()], actor=w.rep)
    w.submit(case, actor=w.rep)
    client.force_login(w.rep)
    pages = [
        reverse("inventory:kit_list"),
        reverse("inventory:kit_detail", args=[kit.pk]),
        reverse("inventory:kit_detail", args=[Kit.objects.get(tag="K-0").pk]),
        reverse("events:loan_detail", args=[loan.pk]),
        reverse("events:kit_check_in", args=[loan.pk, kit.pk]),
        reverse("events:kit_utilisation"),
        reverse("inventory:kit_template_detail", args=[kits.template.pk]),
        reverse("reporting:index"),
    ]
    for url in pages:
        with django_assert_max_num_queries(40 if url == reverse("reporting:index") else 16):
            response = client.get(url)
        assert response.status_code == 200, url


def test_dashboard_shows_kits_out_overdue_and_due_today(client, kits):
    w = kits.world
    kits.loan(kits.build(tag="A"), due_in=0)
    late = kits.build(tag="B")
    loan = kits.loan(late, due_in=0)
    Event.objects.filter(pk=loan.pk).update(due_back=timezone.localdate() - datetime.timedelta(1))
    client.force_login(w.admin)
    page = client.get(reverse("reporting:index")).content.decode()
    assert 'data-testid="kits-out-count">2<' in page
    assert 'data-testid="kits-overdue-count">1<' in page
    assert 'data-testid="kits-due-today-count">1<' in page


def test_utilisation_csv(client, kits):
    w = kits.world
    kit = kits.build(tag="U-1")
    kits.build(tag="U-2")
    kits.loan(kit)
    client.force_login(w.admin)
    response = client.get(reverse("events:kit_utilisation"), {"format": "csv"})
    rows = b"".join(response.streaming_content).decode().splitlines()
    assert rows[0].startswith("Kit,Template,Custodian,Loans,Days out")
    assert rows[1].startswith("U-1,") and ",1,1,0," in rows[1]
    assert rows[2].startswith("U-2,") and rows[2].endswith(",yes")


def test_device_history_and_recall_trace_name_the_kit(client, kits):
    w = kits.world
    kit = kits.build(tag="HIST-1")
    unit = Device.objects.filter(kit=kit).first()
    client.force_login(w.admin)
    page = client.get(reverse("inventory:device_detail", args=[unit.pk])).content.decode()
    assert 'data-testid="device-kit"' in page and "kit — → HIST-1" in page
    page = client.get(reverse("inventory:recall_trace"), {"gtin": unit.product.gtin}).content
    assert b'data-testid="recall-kit"' in page


def test_admin_changes_a_templates_items(client, kits):
    w = kits.world
    client.force_login(w.admin)
    url = reverse("inventory:kit_template_detail", args=[kits.template.pk])
    assert "SCR-55,3" in client.get(url).content.decode()
    response = client.post(url, {"items": "SCR-55,5\nPLT-2,1"})
    assert response.status_code == 302
    assert sorted(kits.template.items.values_list("product__reference", "quantity")) == [
        ("PLT-2", 1), ("SCR-55", 5)]
    client.force_login(w.rep)
    client.post(url, {"items": "SCR-55,1"})
    assert kits.template.items.get(product=kits.screw).quantity == 5  # reps only read


def test_utilisation_page_rows(client, kits):
    """The report's rows (built in Python): each kit's link, template (escaped), custodian,
    loans, days out, units used, per loan, last loaned; idle kits marked."""
    from inventory.kit_services import kit_template_create

    w = kits.world
    used = kits.build(tag="U-1")
    kits.loan(used)
    case = w.event("case", actor=w.rep)
    w.add(case, [Device.objects.filter(kit=used).first()], actor=w.rep)
    w.submit(case, actor=w.rep)
    odd = kit_template_create(actor=w.admin, name="Set <b>&", product_line=w.line,
                              items=[(kits.screw, 1)])
    from inventory.kit_services import kit_create

    idle = kit_create(actor=w.admin, template=odd, tag="U-2", custodian=w.rep2)
    client.force_login(w.admin)
    page = client.get(reverse("events:kit_utilisation")).content.decode()
    today = timezone.localdate().isoformat()
    rep = str(w.rep)
    assert (f'<tr><td><a href="{reverse("inventory:kit_detail", args=[used.pk])}">U-1</a></td>'
            f"<td>Pedicle Screw Set 5.5</td><td>{rep}</td><td class=\"num\">1</td>"
            f'<td class="num">1</td><td class="num">1</td><td class="num">1.0</td>'
            f"<td>{today}</td></tr>") in page
    assert (f'<tr class="text-muted"><td><a href="'
            f'{reverse("inventory:kit_detail", args=[idle.pk])}">U-2</a> <span class="badge '
            f'text-bg-secondary">idle</span></td><td>Set &lt;b&gt;&amp;</td><td>{w.rep2}</td>'
            f'<td class="num">0</td><td class="num">0</td><td class="num">0</td>'
            f'<td class="num">0.0</td><td>—</td></tr>') in page
    assert "2 kits, 1 idle in the period." in page
