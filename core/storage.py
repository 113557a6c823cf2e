"""A Django file storage that keeps files in the database (``core.StoredFile``).

Chosen for production documents (sales orders, invoices, PO uploads) because several stateless
app instances and the worker must all read what any of them wrote, and PostgreSQL is already
the one service they share: no extra server, the documents commit and back up with the rows that
name them. Files are small (a few hundred kB, uploads at most ``PO_UPLOAD_MAX_BYTES``).
"""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import IntegrityError, transaction
from django.utils.deconstruct import deconstructible


@deconstructible(path="core.storage.DatabaseStorage")
class DatabaseStorage(Storage):
    def _model(self):
        from core.models import StoredFile

        return StoredFile

    def _open(self, name, mode="rb"):
        if "w" in mode or "a" in mode:
            raise ValueError("Stored files are written with save(), not opened for writing.")
        row = self._model().objects.filter(name=name).values_list("content", flat=True).first()
        if row is None:
            raise FileNotFoundError(f"No stored file named {name!r}.")
        return ContentFile(bytes(row), name=name)

    def _save(self, name, content):
        content.seek(0)
        data = content.read()
        if isinstance(data, str):
            data = data.encode()
        model = self._model()
        # get_available_name() already chose a free name; a racing writer may take it first.
        for _ in range(5):
            try:
                with transaction.atomic():
                    model.objects.create(name=name, content=data, size=len(data))
                return name
            except IntegrityError:
                name = self.get_available_name(name)
        raise OSError(f"Could not store {name!r}: the name stays taken.")

    def delete(self, name):
        self._model().objects.filter(name=name).delete()

    def exists(self, name):
        return self._model().objects.filter(name=name).exists()

    def size(self, name):
        size = self._model().objects.filter(name=name).values_list("size", flat=True).first()
        if size is None:
            raise FileNotFoundError(f"No stored file named {name!r}.")
        return size

    def url(self, name):
        raise NotImplementedError("Stored documents are served only by views that check access.")

    def listdir(self, path):
        prefix = f"{path.rstrip('/')}/" if path else ""
        names = self._model().objects.filter(name__startswith=prefix).values_list("name", flat=True)
        dirs, files = set(), []
        for name in names:
            head, sep, tail = name[len(prefix):].partition("/")
            if sep:
                dirs.add(head)
            else:
                files.append(head)
        return sorted(dirs), sorted(files)


def billing_upload_to(instance, filename: str) -> str:
    """Private storage path of a billing document: billing/<org>/<kind>/<file>."""
    kind = type(instance).__name__.lower()
    return f"billing/{instance.organization_id}/{kind}/{filename}"
