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
