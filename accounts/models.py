from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models

from accounts.permissions import has_permission
from accounts.roles import UserRole
from core.tenancy import TenantQuerySet


class Organization(models.Model):
    """A customer account: a manufacturer or a distributor. Nothing crosses organisations."""

    name = models.CharField(max_length=200, unique=True)
    currency = models.CharField(
        max_length=3, default="USD",
        help_text="ISO 4217 code shown with every amount (pages and PDFs), e.g. USD or EUR.",
    )
    # The hospital's sign-off at Submit For Billing (cases).
    require_contact_signature = models.BooleanField(
        default=False,
        help_text="A case can be submitted only with the facility contact's drawn signature.",
    )
    require_sticker_photo = models.BooleanField(
        default=False,
        help_text="A case can be submitted only with a photo of the patient sticker.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Raised when a facility, product, product line, manufacturer or user of the organisation
    # changes: the filter bars' option lists kept per process are then read afresh
    # (core.options, accounts.options).
    options_version = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"),
                name="organization_currency_iso",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class UserQuerySet(TenantQuerySet):
    def for_user(self, user):
        """The organisation's people; a regional manager's: themself and their region's members
        (``consignment.regions``)."""
        qs = super().for_user(user)
        if getattr(user, "is_regional_manager", False):
            qs = qs.filter(models.Q(pk=user.pk)
                           | models.Q(region_membership__region__members__user_id=user.pk))
        return qs


class TenantUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    Role = UserRole

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REP)

    objects = TenantUserManager()

    class Meta:
        ordering = ["first_name", "last_name", "username"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=UserRole.values), name="user_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    # Role checks in templates and views go through these (never compare role strings).
    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def is_manager(self) -> bool:
        return self.role == self.Role.MANAGER

    @property
    def is_regional_manager(self) -> bool:
        """Reads like a manager, but only their region (``consignment.regions``)."""
        return self.role == self.Role.REGIONAL_MANAGER

    @property
    def may_see_patient_ids(self) -> bool:
        """Admins, managers and regional managers see the patient IDs of every event they may
        open; a rep only those of their own events."""
        return self.role in (self.Role.ADMIN, self.Role.MANAGER, self.Role.REGIONAL_MANAGER)

    @property
    def is_rep(self) -> bool:
        return self.role == self.Role.REP

    @property
    def can_write(self) -> bool:
        """Managers (and regional managers) read and change nothing."""
        return self.role in (self.Role.ADMIN, self.Role.REP)

    @property
    def is_admin_or_manager(self) -> bool:
        """Admins and managers see the whole organisation (billing, recalls, adjustments)."""
        return self.role in (self.Role.ADMIN, self.Role.MANAGER)

    def can(self, permission: str) -> bool:
        """Whether this user holds a named permission (``accounts.permissions.PERMISSIONS``);
        templates ask ``{% load permissions %}{% if user|can:"record_po" %}``."""
        return has_permission(self, permission)


class PatientAccess(models.Model):
    """Who viewed or exported which patient ID, when and where (append-only by convention;
    the admin shows it read-only)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    patient_id = models.CharField(max_length=64, db_index=True)
    what = models.CharField(max_length=64, help_text="The page or export that showed it.")
    subject = models.CharField(max_length=200, blank=True, help_text="The event or device.")
    path = models.CharField(max_length=500, blank=True)
    address = models.CharField(max_length=64, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "patient ID access"
        verbose_name_plural = "patient ID accesses"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.what} {self.patient_id}"
