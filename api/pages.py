"""The API tokens page: a user creates (secret shown once), lists and revokes their tokens."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import permission_required
from api.models import ApiToken
from api.services import TOKEN_MAX_DAYS, api_token_create, api_token_revoke
from core.forms import BootstrapForm, add_service_errors


class TokenForm(BootstrapForm, forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “ERP sync”.")
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ)
    expires_in_days = forms.IntegerField(
        label="Expires in (days)", min_value=1, max_value=TOKEN_MAX_DAYS, initial=90)


@permission_required("use_api")
def token_list(request):
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = api_token_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            form = TokenForm()
            messages.success(request, f"Token “{token.name}” created. Copy it now: it is shown "
                                      "only once.")
    tokens = ApiToken.objects.for_user(request.user).filter(user=request.user)
    return render(request, "api/token_list.html", {
        "form": form, "secret": secret, "tokens": tokens,
    }, status=400 if form.errors else 200)


@permission_required("use_api")
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken.objects.for_user(request.user), pk=pk,
                              user=request.user)
    try:
        api_token_revoke(actor=request.user, token=token)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("api:token_list")
