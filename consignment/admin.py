from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from accounts.admin_base import ReadOnlyTenantAdmin, TenantAdmin
from accounts.models import User
from consignment.models import Facility, FacilityContact, ParLevel, Region
from consignment.services import region_save


@admin.register(Facility)
class FacilityAdmin(TenantAdmin):
    list_display = ["name", "account_number", "payment_terms_days"]
    search_fields = ["^name", "=account_number"]
    filter_horizontal = ["reps"]


@admin.register(FacilityContact)
class FacilityContactAdmin(ReadOnlyTenantAdmin):
    """Contacts are added through consignment.services.facility_contact_create ("Add New")."""

    list_display = ["name", "title", "facility", "email", "phone"]
    list_filter = ["facility"]
    search_fields = ["^name", "=email"]


@admin.register(ParLevel)
class ParLevelAdmin(TenantAdmin):
    list_display = ["facility", "product", "minimum"]
    list_filter = ["facility"]
    list_select_related = ["facility", "product"]


class RegionForm(forms.ModelForm):
    """A region with its facilities and its people (reps and regional managers), saved together
    by ``consignment.services.region_save``."""

    facilities = forms.ModelMultipleChoiceField(
        queryset=Facility.objects.none(), required=False,
        widget=admin.widgets.FilteredSelectMultiple("facilities", is_stacked=False),
        help_text="A facility is in one region at most: choosing it here moves it here.",
    )
    members = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, label="Reps and regional managers",
        widget=admin.widgets.FilteredSelectMultiple("people", is_stacked=False),
        help_text="A person is in one region at most. A regional manager reads this region only.",
    )

    class Meta:
        model = Region
        fields = ["name"]


@admin.register(Region)
class RegionAdmin(TenantAdmin):
    """Admins create and change regions; managers may look (``TenantAdmin``)."""

    form = RegionForm
    list_display = ["name", "facility_count", "member_count"]
    search_fields = ["^name"]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(
            n_facilities=Count("facilities", distinct=True),
            n_members=Count("members", distinct=True))

    @admin.display(description="facilities", ordering="n_facilities")
    def facility_count(self, obj):
        return obj.n_facilities

    @admin.display(description="reps and regional managers", ordering="n_members")
    def member_count(self, obj):
        return obj.n_members

    def get_fields(self, request, obj=None):
        if self.has_change_permission(request, obj):
            return ["name", "facilities", "members"]
        return ["name", "facility_names", "member_names"]  # a manager looks

    def get_readonly_fields(self, request, obj=None):
        if self.has_change_permission(request, obj):
            return []
        return ["name", "facility_names", "member_names"]

    @admin.display(description="facilities")
    def facility_names(self, obj):
        return ", ".join(f.name for f in obj.facilities.order_by("name")) or "—"

    @admin.display(description="reps and regional managers")
    def member_names(self, obj):
        return ", ".join(str(m.user) for m in obj.members.select_related("user")) or "—"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        user = request.user
        base = form

        class Scoped(base):
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                if "facilities" not in self.fields:  # read-only (a manager)
                    return
                org = user.organization_id if not user.is_superuser else (
                    obj.organization_id if obj else user.organization_id)
                self.fields["facilities"].queryset = Facility.objects.filter(
                    organization_id=org).order_by("name")
                self.fields["members"].queryset = User.objects.filter(
                    organization_id=org, is_active=True,
                    role__in=[User.Role.REP, User.Role.REGIONAL_MANAGER])
                if obj is not None:
                    self.initial["facilities"] = list(obj.facilities.values_list("pk", flat=True))
                    self.initial["members"] = list(
                        obj.members.values_list("user_id", flat=True))

        return Scoped

    def save_model(self, request, obj, form, change):
        if not change and not request.user.is_superuser:
            obj.organization_id = request.user.organization_id
        form.instance = obj

    def save_related(self, request, form, formsets, change):
        try:
            region_save(actor=request.user, region=form.instance,
                        facilities=form.cleaned_data["facilities"],
                        members=form.cleaned_data["members"])
        except ValidationError as error:
            # Shown as the admin's error message; nothing was saved (one transaction).
            raise _AdminRefused(error) from error

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _AdminRefused as refused:
            from django.contrib import messages
            from django.shortcuts import redirect

            for message in refused.error.messages:
                messages.error(request, message)
            return redirect(request.path)


class _AdminRefused(Exception):
    def __init__(self, error: ValidationError):
        super().__init__(str(error))
        self.error = error
