"""Commission plans (percent in the UI, fractions in the DB), statements (page, CSV, PDF) and
"mark a period's credits paid"."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from commissions import services as commissions
from commissions.models import CommissionCredit, CommissionPlan
from core import pdf
from core.pdf import PDF_BASE_URL, StaticOnlyURLFetcher
from tests.factories import AdminFactory, OrganizationFactory
from tests.reporting.conftest import days

pytestmark = pytest.mark.django_db
PLANS = reverse("commissions:plans")
STATEMENT = reverse("commissions:statement")
MARK_PAID = reverse("commissions:mark_paid")


def test_admin_creates_a_plan_in_percent_stored_as_fractions(client, shop):
    client.force_login(shop.admin)
    response = client.post(PLANS, {"rep": shop.seller.pk, "product_line": shop.line.pk,
                                   "rate": "12.5", "stocking_share": "60"})
    assert response.status_code == 302
    plan = CommissionPlan.objects.get(rep=shop.seller)
    assert (plan.rate, plan.stocking_share, plan.product_line) == (
        Decimal("0.1250"), Decimal("0.6000"), shop.line)
    page = client.get(PLANS).content.decode()
    assert "12.5 %" in page and "60 %" in page

    # The same rep and line twice: a form error, not a crash.
    response = client.post(PLANS, {"rep": shop.seller.pk, "product_line": shop.line.pk,
                                   "rate": "5", "stocking_share": "100"})
    assert "already a commission plan" in response.content.decode()

    edit = reverse("commissions:plan_edit", args=[plan.pk])
    assert client.get(edit).context["form"].initial["rate"] == Decimal("12.5")
    client.post(edit, {"rep": shop.seller.pk, "product_line": shop.line.pk, "rate": "8",
                       "stocking_share": "50"})
    plan.refresh_from_db()
    assert (plan.rate, plan.stocking_share) == (Decimal("0.0800"), Decimal("0.5000"))
    client.post(reverse("commissions:plan_delete", args=[plan.pk]))
    assert not CommissionPlan.objects.filter(pk=plan.pk).exists()


def test_rates_outside_0_to_100_percent_are_refused(client, shop):
    client.force_login(shop.admin)
    response = client.post(PLANS, {"rate": "120", "stocking_share": "100"})
    assert response.status_code == 200
    assert response.context["form"].errors["rate"]


def test_only_admins_edit_plans(client, shop):
    plan = CommissionPlan.objects.get(organization=shop.org)
    client.force_login(shop.manager)
    assert client.get(PLANS).status_code == 200
    assert client.post(PLANS, {"rate": "5", "stocking_share": "100"}).status_code == 403
    assert client.post(reverse("commissions:plan_edit", args=[plan.pk]),
                       {"rate": "5", "stocking_share": "100"}).status_code == 403
    client.force_login(shop.seller)
    assert client.get(PLANS).status_code == 403
    with pytest.raises(PermissionDenied):
        commissions.commission_plan_create(actor=shop.seller, rep=None, product_line=None,
                                           rate=Decimal("0.5"))
    other_admin = AdminFactory(organization=OrganizationFactory())
    client.force_login(other_admin)
    assert client.get(reverse("commissions:plan_edit",
                              args=[plan.pk])).status_code == 404


def _sixty_forty(shop):
    device = shop.receive(1)[0]
    shop.stock([device])
    shop.use([device])
    return device


def test_statement_lists_each_credit_with_totals(client, shop):
    device = _sixty_forty(shop)
    client.force_login(shop.admin)
    response = client.get(STATEMENT, {"rep": shop.coverer.pk})
    [credit] = response.context["credits"]
    assert (credit.device, credit.kind, credit.amount) == (device, "usage", Decimal("40.00"))
    assert response.context["totals"]["total"] == Decimal("40.00")
    html = response.content.decode()
    assert 'data-testid="total-use">$40.00<' in html
    response = client.get(STATEMENT, {"rep": shop.seller.pk})
    assert response.context["totals"]["at_sale"] == Decimal("60.00")

    rows = list(csv.reader(io.StringIO(
        client.get(STATEMENT, {"rep": shop.seller.pk, "format": "csv"}).getvalue().decode())))
    assert rows[0][-2:] == ["Amount", "Paid"]
    assert [(r[6], r[10]) for r in rows[1:]] == [("Sale", "60.00")]

    pdf = client.get(STATEMENT, {"rep": shop.seller.pk, "format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_a_rep_sees_only_their_own_statement(client, shop):
    _sixty_forty(shop)
    client.force_login(shop.coverer)
    response = client.get(STATEMENT, {"rep": shop.seller.pk})  # asks for someone else's
    assert response.context["rep"] == shop.coverer
    assert [c.amount for c in response.context["credits"]] == [Decimal("40.00")]
    assert client.post(MARK_PAID, {"rep": shop.coverer.pk, "date_from": days(-1),
                                   "date_to": days(0)}).status_code == 403


def test_admin_marks_a_periods_credits_paid(client, shop):
    _sixty_forty(shop)
    client.force_login(shop.admin)
    response = client.post(MARK_PAID, {"rep": shop.seller.pk, "date_from": days(-30),
                                       "date_to": days(0)}, follow=True)
    assert "1 credits of Riley Seller marked paid" in response.content.decode()
    assert CommissionCredit.objects.get(rep=shop.seller).paid_at is not None
    assert CommissionCredit.objects.get(rep=shop.coverer).paid_at is None
    assert response.context["totals"]["unpaid"] == Decimal("0.00")
    # Nothing left to pay in that period.
    with pytest.raises(ValidationError):
        commissions.commission_credits_mark_paid(actor=shop.admin, rep=shop.seller,
                                                 date_from=days(-30), date_to=days(0))


def test_mark_paid_outside_the_period_changes_nothing(shop):
    _sixty_forty(shop)
    with pytest.raises(ValidationError):
        commissions.commission_credits_mark_paid(actor=shop.admin, rep=shop.seller,
                                                 date_from=days(-30), date_to=days(-1))
    assert not CommissionCredit.objects.filter(paid_at__isnull=False).exists()


def test_pdf_fetcher_reads_our_static_files_only(settings):
    fetcher = StaticOnlyURLFetcher()
    with pytest.raises(ValueError):
        fetcher.fetch("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(ValueError):
        fetcher.fetch("file:///etc/passwd")
    with pytest.raises(ValueError):
        fetcher.fetch((settings.BASE_DIR / "static" / "css" / "app.css").as_uri())
    static = StaticOnlyURLFetcher().fetch(PDF_BASE_URL + "static/css/app.css")
    assert b".num" in static.read()
    # A template pointing at the network still renders, without the resource.
    html = '<img src="http://example.com/x.png"><p>ok</p>'
    assert pdf._html_to_pdf(html, css=pdf.REPORT_CSS).startswith(b"%PDF")


def test_statement_query_bound(client, shop, django_assert_max_num_queries):
    client.force_login(shop.admin)
    for n in (1, 4):
        for _ in range(n):
            _sixty_forty(shop)
        with django_assert_max_num_queries(9):  # + the pending clawbacks (issue 15)
            response = client.get(STATEMENT, {"rep": shop.seller.pk})
    assert len(response.context["credits"]) == 5
