"""Commission screens (under Reports): plans, a rep's statement (page, CSV, PDF), mark paid.

Each write is one service call (``commissions.services``); reads go through
``commissions.selectors``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.decorators import permission_required
from accounts.selectors import reps_for
from commissions import selectors, services
from commissions.forms import CommissionPlanForm, StatementForm
from commissions.models import CommissionPlan
from commissions.tables import STATEMENT_COLUMNS
from core.dates import default_period
from core.exports import csv_download
from core.forms import add_service_errors
from core.http import content_disposition, query_without
from core.pdf import REPORT_CSS, render_pdf


@permission_required("view_commission_plans")
def commission_plans(request):
    form = None
    if request.user.is_admin:
        form = CommissionPlanForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                services.commission_plan_create(actor=request.user, **form.service_kwargs())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Commission plan saved.")
                return redirect("commissions:plans")
    elif request.method == "POST":
        return HttpResponse(status=403)
    return render(request, "commissions/commissionplan_list.html", {
        "plans": selectors.commission_plans(request.user), "form": form,
    })


@permission_required("edit_commission_plans")
def commission_plan_edit(request, pk: int):
    plan = get_object_or_404(CommissionPlan.objects.for_user(request.user), pk=pk)
    form = CommissionPlanForm(request.POST or None, user=request.user, plan=plan)
    if request.method == "POST" and form.is_valid():
        try:
            services.commission_plan_update(actor=request.user, plan=plan,
                                               **form.service_kwargs())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Commission plan saved.")
            return redirect("commissions:plans")
    return render(request, "commissions/commissionplan_form.html", {"form": form, "plan": plan})


@require_POST
@permission_required("edit_commission_plans")
def commission_plan_delete(request, pk: int):
    plan = get_object_or_404(CommissionPlan.objects.for_user(request.user), pk=pk)
    services.commission_plan_delete(actor=request.user, plan=plan)
    messages.success(request, "Commission plan deleted.")
    return redirect("commissions:plans")


def _statement_form(request):
    # The same default period as the reports (the last twelve months).
    date_from, date_to = default_period(timezone.localdate())
    data = request.GET.copy() if request.method == "GET" else request.POST.copy()
    data.setdefault("date_from", date_from.isoformat())
    data.setdefault("date_to", date_to.isoformat())
    if request.user.is_rep:
        data["rep"] = str(request.user.pk)
    elif not data.get("rep"):
        # Show a statement straight away: the rep credited last (else the first rep), not a
        # blank page.
        first = selectors.latest_credited_rep_id(request.user)
        if first is None or not reps_for(request.user).filter(pk=first).exists():
            first = reps_for(request.user).values_list("pk", flat=True).first()
        if first is not None:
            data["rep"] = str(first)
    return StatementForm(data, user=request.user)


STATEMENT_PAGE = 100


@permission_required("view_commissions")
def commission_statement(request):
    """A rep's commission statement for a period: page, CSV (?format=csv) or PDF (?format=pdf)."""
    form = _statement_form(request)
    context = {"form": form, "query": query_without(request, "format")}
    if form.is_valid():
        rep = form.cleaned_data["rep"]
        date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
        credits = selectors.statement_credits(request.user, rep_id=rep.pk, date_from=date_from,
                                              date_to=date_to)
        name = f"commission-{rep.username}-{date_from:%Y%m%d}-{date_to:%Y%m%d}"
        fmt = request.GET.get("format")
        if fmt == "csv":
            return csv_download(f"{name}.csv", STATEMENT_COLUMNS,
                                       credits.iterator())
        context.update(rep=rep, date_from=date_from, date_to=date_to,
                       totals=selectors.statement_totals(credits),
                       organization=request.user.organization,
                       currency=request.user.organization.currency,
                       pending_clawbacks=list(selectors.pending_clawbacks(request.user,
                                                                          rep_id=rep.pk)))
        if fmt != "pdf":
            # The page shows STATEMENT_PAGE credits at a time; totals cover the whole period,
            # the CSV and PDF every credit.
            paginator = Paginator(credits, STATEMENT_PAGE)
            paginator.count = context["totals"]["count"]  # counted with the totals already
            page = paginator.get_page(request.GET.get("page"))
            context.update(credits=page.object_list, page=page,
                           page_query=query_without(request, "format", "page"))
        else:
            context["credits"] = list(credits)
        if fmt == "pdf":
            pdf = render_pdf("commissions/commission_statement_pdf.html", context,
                             css=REPORT_CSS)
            response = HttpResponse(pdf, content_type="application/pdf")
            response["Content-Disposition"] = content_disposition(f"{name}.pdf",
                                                                  attachment=False)
            return response
    return render(request, "commissions/commission_statement.html", context)


@require_POST
@permission_required("pay_commissions")
def commission_mark_paid(request):
    form = _statement_form(request)
    if form.is_valid():
        rep = form.cleaned_data["rep"]
        try:
            count = services.commission_credits_mark_paid(
                actor=request.user, rep=rep, date_from=form.cleaned_data["date_from"],
                date_to=form.cleaned_data["date_to"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{count} credits of {rep} marked paid.")
    else:
        messages.error(request, "Choose a rep and a period.")
    query = {k: request.POST.get(k, "") for k in ("rep", "date_from", "date_to")}
    return redirect(reverse("commissions:statement") + "?" + urlencode(query))
