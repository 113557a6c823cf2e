"""Loan screens: Loan kits (create), the loan's page (kits, due back, extensions), a kit's
check-in (against its template: used on which case, missing, expired; charge to a case, report
lost), and the kit utilisation report. Function views: a form, one service, its errors."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from accounts.decorators import permission_required
from core.exports import Column, csv_download
from core.forms import add_service_errors
from core.tables import link_pattern
from events import loan_selectors, loan_services
from events.loan_forms import ChargeForm, CheckInForm, LoanEditForm, LoanExtendForm, LoanForm
from events.models import Event, EventStatus, EventType
from events.services import event_add_devices
from inventory.kit_selectors import kit_contents, kit_devices
from inventory.models import Kit
from inventory.selectors import device_resolve


def _loan_for(request, pk: int) -> Event:
    return get_object_or_404(loan_selectors.loan_list(user=request.user), pk=pk)


@permission_required("manage_kits")
def loan_create(request):
    user = request.user
    initial = {}
    if request.GET.get("kit", "").isdigit():
        initial["kits"] = [int(request.GET["kit"])]
    form = LoanForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            loan = loan_services.loan_create(
                actor=user, kits=list(data["kits"]), facility=data["facility"],
                representative=data.get("representative") or user, date=data["date"],
                due_back=data["due_back"], name=data.get("name", ""),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{loan} sent: {len(data['kits'])} kit(s) at "
                                      f"{loan.facility}, due back {loan.due_back:%Y-%m-%d}.")
            return redirect("events:loan_detail", pk=loan.pk)
    return render(request, "events/loan_form.html", {"form": form})


@permission_required("view_events")
def loan_detail(request, pk: int):
    loan = _loan_for(request, pk)
    kits = list(loan.kits.select_related("template", "custodian", "facility").order_by("tag"))
    used = loan_selectors.kits_used_on_loan(loan=loan, kits=kits)
    can_edit = request.user.is_admin or request.user.pk == loan.representative_id
    return render(request, "events/loan_detail.html", {
        "loan": loan, "kit_rows": [(kit, used[kit.pk]) for kit in kits],
        "extensions": list(loan.extensions.select_related("actor")),
        "overdue": loan_selectors.loan_is_overdue(loan),
        "can_edit": can_edit and loan.status == EventStatus.ON_LOAN,
        "extend_form": LoanExtendForm(initial={"due_back": loan.due_back}),
    })


@permission_required("manage_kits")
def loan_edit(request, pk: int):
    loan = _loan_for(request, pk)
    if loan.status != EventStatus.ON_LOAN or not (
            request.user.is_admin or request.user.pk == loan.representative_id):
        messages.error(request, f"{loan} can't be changed: it is closed, or not yours.")
        return redirect("events:loan_detail", pk=loan.pk)
    form = LoanEditForm(request.POST or None, user=request.user, initial={
        "name": loan.name, "facility": loan.facility_id, "date": loan.date,
        "due_back": loan.due_back})
    if request.method == "POST" and form.is_valid():
        try:
            loan_services.loan_update(actor=request.user, loan=loan, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Loan saved.")
            return redirect("events:loan_detail", pk=loan.pk)
    return render(request, "events/loan_edit.html", {"form": form, "loan": loan})


@require_POST
@permission_required("manage_kits")
def loan_extend(request, pk: int):
    loan = _loan_for(request, pk)
    form = LoanExtendForm(request.POST)
    if form.is_valid():
        try:
            loan_services.loan_extend(actor=request.user, loan=loan, **form.cleaned_data)
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
        else:
            messages.success(request, f"Due back moved to {form.cleaned_data['due_back']}.")
    else:
        messages.error(request, "Enter the new due-back date and the reason.")
    return redirect("events:loan_detail", pk=loan.pk)


def _check_in_context(request, loan: Event, kit: Kit, form=None, charge_form=None) -> dict:
    members = kit_devices(kit=kit)
    cases = Event.objects.for_user(request.user).filter(
        event_type=EventType.CASE, status=EventStatus.DRAFT, facility_id=loan.facility_id,
        representative_id=loan.representative_id, facility_stock_only=False,
    ).order_by("-date", "-id")
    today = timezone.localdate()
    return {
        "loan": loan, "kit": kit, "contents": kit_contents(kit=kit, today=today),
        "units": list(members), "today": today,
        "used": loan_selectors.kits_used_on_loan(loan=loan, kits=[kit])[kit.pk],
        "form": form or CheckInForm(members=members),
        "charge_form": charge_form or ChargeForm(cases=cases, members=members),
        "has_cases": cases.exists(),
    }


def _loaned_kit(request, pk: int, kit_pk: int) -> tuple[Event, Kit]:
    loan = _loan_for(request, pk)
    kit = get_object_or_404(loan.kits.select_related("template", "custodian", "facility"),
                            pk=kit_pk)
    return loan, kit


@permission_required("manage_kits")
def kit_check_in(request, pk: int, kit_pk: int):
    loan, kit = _loaned_kit(request, pk, kit_pk)
    if kit.loan_id != loan.pk:
        messages.info(request, f"{kit} is back: it was checked in.")
        return redirect("inventory:kit_detail", pk=kit.pk)
    members = kit_devices(kit=kit)
    form = CheckInForm(request.POST or None, members=members)
    if request.method == "POST" and form.is_valid():
        present = list(form.cleaned_data["present"])
        unknown = []
        for text in (form.cleaned_data["labels"] or "").replace("\r", "").split("\n"):
            if text.strip():
                found = device_resolve(user=request.user, text=text)
                if len(found) == 1:
                    present.append(found[0])
                else:
                    unknown.append(text.strip()[:80])
        if unknown:
            form.add_error("labels", "No single unit matches " + ", ".join(unknown) + ".")
        else:
            try:
                result = loan_services.kit_check_in(
                    actor=request.user, kit=kit, present=present,
                    lost=list(form.cleaned_data["lost"]), note=form.cleaned_data["note"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                lost = f"; {len(result.lost)} reported lost" if result.lost else ""
                messages.success(request, f"{kit.tag} checked in: {len(result.returned)} "
                                          f"unit(s) back{lost}.")
                return redirect("inventory:kit_detail", pk=kit.pk)
    return render(request, "events/kit_check_in.html",
                  _check_in_context(request, loan, kit, form=form))


@require_POST
@permission_required("manage_kits")
def kit_check_in_charge(request, pk: int, kit_pk: int):
    """Charge missing units to a draft case at the loan's facility (they are sold and used when
    the case is submitted)."""
    loan, kit = _loaned_kit(request, pk, kit_pk)
    context = _check_in_context(request, loan, kit)
    form = ChargeForm(request.POST, cases=context["charge_form"].fields["case"].queryset,
                      members=kit_devices(kit=kit))
    if form.is_valid():
        try:
            event_add_devices(actor=request.user, event=form.cleaned_data["case"],
                              devices=list(form.cleaned_data["devices"]))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Charged to {form.cleaned_data['case']}: submit the case "
                                      "for billing, then close the check-in.")
            return redirect("events:kit_check_in", pk=loan.pk, kit_pk=kit.pk)
    context["charge_form"] = form
    return render(request, "events/kit_check_in.html", context)


# --- kit utilisation report ----------------------------------------------------------------------


@permission_required("view_reports")
def kit_utilisation(request):
    today = timezone.localdate()
    date_from = _date(request.GET.get("from")) or today - timezone.timedelta(days=90)
    date_to = _date(request.GET.get("to")) or today
    rows = loan_selectors.kit_utilisation(user=request.user, date_from=date_from,
                                          date_to=date_to, today=today)
    if request.GET.get("format") == "csv":
        return csv_download(f"kit-utilisation-{date_from}-{date_to}.csv", [
            Column("Kit", lambda r: r.tag),
            Column("Template", lambda r: r.template),
            Column("Custodian", lambda r: r.custodian),
            Column("Loans", lambda r: r.loans),
            Column("Days out", lambda r: r.days_out),
            Column("Units used", lambda r: r.units_used),
            Column("Units per loan", lambda r: r.units_per_loan),
            Column("Last loaned", lambda r: r.last_loaned or ""),
            Column("Idle", lambda r: "yes" if r.idle else ""),
        ], rows)
    return render(request, "events/kit_utilisation.html", {
        "rows": rows, "body": _utilisation_rows(rows), "date_from": date_from,
        "date_to": date_to, "idle": sum(1 for r in rows if r.idle),
    })


def _utilisation_rows(rows) -> SafeString:
    """The report's table rows, built in Python (up to 500 rows: a template variable, a URL
    reversal and a localized number per cell cost ten times the report's SQL; see
    core.tables). The same cells the template wrote."""
    link = link_pattern("inventory:kit_detail")
    idle, muted = ' <span class="badge text-bg-secondary">idle</span>', ' class="text-muted"'
    return mark_safe("".join(
        f'<tr{muted if r.idle else ""}><td><a href="{link.format(r.kit_id)}">'
        f'{escape(r.tag)}</a>{idle if r.idle else ""}</td><td>{escape(r.template)}</td>'
        f'<td>{escape(r.custodian)}</td><td class="num">{r.loans}</td>'
        f'<td class="num">{r.days_out}</td><td class="num">{r.units_used}</td>'
        f'<td class="num">{r.units_per_loan}</td>'
        f'<td>{r.last_loaned.isoformat() if r.last_loaned else "—"}</td></tr>'
        for r in rows
    ))


def _date(text):
    try:
        return datetime.date.fromisoformat((text or "").strip()) if text else None
    except ValueError:
        return None
