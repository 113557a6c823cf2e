"""Inventory screens: All Inventory, device page, transfers, stock adjustments, receiving,
recall trace. Function views: validate with a form, call one service, map errors back."""

from __future__ import annotations

import contextlib

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from accounts.decorators import admin_required, member_required, role_required, writer_required
from accounts.exports import stream_csv
from accounts.models import User
from accounts.security import patient_access_record, safe_next
from inventory import selectors, services
from inventory.filters import DeviceFilter
from inventory.forms import (
    AdjustmentForm,
    CsvUploadForm,
    DeclineForm,
    RecallForm,
    ReceiveForm,
    ScanReceiveForm,
    TransferForm,
)
from inventory.importing import (
    ImportRefused,
    devices_import,
    labels_to_rows,
    read_csv,
    validate_rows,
)
from inventory.models import Transfer
from inventory.tables import CappedPaginator, DeviceTable
from inventory.udi import parse_udi

PER_PAGE = 50


def _devices(count: int) -> str:
    """ "1 device", "3 devices"."""
    return f"{count:,} device{'' if count == 1 else 's'}"


def _person(username, first, last) -> str:
    if not username:
        return ""
    name = f"{first or ''} {last or ''}".strip()
    return f"{name} ({username})" if name else username


# --- All Inventory -----------------------------------------------------------------------------


@member_required
def device_list(request):
    devices = DeviceFilter(request.GET, queryset=selectors.device_list(user=request.user),
                           request=request)
    table = DeviceTable(devices.qs)
    RequestConfig(
        request, paginate={"per_page": PER_PAGE, "paginator_class": CappedPaginator,
                           "user": request.user},
    ).configure(table)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("sort", None)
    return render(request, "inventory/device_list.html", {
        "filter": devices, "table": table, "export_query": query.urlencode(),
    })


EXPORT_FIELDS = [
    ("Device ID", "pk"), ("Manufacturer", "product__product_line__manufacturer__name"),
    ("Product line", "product__product_line__name"), ("Reference", "product__reference"),
    ("Description", "product__description"), ("GTIN", "product__gtin"), ("Lot", "lot"),
    ("Serial", "serial"), ("Expiry", "expiration_date"), ("Status", "status"),
    ("In transit (transfer)", "pending_transfer_id"), ("Custodian", "custodian__username"),
    ("", "custodian__first_name"), ("", "custodian__last_name"), ("Facility", "facility__name"),
    ("UDI", "udi"),
]


@member_required
def device_export(request):
    """The filtered rows as CSV, streamed from the database cursor (constant memory)."""
    devices = DeviceFilter(request.GET, queryset=selectors.device_list(user=request.user),
                           request=request)
    status_labels = dict(selectors.DeviceStatus.choices)
    values = devices.qs.order_by("expiration_date", "pk").values_list(
        *[field for _, field in EXPORT_FIELDS]
    ).iterator(chunk_size=10_000)

    def rows():
        for v in values:
            yield [*v[:9], status_labels.get(v[9], v[9]), v[10] or "", _person(*v[11:14]),
                   v[14] or "", v[15]]

    header = [label for label, _ in EXPORT_FIELDS if label]
    return stream_csv(f"inventory-{timezone.localdate():%Y-%m-%d}.csv", header, rows())


@member_required
def device_detail(request, pk: int):
    device = get_object_or_404(selectors.device_detail_qs(user=request.user), pk=pk)
    movements = list(selectors.device_movements(device=device))
    shown = []
    for movement in movements:
        movement.show_patient = selectors.may_see_patient_id(request.user, movement.event)
        if movement.show_patient and movement.event.patient_id:
            shown.append(movement.event.patient_id)
    show_patient = (
        selectors.may_see_patient_id(request.user, device.used_in) if device.used_in_id else False
    )
    if show_patient:
        shown.append(device.used_in.patient_id)
    patient_access_record(request, patient_ids=shown, what="device history", subject=device.label)
    return render(request, "inventory/device_detail.html", {
        "device": device, "movements": movements, "show_patient": show_patient,
    })


# --- Transfers ---------------------------------------------------------------------------------


@member_required
def transfer_list(request):
    awaiting = list(selectors.transfers_awaiting(user=request.user)) if (
        request.user.can_write) else []
    page = Paginator(selectors.transfer_list(user=request.user), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "inventory/transfer_list.html", {
        "awaiting": awaiting, "page": page, "decline_form": DeclineForm(),
    })


@writer_required
def transfer_create(request):
    user = request.user
    if request.method == "POST":
        form = TransferForm(request.POST, user=user)
        if form.is_valid():
            try:
                transfer = services.devices_transfer(
                    actor=user, devices=list(form.cleaned_data["devices"]),
                    to_custodian=form.cleaned_data["to_custodian"],
                    accept_now=form.cleaned_data.get("accept_now", False)
                    if user.role == User.Role.ADMIN else None,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                if transfer.status == Transfer.Status.ACCEPTED:
                    messages.success(request, f"Transfer #{transfer.pk} done: the devices are "
                                              f"now in {transfer.to_custodian}'s custody.")
                else:
                    messages.success(request, f"Transfer #{transfer.pk} sent: the devices are in "
                                              f"transit until {transfer.to_custodian} accepts.")
                return redirect("inventory:transfer_detail", pk=transfer.pk)
    else:
        form = TransferForm(user=user, initial={
            "from_custodian": request.GET.get("from_custodian") or None,
        }, data=None)
    template = "inventory/transfer_form.html"
    if request.htmx and request.method == "GET":
        template += "#devices"
    return render(request, template, {"form": form})


def _transfer_for(request, pk):
    return get_object_or_404(selectors.transfer_list(user=request.user), pk=pk)


@member_required
def transfer_detail(request, pk: int):
    transfer = _transfer_for(request, pk)
    can_answer = transfer.status == Transfer.Status.PENDING and (
        request.user.pk == transfer.to_custodian_id or request.user.role == User.Role.ADMIN
    )
    return render(request, "inventory/transfer_detail.html", {
        "transfer": transfer, "devices": selectors.transfer_devices(transfer=transfer),
        "can_answer": can_answer, "decline_form": DeclineForm(),
    })


@require_POST
@writer_required
def transfer_accept(request, pk: int):
    transfer = _transfer_for(request, pk)
    try:
        services.transfer_accept(actor=request.user, transfer=transfer)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Transfer #{transfer.pk} accepted: the devices are now in "
                                  f"{transfer.to_custodian}'s custody.")
    return redirect(safe_next(
        request, reverse("inventory:transfer_detail", args=[transfer.pk])
    ))


@require_POST
@writer_required
def transfer_decline(request, pk: int):
    transfer = _transfer_for(request, pk)
    form = DeclineForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why you decline this transfer.")
        return redirect("inventory:transfer_detail", pk=transfer.pk)
    try:
        services.transfer_decline(actor=request.user, transfer=transfer,
                                  reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Transfer #{transfer.pk} declined: the devices stay with "
                                  f"{transfer.from_custodian}.")
    return redirect("inventory:transfer_detail", pk=transfer.pk)


# --- Stock Adjustments -------------------------------------------------------------------------


@member_required
def adjustment_list(request):
    if request.user.role == User.Role.REP:
        page = None  # admins make adjustments; reps see none
    else:
        page = Paginator(selectors.adjustment_list(user=request.user), PER_PAGE).get_page(
            request.GET.get("page")
        )
    return render(request, "inventory/adjustment_list.html", {"page": page})


@role_required("admin", "manager")
def adjustment_detail(request, pk: int):
    adjustment = get_object_or_404(selectors.adjustment_list(user=request.user), pk=pk)
    return render(request, "inventory/adjustment_detail.html", {
        "adjustment": adjustment,
        "lines": selectors.adjustment_lines(adjustment=adjustment),
    })


@admin_required
def adjustment_create(request):
    form = AdjustmentForm(request.POST or None, user=request.user,
                          initial={"devices": request.GET.get("devices", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        lines = [
            services.AdjustmentLine(
                device=device, effect=data["effect"], to_facility=data["to_facility"],
                to_custodian=data["to_custodian"],
            )
            for device in data["devices"]
        ]
        try:
            adjustment = services.stock_adjustment_create(
                actor=request.user, reason=data["reason"], lines=lines, note=data["note"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Stock adjustment #{adjustment.pk} saved "
                                      f"({_devices(len(lines))}).")
            return redirect("inventory:adjustment_detail", pk=adjustment.pk)
    return render(request, "inventory/adjustment_form.html", {"form": form})


@member_required
def device_search(request):
    """htmx: devices matching a serial, lot, reference, description or scanned label."""
    results = selectors.device_search(user=request.user, text=request.GET.get("q", ""))
    return render(request, "inventory/adjustment_form.html#search_results", {
        "results": results, "q": request.GET.get("q", ""),
    })


# --- Receiving ---------------------------------------------------------------------------------


@admin_required
def receiving(request):
    form = ReceiveForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            devices = services.devices_receive(
                actor=request.user, product=data["product"], lot=data["lot"],
                expiration_date=data["expiration_date"], serials=data["serials"],
                custodian=data["custodian"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Received {_devices(len(devices))} of "
                                      f"{data['product'].reference} into {data['custodian']}'s "
                                      "custody.")
            return redirect("inventory:receiving")
    return render(request, "inventory/receiving_form.html", {"form": form, "tab": "form"})


@admin_required
def receiving_scan(request):
    """Scan labels one after another; the list accumulates; "Receive" takes them all."""
    user = request.user
    labels = []
    label_errors = []
    preview = []
    if request.method == "POST":
        labels = [line.strip() for line in request.POST.get("labels", "").split("\n")
                  if line.strip()]
        action = request.POST.get("action", "add")
        if action.startswith("remove-"):
            index = action.removeprefix("remove-")
            if index.isdigit() and int(index) < len(labels):
                labels.pop(int(index))
        elif action == "add":
            label = request.POST.get("label", "").strip()
            # Keep labels in their printable form: raw scans carry GS control characters. An
            # unreadable label stays as typed; the check below says what is wrong with it.
            with contextlib.suppress(ValidationError):
                label = parse_udi(label).hri if label else ""
            if label:
                if label in labels:
                    label_errors.append("This label is already in the list.")
                else:
                    checked, errors = validate_rows(
                        actor=user, rows=labels_to_rows([*labels, label]), check_custodian=False
                    )
                    mine = [e for e in errors if e.row == len(labels) + 1]
                    if mine:
                        label_errors.extend(e.message for e in mine)
                    else:
                        labels.append(label)
        data = request.POST.copy()
        data["labels"] = "\n".join(labels)
        form = ScanReceiveForm(data, user=user)
        if action == "receive" and form.is_valid():
            custodian = form.cleaned_data["custodian"]
            try:
                result = devices_import(
                    actor=user, rows=labels_to_rows(labels, custodian=custodian.username)
                )
            except ImportRefused as exc:
                for error in exc.row_errors:
                    form.add_error(None, f"Label {error.row}: {error.message}")
            else:
                messages.success(request, f"Received {_devices(result.devices)} into "
                                          f"{custodian}'s custody.")
                return redirect("inventory:receiving_scan")
        elif action != "receive":
            form = ScanReceiveForm(initial={"labels": "\n".join(labels),
                                            "custodian": request.POST.get("custodian")},
                                   user=user)
    else:
        form = ScanReceiveForm(user=user)
    if labels:
        checked, _ = validate_rows(actor=user, rows=labels_to_rows(labels),
                                   check_custodian=False)
        preview = checked
    return render(request, "inventory/receiving_scan.html", {
        "form": form, "tab": "scan", "preview": preview, "label_errors": label_errors,
        "labels_text": "\n".join(labels),
    })


@admin_required
def receiving_import(request):
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    row_errors = []
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows = list(read_csv(upload.read()))
            result = devices_import(actor=request.user, rows=rows,
                                    dry_run=form.cleaned_data["dry_run"])
        except ImportRefused as exc:
            row_errors = exc.row_errors
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if result.dry_run:
                messages.success(request, f"The file is clean: {result.rows} row(s) ready to "
                                          "import. Nothing was written.")
            else:
                messages.success(request, f"Imported {_devices(result.devices)} from "
                                          f"{upload.name}.")
                return redirect("inventory:receiving_import")
    return render(request, "inventory/receiving_import.html", {
        "form": form, "tab": "import", "row_errors": row_errors[:500],
        "error_count": len(row_errors), "result": result,
    })


# --- Recall trace ------------------------------------------------------------------------------


def _recall_devices(request):
    form = RecallForm(request.GET or None, user=request.user)
    if not form.is_bound or not form.is_valid():
        return form, None
    data = form.cleaned_data
    return form, selectors.recall_devices(
        user=request.user, manufacturer=data.get("manufacturer"), lot=data.get("lot", ""),
        gtin=data.get("gtin", ""),
    )


@role_required("admin", "manager")
def recall_trace(request):
    form, devices = _recall_devices(request)
    page = counts = None
    if devices is not None:
        page = Paginator(devices, 200).get_page(request.GET.get("page"))
        counts = selectors.status_counts(devices)
        patient_access_record(
            request, what="recall trace", subject=_recall_subject(form),
            patient_ids=[d.used_in.patient_id for d in page.object_list if d.used_in_id],
        )
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "inventory/recall_trace.html", {
        "form": form, "page": page, "counts": counts, "export_query": query.urlencode(),
    })


def _recall_subject(form) -> str:
    data = getattr(form, "cleaned_data", {}) or {}
    return " ".join(f"{k} {v}" for k, v in data.items() if v and isinstance(v, str))


@role_required("admin", "manager")
def recall_export(request):
    form, devices = _recall_devices(request)
    if devices is None:
        raise PermissionDenied("Enter a lot or a GTIN first.")
    patient_access_record(
        request, what="recall trace CSV", subject=_recall_subject(form),
        patient_ids=devices.exclude(used_in__patient_id="").order_by()
        .values_list("used_in__patient_id", flat=True).distinct(),
    )
    status_labels = dict(selectors.DeviceStatus.choices)
    values = devices.values_list(
        "product__product_line__manufacturer__name", "product__reference", "product__gtin",
        "lot", "serial", "expiration_date", "status", "custodian__username",
        "custodian__first_name", "custodian__last_name", "facility__name", "used_in__name",
        "used_in__date", "used_in__facility__name", "used_in__patient_id", "used_in__surgeon",
        "used_in__representative__username",
    ).iterator(chunk_size=10_000)

    def rows():
        for v in values:
            yield [*v[:6], status_labels.get(v[6], v[6]), _person(*v[7:10]), v[10] or "",
                   v[11] or "", v[12] or "", v[13] or "", v[14] or "", v[15] or "", v[16] or ""]

    header = ["Manufacturer", "Reference", "GTIN", "Lot", "Serial", "Expiry", "Status",
              "Custodian", "Facility now", "Case", "Case date", "Case facility", "Patient ID",
              "Surgeon", "Case rep"]
    return stream_csv(f"recall-{timezone.localdate():%Y-%m-%d}.csv", header, rows())
