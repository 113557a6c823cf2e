"""Production pieces tested in-process or with one subprocess: deploy checks, PDFs rendered from
the hashed (manifest) static files, the database document storage, and the real worker."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import override_settings

from billing.documents import document_render
from billing.models import SalesOrder
from core.pdf import StaticOnlyURLFetcher
from core.storage import DatabaseStorage
from tests.events.conftest import build_world
from tests.prod.conftest import ROOT, production_env

MINIMAL_PRODUCTION = {
    "SECRET_KEY": "a-production-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "fieldstock.example.com",
    "EMAIL_HOST": "smtp.example.com",
}


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def clean_env(**values) -> dict:
    import os

    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL="")
    env.update(values)
    return env


def test_check_deploy_passes_with_only_the_minimal_production_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING",
                    env=clean_env(**MINIMAL_PRODUCTION))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_behind_pgbouncer_the_replica_has_no_server_side_cursors_either():
    """Transaction pooling: a named cursor outliving its transaction would be looked for on
    another server connection, on the replica's pool as on the primary's (a CSV export reads
    the replica with iterator())."""
    code = ("from django.conf import settings as s; d = s.DATABASES; "
            "print(d['default']['DISABLE_SERVER_SIDE_CURSORS'], "
            "d['replica']['DISABLE_SERVER_SIDE_CURSORS'], "
            "d['replica']['OPTIONS']['prepare_threshold'])")
    urls = {"DATABASE_URL": "postgres://app@127.0.0.1:6432/fieldstock",
            "DATABASE_REPLICA_URL": "postgres://app@127.0.0.1:6433/fieldstock"}
    pooled = manage("shell", "-c", code, env=clean_env(
        **MINIMAL_PRODUCTION, **urls, DATABASE_POOLER="pgbouncer"))
    assert pooled.returncode == 0, pooled.stderr
    assert pooled.stdout.splitlines()[-1].split() == ["True", "True", "None"]
    direct = manage("shell", "-c", "from django.conf import settings as s; "
                    "print(s.DATABASES['replica'].get('DISABLE_SERVER_SIDE_CURSORS'))",
                    env=clean_env(**MINIMAL_PRODUCTION, **urls))
    assert direct.returncode == 0, direct.stderr
    assert direct.stdout.splitlines()[-1] == "False"


def test_plain_http_for_localhost_turns_the_redirect_off_but_keeps_hsts_configurable():
    code = ("from django.conf import settings as s; "
            "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER)")
    result = manage("shell", "-c", code, env=clean_env(
        **MINIMAL_PRODUCTION, SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="600",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == [
        "False", "600", "('HTTP_X_FORWARDED_PROTO',", "'https')"]
    default = manage("shell", "-c", code, env=clean_env(**MINIMAL_PRODUCTION))
    assert default.stdout.splitlines()[-1].split()[:2] == ["True", "31536000"]


def test_collectstatic_with_debug_off_builds_the_manifest(static_root):
    assert (static_root / "staticfiles.json").exists()
    assert list((static_root / "vendor" / "chartjs").glob("chart.umd.min.js.*.map"))


def _unhashed(url: str) -> str:
    """A static URL without ManifestStaticFilesStorage's hash (css/pdf.ce1106b36b4e.css is
    css/pdf.css)."""
    return re.sub(r"\.[0-9a-f]{12}(\.[a-z0-9]+)$", r"\1", url)


@pytest.mark.django_db
def test_documents_render_the_same_from_hashed_static_files(static_root, tmp_path):
    """With DEBUG off the PDF template links css/pdf.<hash>.css; the fetcher must read it."""
    world = build_world()
    event = world.event("stocking_order")
    world.add(event, world.devices(2))
    world.submit(event)  # in a test transaction: no on-commit render; render it here
    order = SalesOrder.objects.get(event=event)
    development = StaticOnlyURLFetcher()
    plain = document_render(order, url_fetcher=development)
    manifest = {
        "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage",
    }
    with override_settings(STATIC_ROOT=static_root, STORAGES={
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
        "staticfiles": manifest,
    }):
        storages._storages.clear()
        production = StaticOnlyURLFetcher()
        hashed = document_render(order, url_fetcher=production)
    storages._storages.clear()
    assert any("/static/css/pdf." in url and url.count(".") >= 3 for url in production.requested)
    assert production.refused == [] and development.refused == []
    # The same files, by their names without the hash. A thread keeps its font configuration
    # between documents (core.pdf.font_config), so a font already loaded from the same URL by an
    # earlier render is not fetched again: the plain run may fetch fewer, never others.
    assert {_unhashed(url) for url in development.requested} <= {
        _unhashed(url) for url in production.requested}

    def fonts(data: bytes) -> list[str]:
        path = tmp_path / "f.pdf"
        path.write_bytes(data)
        out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
        return sorted(line.split()[0].split("+")[-1] for line in out.splitlines()[2:])

    assert fonts(hashed) == fonts(plain) == ["DejaVu-Sans", "DejaVu-Sans-Bold"]


@pytest.mark.django_db
def test_database_storage_round_trip():
    storage = DatabaseStorage()
    name = storage.save("documents/SO-000001.pdf", ContentFile(b"%PDF-1.7 test"))
    assert storage.exists(name) and storage.size(name) == 13
    with storage.open(name) as handle:
        assert handle.read() == b"%PDF-1.7 test"
    again = storage.save("documents/SO-000001.pdf", ContentFile(b"other"))
    assert again != name  # never overwrites a stored document
    assert storage.listdir("documents") == ([], sorted([name.split("/")[-1],
                                                        again.split("/")[-1]]))
    storage.delete(name)
    assert not storage.exists(name)
    with pytest.raises(FileNotFoundError):
        storage.open(name)


@pytest.mark.django_db(transaction=True)
def test_the_real_worker_renders_a_submitted_sales_order(static_root, settings):
    """Tasks queued in the database (as in production) wait for ``db_worker``, which runs them."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    world = build_world()
    event = world.event("stocking_order")
    world.add(event, world.devices(2))
    world.submit(event)
    order = SalesOrder.objects.get(event=event)
    assert not order.sha256  # queued, not rendered in the request
    from django_tasks_db.models import DBTaskResult

    render = DBTaskResult.objects.filter(task_path="billing.tasks.document_render_and_store")
    assert render.filter(status="READY").count() == 1
    # Submit also queues the outbox's messages (webhooks): the worker runs those too.
    assert set(DBTaskResult.objects.filter(status="READY").values_list("task_path", flat=True)) == {
        "billing.tasks.document_render_and_store", "core.outbox.outbox_dispatch"}
    env = production_env(static_root, DOCUMENT_STORAGE="filesystem",
                         MEDIA_ROOT=str(settings.STORAGES["default"]["OPTIONS"]["location"]))
    result = manage("db_worker", "--batch", "--no-startup-delay", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    order.refresh_from_db()
    assert order.sha256 and order.pdf.name
    assert render.get().status == "SUCCESSFUL"
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


@pytest.mark.django_db(transaction=True)
def test_with_the_worker_down_the_event_page_says_preparing_and_a_download_renders(
    client, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    world = build_world()
    event = world.event("stocking_order")
    world.add(event, world.devices(1))
    world.submit(event)  # the render task waits in the database: no worker runs here
    client.force_login(world.admin)
    page = client.get(f"/events/{event.pk}/")
    assert "PDF being prepared" in page.content.decode()
    pdf = client.get(f"/events/{event.pk}/billing/sales-order.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    order = SalesOrder.objects.get(event=event)
    assert order.sha256  # rendered on demand, once, and stored
    assert "PDF being prepared" not in client.get(f"/events/{event.pk}/").content.decode()
