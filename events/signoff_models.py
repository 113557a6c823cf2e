"""The hospital's sign-off of a case (imported by ``events/models.py``): the facility contact's
drawn signature (name, title) beside the rep's own, and the photo of the patient sticker.

Signatures are kept as strokes (lists of points in a 600 × 200 box), drawn back as SVG on the
page and on the sales order PDF; the photo is a private stored file served only by a view that
checks who may see the patient ID and writes the patient access log.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.tenancy import TenantManager

SIGNATURE_WIDTH = 600
SIGNATURE_HEIGHT = 200


def sticker_upload_to(instance, filename: str) -> str:
    """Private storage path of a sticker photo: events/<org>/stickers/<event>-<file>."""
    return f"events/{instance.organization_id}/stickers/{instance.event_id}-{filename}"


def polylines(strokes) -> list[str]:
    """SVG ``points`` of each stroke ("x,y x,y …")."""
    return [" ".join(f"{x:g},{y:g}" for x, y in stroke) for stroke in strokes or []]


class CaseSignOff(models.Model):
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    event = models.OneToOneField("events.Event", on_delete=models.CASCADE, related_name="sign_off")
    contact_name = models.CharField(max_length=200, blank=True)
    contact_title = models.CharField(max_length=200, blank=True)
    contact_signature = models.JSONField(default=list, blank=True)
    rep_signature = models.JSONField(default=list, blank=True)
    sticker_photo = models.FileField(upload_to=sticker_upload_to, blank=True, max_length=200)
    sticker_taken_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        constraints = [
            # A contact's signature says whose it is.
            models.CheckConstraint(
                condition=Q(contact_signature=[]) | ~Q(contact_name=""),
                name="case_sign_off_contact_named",
            ),
        ]

    def __str__(self) -> str:
        return f"sign-off of {self.event_id}"

    @property
    def contact_signed(self) -> bool:
        return bool(self.contact_signature)

    @property
    def has_sticker(self) -> bool:
        return bool(self.sticker_photo)

    def contact_polylines(self) -> list[str]:
        return polylines(self.contact_signature)

    def rep_polylines(self) -> list[str]:
        return polylines(self.rep_signature)
