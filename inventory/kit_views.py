"""Kit screens: the kit list, templates (admins), building a kit, its page (contents against the
template, units, history), its label (PDF with a QR code), transfer and replenish. Function
views: validate a form, call one service, show its errors."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import permission_required
from core.forms import add_service_errors
from core.pdf import render_pdf
from inventory import kit_selectors, kit_services
from inventory.kit_forms import (
    KitCreateForm,
    KitEditForm,
    KitPackForm,
    KitReplenishForm,
    KitTemplateForm,
    KitTemplateItemsForm,
    KitTransferForm,
)
from inventory.models import Kit, KitMovement, KitTemplate, Product, Transfer
from inventory.selectors import device_resolve

KITS_PER_PAGE = 50


def _kit_for(request, pk: int) -> Kit:
    return get_object_or_404(kit_selectors.kit_list(user=request.user), pk=pk)


def can_change(user, kit: Kit) -> bool:
    """Who may build, unpack, transfer, loan or refill a kit: an admin, or its custodian."""
    return user.is_admin or (user.is_rep and kit.custodian_id == user.pk)


@permission_required("view_inventory")
def kit_list(request):
    kits = kit_selectors.kit_list(user=request.user, with_units=False)
    page = Paginator(kits, KITS_PER_PAGE).get_page(request.GET.get("page"))
    kits = list(page.object_list)
    states = kit_selectors.kit_states(kits=kits)
    return render(request, "inventory/kit_list.html", {
        "page": page,
        "rows": [(kit, states[kit.pk]) for kit in kits],
        "templates": kit_selectors.kit_template_list(user=request.user)[:50],
    })


@permission_required("view_inventory")
def kit_detail(request, pk: int):
    kit = _kit_for(request, pk)
    user = request.user
    context = {
        "kit": kit,
        "contents": kit_selectors.kit_contents(kit=kit),
        "units": list(kit_selectors.kit_devices(kit=kit)),
        "history": list(KitMovement.objects.filter(kit=kit).select_related(
            "actor", "from_custodian", "to_custodian", "facility", "event",
        ).order_by("-at", "-id")[:50]),
        "can_change": can_change(user, kit),
        "refills": list(Transfer.objects.filter(into_kit=kit, status=Transfer.Status.PENDING)
                        .select_related("from_custodian")),
    }
    if context["can_change"] and kit.status == Kit.Status.AVAILABLE:
        candidates = kit_selectors.kit_candidate_devices(kit=kit)
        context["pack_form"] = KitPackForm(candidates=candidates[:100])
        context["transfer_form"] = KitTransferForm(user=user, kit=kit)
        context["replenish_form"] = KitReplenishForm(user=user)
    return render(request, "inventory/kit_detail.html", context)


@permission_required("manage_kits")
def kit_create(request):
    user = request.user
    form = KitCreateForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            kit = kit_services.kit_create(
                actor=user, template=form.cleaned_data["template"], tag=form.cleaned_data["tag"],
                custodian=form.cleaned_data.get("custodian") or user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Kit {kit.tag} created: scan or pick its units.")
            return redirect("inventory:kit_detail", pk=kit.pk)
    return render(request, "inventory/kit_form.html", {"form": form})


@permission_required("manage_kits")
def kit_edit(request, pk: int):
    kit = _kit_for(request, pk)
    if not can_change(request.user, kit):
        messages.error(request, f"{kit} is in {kit.custodian}'s custody: only they or an admin "
                                "can change it.")
        return redirect("inventory:kit_detail", pk=kit.pk)
    form = KitEditForm(request.POST or None, user=request.user, initial={
        "tag": kit.tag, "template": kit.template_id, "notes": kit.notes})
    if request.method == "POST" and form.is_valid():
        try:
            kit = kit_services.kit_update(actor=request.user, kit=kit, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Kit {kit.tag} saved.")
            return redirect("inventory:kit_detail", pk=kit.pk)
    return render(request, "inventory/kit_edit.html", {"form": form, "kit": kit})


@require_POST
@permission_required("manage_kits")
def kit_pack(request, pk: int):
    kit = _kit_for(request, pk)
    candidates = kit_selectors.kit_candidate_devices(kit=kit)
    form = KitPackForm(request.POST, candidates=candidates)
    errors = []
    if form.is_valid():
        devices = list(form.cleaned_data["devices"])
        for text in (form.cleaned_data["labels"] or "").replace("\r", "").split("\n"):
            if text.strip():
                found = device_resolve(user=request.user, text=text)
                if len(found) == 1:
                    devices.append(found[0])
                else:
                    errors.append(f"No single unit matches “{text.strip()[:80]}”.")
        if not errors:
            try:
                packed = kit_services.kit_add_devices(actor=request.user, kit=kit,
                                                      devices=devices)
            except ValidationError as exc:
                errors += exc.messages
            else:
                messages.success(request, f"{len(packed)} unit(s) packed into {kit.tag}.")
    else:
        errors.append("Those units can't be packed: reload the page and pick again.")
    for error in errors:
        messages.error(request, error)
    return redirect("inventory:kit_detail", pk=kit.pk)


@require_POST
@permission_required("manage_kits")
def kit_unpack(request, pk: int, device_pk: int):
    kit = _kit_for(request, pk)
    device = get_object_or_404(kit.devices.all(), pk=device_pk)
    try:
        kit_services.kit_remove_device(actor=request.user, kit=kit, device=device)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    else:
        messages.success(request, f"{device.label} taken out of {kit.tag}.")
    return redirect("inventory:kit_detail", pk=kit.pk)


@require_POST
@permission_required("manage_kits")
def kit_transfer(request, pk: int):
    kit = _kit_for(request, pk)
    form = KitTransferForm(request.POST, user=request.user, kit=kit)
    if form.is_valid():
        try:
            transfer = kit_services.kit_transfer(actor=request.user, kit=kit,
                                                 to_custodian=form.cleaned_data["to_custodian"])
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
        else:
            messages.success(request, f"Kit {kit.tag} sent on transfer #{transfer.pk}.")
            return redirect("inventory:transfer_detail", pk=transfer.pk)
    else:
        messages.error(request, "Choose the recipient.")
    return redirect("inventory:kit_detail", pk=kit.pk)


@require_POST
@permission_required("manage_kits")
def kit_replenish(request, pk: int):
    kit = _kit_for(request, pk)
    form = KitReplenishForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, "Choose where the replacement units come from.")
        return redirect("inventory:kit_detail", pk=kit.pk)
    try:
        refill = kit_services.kit_replenish(actor=request.user, kit=kit,
                                            source=form.cleaned_data["source"])
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return redirect("inventory:kit_detail", pk=kit.pk)
    products = Product.objects.in_bulk(list(refill.shortfall))
    return render(request, "inventory/kit_replenish.html", {
        "kit": kit, "refill": refill,
        "shortfall": [(products[pid], n) for pid, n in refill.shortfall.items()],
        "devices": list(refill.transfer.devices.select_related("product").order_by(
            "product__reference", "-expiration_date")) if refill.transfer else [],
    })


@permission_required("view_inventory")
def kit_label(request, pk: int):
    """The kit's label: its tag as a QR code and in print, the template and the contents list."""
    kit = _kit_for(request, pk)
    qr = segno.make(kit.tag, error="m")
    data = render_pdf("inventory/pdf/kit_label.html", {
        "kit": kit, "qr_svg": qr.svg_inline(scale=4, border=1),
        "items": kit.template.items.select_related("product"),
    })
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="kit-{kit.tag}.pdf"'
    return response


# --- templates -----------------------------------------------------------------------------------


@permission_required("view_inventory")
def kit_template_detail(request, pk: int):
    template = get_object_or_404(kit_selectors.kit_template_list(user=request.user), pk=pk)
    items = list(template.items.select_related("product"))
    form = None
    if request.user.is_admin:
        form = KitTemplateItemsForm(request.POST or None, initial={"items": "\n".join(
            f"{item.product.reference},{item.quantity}" for item in items)})
        if request.method == "POST" and form.is_valid():
            try:
                rows = kit_services.template_rows_from_csv(
                    actor=request.user, data="reference,quantity\n" + form.cleaned_data["items"])
                kit_services.kit_template_set_items(actor=request.user, template=template,
                                                    items=rows)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"{template.name}: items saved.")
                return redirect("inventory:kit_template_detail", pk=template.pk)
    return render(request, "inventory/kit_template_detail.html", {
        "template": template, "items": items, "form": form,
        "kits": template.kits.select_related("custodian", "facility").order_by("tag")[:200],
    })


@permission_required("manage_kit_templates")
def kit_template_create(request):
    user = request.user
    form = KitTemplateForm(request.POST or None, request.FILES or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            template = kit_services.kit_template_import_csv(
                actor=user, name=form.cleaned_data["name"],
                product_line=form.cleaned_data["product_line"], data=form.cleaned_data["data"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Kit template {template.name} saved.")
            return redirect("inventory:kit_template_detail", pk=template.pk)
    return render(request, "inventory/kit_template_form.html", {"form": form})


def kit_template_for(user, pk: int) -> KitTemplate:
    return get_object_or_404(KitTemplate.objects.for_user(user), pk=pk)
