"""Inventory screens: All Inventory, device page, transfers, stock adjustments, receiving,
recall trace. Function views: validate with a form, call one service, map errors back."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from accounts.decorators import permission_required
from accounts.security import patient_access_record, safe_next
from core.exports import Column, csv_download, csv_safe, field
from core.forms import add_service_errors
from core.http import content_disposition
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
    CSV_COLUMNS,
    ImportRefused,
    devices_import,
    labels_to_rows,
    read_csv,
    scan_list_preview,
    scan_list_step,
)
from inventory.kit_selectors import kit_by_tag
from inventory.labels import looks_like_label, parse_label
from inventory.models import DeviceStatus, Transfer
from inventory.tables import CappedPaginator, DeviceTable

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


def device_table(request) -> tuple[DeviceFilter, DeviceTable]:
    """All Inventory's filter bar and its sorted, paginated table (bench_pages times this alone
    too: the page's queries through the ORM, before any HTML)."""
    devices = DeviceFilter(request.GET, queryset=selectors.device_list(user=request.user),
                           request=request)
    table = DeviceTable(devices.qs)
    RequestConfig(
        request, paginate={"per_page": PER_PAGE, "paginator_class": CappedPaginator,
                           "user": request.user},
    ).configure(table)
    return devices, table


@permission_required("view_inventory")
def device_list(request):
    devices, table = device_table(request)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("sort", None)
    return render(request, "inventory/device_list.html", {
        "filter": devices, "table": table, "export_query": query.urlencode(),
    })


_STATUS_LABELS = dict(DeviceStatus.choices)


DEVICE_EXPORT_COLUMNS = [
    Column("Device ID", field("pk")),
    Column("Manufacturer", field("product__product_line__manufacturer__name")),
    Column("Product line", field("product__product_line__name")),
    Column("Reference", field("product__reference")),
    Column("Description", field("product__description")), Column("GTIN", field("product__gtin")),
    Column("Lot", field("lot")), Column("Serial", field("serial")),
    Column("Expiry", field("expiration_date")),
    Column("Status", field("status", convert=_STATUS_LABELS.__getitem__)),
    Column("In transit (transfer)", field("pending_transfer_id")),
    Column("Custodian", field("custodian__username", "custodian__first_name",
                              "custodian__last_name", convert=_person)),
    Column("Facility", field("facility__name")),
    Column("UDI", field("udi")),
]
# The fields the export reads (named rows: each column reads its values by name).
DEVICE_EXPORT_FIELDS = [
    "pk", "product__product_line__manufacturer__name", "product__product_line__name",
    "product__reference", "product__description", "product__gtin", "lot", "serial",
    "expiration_date", "status", "pending_transfer_id", "custodian__username",
    "custodian__first_name", "custodian__last_name", "facility__name", "udi",
]


@permission_required("view_inventory")
def device_export(request):
    """The filtered rows as CSV, streamed from the database cursor (constant memory)."""
    devices = DeviceFilter(request.GET, queryset=selectors.device_list(user=request.user),
                           request=request)
    rows = devices.qs.order_by("expiration_date", "pk").values_list(
        *DEVICE_EXPORT_FIELDS, named=True
    ).iterator(chunk_size=10_000)
    return csv_download(f"inventory-{timezone.localdate():%Y-%m-%d}.csv",
                        DEVICE_EXPORT_COLUMNS, rows)


@permission_required("view_inventory")
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


@permission_required("view_inventory")
def transfer_list(request):
    awaiting = list(selectors.transfers_awaiting(user=request.user)) if (
        request.user.can("transfer_devices")) else []
    page = Paginator(selectors.transfer_list(user=request.user), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "inventory/transfer_list.html", {
        "awaiting": awaiting, "page": page, "decline_form": DeclineForm(),
    })


@permission_required("transfer_devices")
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
                    if user.is_admin else None,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
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


@permission_required("view_inventory")
def transfer_detail(request, pk: int):
    transfer = _transfer_for(request, pk)
    return render(request, "inventory/transfer_detail.html", {
        "transfer": transfer, "devices": selectors.transfer_devices(transfer=transfer),
        "can_answer": services.can_answer(request.user, transfer), "decline_form": DeclineForm(),
        "can_take_back": services.can_take_back(request.user, transfer),
    })


@require_POST
@permission_required("transfer_devices")
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
@permission_required("transfer_devices")
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


@require_POST
@permission_required("transfer_devices")
def transfer_take_back(request, pk: int):
    """The sender takes back a transfer still in transit."""
    transfer = _transfer_for(request, pk)
    try:
        services.transfer_take_back(actor=request.user, transfer=transfer)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Transfer #{transfer.pk} taken back: the devices stay with "
                                  f"{transfer.from_custodian} and can go on events again.")
    return redirect("inventory:transfer_detail", pk=transfer.pk)


# --- Stock Adjustments -------------------------------------------------------------------------


@permission_required("view_inventory")
def adjustment_list(request):
    if request.user.is_rep:
        page = None  # admins make adjustments; reps see none
    else:
        page = Paginator(selectors.adjustment_list(user=request.user), PER_PAGE).get_page(
            request.GET.get("page")
        )
    return render(request, "inventory/adjustment_list.html", {"page": page})


@permission_required("view_adjustments")
def adjustment_detail(request, pk: int):
    adjustment = get_object_or_404(selectors.adjustment_list(user=request.user), pk=pk)
    return render(request, "inventory/adjustment_detail.html", {
        "adjustment": adjustment,
        "lines": selectors.adjustment_lines(adjustment=adjustment),
    })


@permission_required("adjust_stock")
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
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Stock adjustment #{adjustment.pk} saved "
                                      f"({_devices(len(lines))}).")
            return redirect("inventory:adjustment_detail", pk=adjustment.pk)
    return render(request, "inventory/adjustment_form.html", {"form": form})


@permission_required("view_inventory")
def device_search(request):
    """htmx: devices matching a serial, lot, reference, description or scanned label."""
    results = selectors.device_search(user=request.user, text=request.GET.get("q", ""))
    return render(request, "inventory/adjustment_form.html#search_results", {
        "results": results, "q": request.GET.get("q", ""),
        "kit": kit_by_tag(organization_id=request.user.organization_id,
                          tag=request.GET.get("q", "")),
    })


@permission_required("view_inventory")
def devices_by_label(request):
    """JSON for a scan box that picks from a list (the transfer form): the devices a scanned
    label or a typed serial names, or what is wrong with the label."""
    text = request.GET.get("q", "")
    if looks_like_label(text):
        try:
            parse_label(text)
        except ValidationError as exc:
            return JsonResponse({"devices": [], "message": " ".join(exc.messages)})
    found = selectors.device_resolve(user=request.user, text=text)
    return JsonResponse({
        "devices": [{"id": d.pk, "label": d.label} for d in found],
        "message": "" if found else f"No device {text.strip()!r} in your inventory.",
    })


# --- Receiving ---------------------------------------------------------------------------------


@permission_required("receive_inventory")
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
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Received {_devices(len(devices))} of "
                                      f"{data['product'].reference} into {data['custodian']}'s "
                                      "custody.")
            return redirect("inventory:receiving")
    return render(request, "inventory/receiving_form.html", {"form": form, "tab": "form"})


@permission_required("receive_inventory")
def receiving_scan(request):
    """Scan labels one after another; the list accumulates; "Receive" takes them all."""
    user = request.user
    labels, label_errors = [], []
    form = ScanReceiveForm(user=user)
    if request.method == "POST":
        action = request.POST.get("action", "add")
        labels, label_errors = scan_list_step(
            actor=user, labels=_lines(request.POST.get("labels", "")), action=action,
            label=request.POST.get("label", ""),
        )
        if action == "receive":
            form = ScanReceiveForm({**request.POST.dict(), "labels": "\n".join(labels)},
                                   user=user)
            if form.is_valid():
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
        else:
            form = ScanReceiveForm(initial={"labels": "\n".join(labels),
                                            "custodian": request.POST.get("custodian")},
                                   user=user)
    return render(request, "inventory/receiving_scan.html", {
        "form": form, "tab": "scan", "label_errors": label_errors,
        "preview": scan_list_preview(actor=user, labels=labels),
        "labels_text": "\n".join(labels),
    })


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


@permission_required("receive_inventory")
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
            add_service_errors(form, exc)
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
        "samples": selectors.import_samples(user=request.user),
    })


@permission_required("receive_inventory")
@require_GET
def receiving_import_template(request):
    """The import file's template: its header row and sample rows from your own catalogue.

    Written as the importer reads it: a HIBC code keeps its leading + (the reports' CSVs put a '
    before it for spreadsheets, which the importer would refuse); the custodian, the one free
    text, is made spreadsheet-safe."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition("receiving-import-template.csv")
    writer = csv.writer(response, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in selectors.import_samples(user=request.user):
        writer.writerow([row["gtin"], row["lot"], row["serial"],
                         row["expiration_date"].isoformat(), csv_safe(row["custodian"])])
    return response


# --- Recall trace ------------------------------------------------------------------------------


def _recall_devices(request):
    form = RecallForm(request.GET or None, user=request.user)
    if not form.is_bound or not form.is_valid():
        return form, None
    data = form.cleaned_data
    return form, selectors.recall_devices(
        user=request.user, manufacturer=data.get("manufacturer"), lot=data.get("lot", ""),
        gtin=data.get("gtin", ""), product=data.get("product"),
    )


@permission_required("trace_recalls")
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


@permission_required("trace_recalls")
def recall_export(request):
    form, devices = _recall_devices(request)
    if devices is None:
        raise PermissionDenied("Enter a lot or a GTIN first.")
    patient_access_record(
        request, what="recall trace CSV", subject=_recall_subject(form),
        patient_ids=devices.exclude(used_in__patient_id="").order_by()
        .values_list("used_in__patient_id", flat=True).distinct(),
    )
    rows = devices.values_list(*RECALL_EXPORT_FIELDS, named=True).iterator(chunk_size=10_000)
    return csv_download(f"recall-{timezone.localdate():%Y-%m-%d}.csv", RECALL_EXPORT_COLUMNS,
                        rows)


RECALL_EXPORT_COLUMNS = [
    Column("Manufacturer", field("product__product_line__manufacturer__name")),
    Column("Reference", field("product__reference")), Column("GTIN", field("product__gtin")),
    Column("Lot", field("lot")), Column("Serial", field("serial")),
    Column("Expiry", field("expiration_date")),
    Column("Status", field("status", convert=_STATUS_LABELS.__getitem__)),
    Column("Custodian", field("custodian__username", "custodian__first_name",
                              "custodian__last_name", convert=_person)),
    Column("Facility now", field("facility__name")),
    Column("Case", field("used_in__name")), Column("Case date", field("used_in__date")),
    Column("Case facility", field("used_in__facility__name")),
    Column("Patient ID", field("used_in__patient_id")),
    Column("Surgeon", field("used_in__surgeon")),
    Column("Case rep", field("used_in__representative__username")),
]
RECALL_EXPORT_FIELDS = [
    "product__product_line__manufacturer__name", "product__reference", "product__gtin", "lot",
    "serial", "expiration_date", "status", "custodian__username", "custodian__first_name",
    "custodian__last_name", "facility__name", "used_in__name", "used_in__date",
    "used_in__facility__name", "used_in__patient_id", "used_in__surgeon",
    "used_in__representative__username",
]
