"""What every app uses and depends on nothing of ours: here, stored documents."""

from django.db import models


class StoredFile(models.Model):
    """A generated document or an uploaded file, kept in the database (``DatabaseStorage``).

    Every app instance sees the same rows, so documents need no shared disk; they are written in
    the same database as the records that name them and are backed up with it.
    """

    name = models.CharField(max_length=255, unique=True)
    content = models.BinaryField()
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OutboxMessage(models.Model):
    """Something that happened, written by a service in its own transaction (``core.outbox``).

    Once that transaction commits, a task hands it to the consumers registered with
    ``core.outbox.register`` (the API's webhooks). A rolled-back service leaves no message, so a
    webhook never announces what did not happen. ``organization_id`` is a plain column: core
    depends on no app of ours.
    """

    organization_id = models.BigIntegerField(db_index=True)
    kind = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"
