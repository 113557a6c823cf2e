"""Contract pages: the list (with hospital systems), a contract and its prices, creating and
editing contracts, adding or removing an entry, importing prices by CSV. Admins change them;
managers read them."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import permission_required
from contracts import selectors, services
from contracts.forms import ContractForm, ContractPriceForm, FacilityGroupForm, PriceImportForm
from contracts.importing import CSV_COLUMNS, ImportRefused, contract_prices_import
from contracts.models import ContractPrice
from core.forms import add_service_errors


@permission_required("view_contracts")
def contract_list(request):
    group_form = None
    if request.user.can("manage_contracts"):
        group_form = FacilityGroupForm(request.POST or None, user=request.user)
        if request.method == "POST" and group_form.is_valid():
            try:
                group = services.facility_group_create(
                    actor=request.user,
                    name=group_form.cleaned_data["name"],
                    facilities=list(group_form.cleaned_data["facilities"]),
                )
            except ValidationError as error:
                add_service_errors(group_form, error)
            else:
                messages.success(request, f"Hospital system {group} saved.")
                return redirect("contracts:list")
    elif request.method == "POST":
        return render(request, "403.html", status=403)
    return render(
        request,
        "contracts/contract_list.html",
        {
            "contracts": selectors.contract_list(user=request.user),
            "groups": selectors.facility_groups(user=request.user),
            "group_form": group_form,
        },
        status=400 if group_form is not None and group_form.errors else 200,
    )


@permission_required("manage_contracts")
def contract_create(request):
    form = ContractForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            contract = services.contract_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Contract {contract} saved: add its prices.")
            return redirect("contracts:detail", contract.pk)
    return render(
        request, "contracts/contract_form.html", {"form": form}, status=400 if form.errors else 200
    )


@permission_required("manage_contracts")
def contract_edit(request, pk: int):
    contract = get_object_or_404(selectors.contract_detail_qs(user=request.user), pk=pk)
    initial = {
        "name": contract.name,
        "valid_from": contract.valid_from,
        "valid_to": contract.valid_to,
    }
    form = ContractForm(request.POST or None, user=request.user, contract=contract, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.contract_update(actor=request.user, contract=contract, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Contract {contract.name} saved.")
            return redirect("contracts:detail", contract.pk)
    return render(
        request,
        "contracts/contract_form.html",
        {"form": form, "contract": contract},
        status=400 if form.errors else 200,
    )


@permission_required("view_contracts")
def contract_detail(request, pk: int):
    contract = get_object_or_404(selectors.contract_detail_qs(user=request.user), pk=pk)
    form = None
    if request.user.can("manage_contracts"):
        form = ContractPriceForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                services.contract_price_set(
                    actor=request.user, contract=contract, **form.cleaned_data
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Price saved.")
                return redirect("contracts:detail", contract.pk)
    elif request.method == "POST":
        return render(request, "403.html", status=403)
    return render(
        request,
        "contracts/contract_detail.html",
        {
            "contract": contract,
            "entries": selectors.contract_entries(contract=contract),
            "form": form,
            "import_form": PriceImportForm() if form is not None else None,
            "columns": ",".join(CSV_COLUMNS),
        },
        status=400 if form is not None and form.errors else 200,
    )


@require_POST
@permission_required("manage_contracts")
def contract_price_delete(request, pk: int, entry_pk: int):
    entry = get_object_or_404(
        ContractPrice.objects.for_user(request.user), contract_id=pk, pk=entry_pk
    )
    services.contract_price_delete(actor=request.user, entry=entry)
    messages.success(request, "Price removed.")
    return redirect("contracts:detail", pk)


@permission_required("manage_contracts")
def contract_import(request, pk: int):
    contract = get_object_or_404(selectors.contract_detail_qs(user=request.user), pk=pk)
    form = PriceImportForm(request.POST or None, request.FILES or None)
    row_errors = []
    if request.method == "POST" and form.is_valid():
        try:
            count = contract_prices_import(
                actor=request.user, contract=contract, data=form.cleaned_data["file"].read()
            )
        except ImportRefused as refused:
            row_errors = refused.row_errors
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, f"{count} price{'s' if count != 1 else ''} imported into {contract}."
            )
            return redirect("contracts:detail", contract.pk)
    return render(
        request,
        "contracts/contract_import.html",
        {
            "contract": contract,
            "form": form,
            "row_errors": row_errors,
            "columns": ",".join(CSV_COLUMNS),
        },
    )
