from django.db import models

from core.tenancy import TenantManager, TenantQuerySet


class Region(models.Model):
    """A group of facilities and reps that a regional manager oversees (read-only).

    A facility is in at most one region (``Facility.region``); a user (a rep, or the regional
    manager who reads it) is in at most one region (``RegionMember``, unique per user). What a
    regional manager sees is ``consignment.regions``.
    """

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    name = models.CharField(max_length=200)

    objects = TenantManager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="region_name_unique"),
            models.CheckConstraint(condition=~models.Q(name=""), name="region_has_name"),
        ]

    def __str__(self) -> str:
        return self.name


class RegionMember(models.Model):
    """A rep of a region, or the regional manager reading it: one region per user."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT,
                                     related_name="+")
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="members")
    user = models.OneToOneField("accounts.User", on_delete=models.CASCADE,
                                related_name="region_membership")

    objects = TenantManager()

    class Meta:
        ordering = ["region", "user"]

    def __str__(self) -> str:
        return f"{self.user} in {self.region}"


class FacilityQuerySet(TenantQuerySet):
    def for_user(self, user):
        """The organisation's facilities; a regional manager's: their region's
        (``consignment.regions``)."""
        qs = super().for_user(user)
        if getattr(user, "is_regional_manager", False):
            qs = qs.filter(region__members__user_id=user.pk)
        return qs


class Facility(models.Model):
    """A hospital or surgery centre."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="facilities"
    )
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    account_number = models.CharField(max_length=50, blank=True)
    payment_terms_days = models.PositiveIntegerField(
        default=30, help_text="Days from invoice to due date."
    )
    reps = models.ManyToManyField(
        "accounts.User", blank=True, related_name="covered_facilities",
        help_text="Reps who cover this facility (alerts, dashboards).",
    )
    region = models.ForeignKey(
        Region, on_delete=models.SET_NULL, null=True, blank=True, related_name="facilities",
        help_text="The region whose regional manager sees this facility (one at most).",
    )

    objects = FacilityQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "facilities"
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="facility_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class FacilityContact(models.Model):
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.title})" if self.title else self.name


class Surgeon(models.Model):
    """A surgeon (physician) in the organisation's directory, operating at some facilities.

    Scheduled cases pick one; the event keeps the name in ``Event.surgeon`` too (the text the
    reports and the older events read).
    """

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    name = models.CharField(max_length=200)
    facilities = models.ManyToManyField(Facility, blank=True, related_name="surgeons")

    objects = TenantManager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="surgeon_name_unique"),
            models.CheckConstraint(condition=~models.Q(name=""), name="surgeon_has_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ParLevel(models.Model):
    """The minimum facility stock of a product that a facility should hold."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="par_levels")
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.CASCADE, related_name="par_levels"
    )
    minimum = models.PositiveIntegerField()

    objects = TenantManager()

    class Meta:
        ordering = ["facility__name", "product__reference"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "product"], name="par_level_unique"),
            models.CheckConstraint(condition=models.Q(minimum__gte=0), name="par_level_min_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.facility}: {self.product} ≥ {self.minimum}"
