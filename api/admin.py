"""Webhook endpoints (admins register them; managers look) and the delivery log, with
"Send again"."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.admin_base import ReadOnlyTenantAdmin, TenantAdmin
from api.models import ApiToken, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from api.services import webhook_delivery_send_again, webhook_kinds_clean, webhook_secret_new
from api.webhooks import url_problem
from core.outbox import OutboxKind


class WebhookEndpointForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(choices=OutboxKind.choices,
                                      widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "kinds", "active"]

    def clean_url(self):
        problem = url_problem(self.cleaned_data["url"], resolve=False)
        if problem:
            raise ValidationError(problem)
        return self.cleaned_data["url"]

    def clean_kinds(self):
        return webhook_kinds_clean(list(self.cleaned_data["kinds"]))


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "description", "active", "consecutive_failures", "disabled_reason"]
    readonly_fields = ["signing_secret", "consecutive_failures", "disabled_reason", "created_at"]

    @admin.display(description="Signing secret (Standard Webhooks)")
    def signing_secret(self, obj):
        return obj.secret if obj and obj.pk else "Generated when you save."

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if not (request.user.is_superuser or request.user.is_admin):
            fields.remove("signing_secret")  # managers look, but never learn the secret
        return fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.secret = webhook_secret_new()
        if change and "active" in form.changed_data and obj.active:
            obj.consecutive_failures = 0
            obj.disabled_reason = ""
        super().save_model(request, obj, form, change)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["at", "status_code", "error", "response_body"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True  # whoever may view the delivery (its admin checked) sees its attempts


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyTenantAdmin):
    list_display = ["created_at", "kind", "endpoint", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["endpoint"]
    inlines = [WebhookAttemptInline]
    actions = ["send_again"]

    @admin.action(description="Send again")
    def send_again(self, request, queryset):
        sent = 0
        for delivery in queryset:
            try:
                webhook_delivery_send_again(actor=request.user, delivery=delivery)
                sent += 1
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            except PermissionDenied as error:
                messages.error(request, str(error))
        if sent:
            messages.success(request, f"{sent} deliver{'y' if sent == 1 else 'ies'} queued again.")

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        if not (request.user.is_superuser or request.user.is_admin):
            actions.pop("send_again", None)
        return actions


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyTenantAdmin):
    list_display = ["name", "user", "scope", "created_at", "expires_at", "last_used_at",
                    "revoked_at"]
    exclude = ["key_hash"]
