"""Helpers for the billing tests: private storage in a temporary folder, PDFs read back."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from events.models import Event

PDF_MAGIC = b"%PDF-"


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    """Stored documents go to a throwaway folder, never to the project's private/ folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }
    return tmp_path / "private"


def storage_root() -> Path:
    """The folder the private storage writes to during this test."""
    from django.conf import settings

    return Path(settings.STORAGES["default"]["OPTIONS"]["location"])


def pdf_text(data: bytes, *, first: int | None = None, last: int | None = None) -> str:
    """The text of a PDF (or of pages first..last) as pdftotext reads it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.pdf"
        path.write_bytes(data)
        args = ["pdftotext", "-layout"]
        if first:
            args += ["-f", str(first)]
        if last:
            args += ["-l", str(last)]
        return subprocess.run(
            [*args, str(path), "-"], check=True, capture_output=True, text=True
        ).stdout


def pdf_pages(data: bytes) -> int:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.pdf"
        path.write_bytes(data)
        info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True,
                              text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def submit_rendered(world, event: Event, capture) -> Event:
    """Submit for billing and run the after-commit render, as a real request would."""
    with capture(execute=True):
        event = world.submit(event)
    return Event.objects.select_related("sales_order").get(pk=event.pk)


def billable_event(world, capture, *, n: int = 3, event_type: str = "case", **kwargs) -> Event:
    event = world.event(event_type, **kwargs)
    world.add(event, world.devices(n))
    return submit_rendered(world, event, capture)

