"""The production topology of docker-compose.yml, started by ``scripts/serve-prod``: nginx in front
of two gunicorn instances with DEBUG off, the background worker, documents in the database.

A person logs in through nginx, opens a page, gets a hashed static file, submits a stocking order;
the worker renders its sales order, which is styled (DejaVu Sans embedded, no serif fallback).
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time

import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from billing.models import SalesOrder
from core.models import StoredFile
from tests.events.conftest import build_world
from tests.prod.conftest import ROOT, free_port, needs_nginx, production_env, wait_until_up

pytestmark = pytest.mark.prod

PASSWORD = "correct horse battery staple"


@pytest.fixture
def serve_prod(processes, static_root, tmp_path):
    needs_nginx()
    port, app1, app2, bouncer = free_port(), free_port(), free_port(), free_port()
    env = production_env(static_root, PORT=str(port), APP_PORTS=f"{app1} {app2}",
                         RUN_DIR=str(tmp_path / "run"), APP_DB_ROLE="fieldstock_app_smoke",
                         APP_DB_PASSWORD="smoke-test-app-role", PGBOUNCER_PORT=str(bouncer),
                         LOG_LEVEL="INFO")
    process, log = processes.start("serve-prod", [str(ROOT / "scripts" / "serve-prod")], env)
    base = f"http://127.0.0.1:{port}"
    # A backstop only: serve-prod collects static files and migrates, then gives its processes
    # READY_TIMEOUT (300 s) to answer and exits with their logs if they don't, or at once if
    # one ends. On a loaded machine startup took over a minute.
    wait_until_up(f"{base}/accounts/login/", process, log, timeout=600)
    yield base, tmp_path / "run"
    process.send_signal(signal.SIGTERM)  # the script stops nginx, both instances and the worker
    assert process.wait(timeout=120) == 0, log.read_text()[-2000:]
    assert "serve-prod: stopped" in log.read_text()


def pdffonts(data: bytes, tmp_path) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                          check=True).stdout


def test_production_topology_serves_pages_static_files_and_styled_documents(
    serve_prod, tmp_path
):
    base, run_dir = serve_prod
    world = build_world()
    hasher = PBKDF2PasswordHasher()  # what production settings check (the tests use MD5)
    world.admin.password = hasher.encode(PASSWORD, hasher.salt())
    world.admin.save(update_fields=["password"])
    draft = world.event("stocking_order")
    world.add(draft, world.devices(3))

    browser = requests.Session()
    login = browser.get(f"{base}/accounts/login/", timeout=30)
    assert login.status_code == 200
    assert login.headers["Content-Security-Policy"].startswith("default-src 'self'")
    # DEBUG off: {% static %} names the hashed file of the manifest, served for a year.
    css = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', login.text)
    assert css, "no hashed stylesheet link on the login page"
    static = browser.get(base + css.group(1), timeout=30)
    assert static.status_code == 200 and "max-age=315360000" in static.headers["Cache-Control"]
    assert browser.get(f"{base}/static/css/app.css", timeout=30).status_code == 200

    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    signed_in = browser.post(
        f"{base}/accounts/login/", timeout=60, allow_redirects=False,
        data={"username": world.admin.username, "password": PASSWORD,
              "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
    )
    assert signed_in.status_code == 302, signed_in.text[:500]
    events_page = browser.get(f"{base}/events/", timeout=30)
    assert events_page.status_code == 200 and draft.name in events_page.text

    detail = browser.get(f"{base}/events/{draft.pk}/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', detail.text).group(1)
    submitted = browser.post(
        f"{base}/events/{draft.pk}/submit/", allow_redirects=False, timeout=60,
        data={"signature_name": "Ada Admin", "attest": "on", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/events/{draft.pk}/"},
    )
    assert submitted.status_code == 302, submitted.text[:500]
    request_id = submitted.headers["X-Request-ID"]  # nginx's $request_id, passed to the app
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)

    order = SalesOrder.objects.get(event=draft)
    deadline = time.monotonic() + 300  # polled: a quiet machine renders it in a second or two
    while not order.sha256 and time.monotonic() < deadline:  # the worker renders it
        time.sleep(0.5)
        order.refresh_from_db()
    assert order.sha256, (run_dir / "worker.log").read_text()[-2000:]
    assert StoredFile.objects.filter(name=order.pdf.name).exists()  # in the shared database
    # One request id across nginx's access log, the app's JSON log lines and the worker's task.
    assert f"rid={request_id}" in (run_dir / "nginx" / "access.log").read_text()
    app_lines = [json.loads(line) for log in ("app1.log", "app2.log")
                 for line in (run_dir / log).read_text().splitlines() if line.startswith("{")]
    assert any(line["request_id"] == request_id and line["message"] == "task enqueued"
               for line in app_lines)
    worker_lines = [json.loads(line) for line in (run_dir / "worker.log").read_text().splitlines()
                    if line.startswith("{")]
    assert any(line["request_id"] == request_id for line in worker_lines), worker_lines[-5:]

    page = browser.get(f"{base}/events/{draft.pk}/", timeout=30)
    assert order.number in page.text and "PDF being prepared" not in page.text
    pdf = browser.get(f"{base}/events/{draft.pk}/billing/sales-order.pdf", timeout=60)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    fonts = pdffonts(pdf.content, tmp_path)
    assert "DejaVu-Sans" in fonts, fonts
    assert "Serif" not in fonts and "Times" not in fonts, fonts
    embedded = [line.split()[-5] for line in fonts.splitlines()[2:]]
    assert embedded and set(embedded) == {"yes"}, fonts
    # The instances and the worker connect as the least-privilege role, through pgbouncer (whose
    # server connections stay open); the test process's own connections are the owner's.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND usename = %s",
                       ["fieldstock_app_smoke"])
        assert cursor.fetchone()[0] >= 1
    assert "pool_mode = transaction" in (run_dir / "pgbouncer" / "pgbouncer.ini").read_text()
    # Health endpoints through nginx; the metrics are not served to a client behind a proxy.
    assert browser.get(f"{base}/healthz", timeout=30).json() == {"status": "ok"}
    assert browser.get(f"{base}/readyz", timeout=30).json()["status"] == "ready"
    assert browser.get(f"{base}/metrics", timeout=30).status_code == 403
    # Straight to each instance (this machine): the metrics of its worker processes, together.
    site = (run_dir / "nginx" / "site.conf").read_text()
    instances = re.findall(r"server (127\.0\.0\.1:\d+)", site)
    assert len(instances) == 2
    counted = 0
    for address in instances:
        metrics = requests.get(f"http://{address}/metrics", timeout=30)
        assert metrics.status_code == 200
        counted += sum(float(line.split()[-1]) for line in metrics.text.splitlines()
                       if line.startswith('fieldstock_request_seconds_count{method="POST",'
                                          'view="billing:submit"}'))
    assert counted == 1


def test_serve_prod_stops_at_once_and_shows_the_logs_when_a_process_cannot_start(
    processes, static_root, tmp_path
):
    """A process that ends before the app answers (here both instances: their ports are taken)
    fails serve-prod without waiting out READY_TIMEOUT, and the logs it prints say why."""
    needs_nginx()
    with socket.socket() as app1, socket.socket() as app2:
        for taken in (app1, app2):
            taken.bind(("127.0.0.1", 0))
            taken.listen()
        env = production_env(static_root, PORT=str(free_port()),
                             APP_PORTS=f"{app1.getsockname()[1]} {app2.getsockname()[1]}",
                             RUN_DIR=str(tmp_path / "run"), APP_DB_ROLE="fieldstock_app_smoke",
                             APP_DB_PASSWORD="smoke-test-app-role", READY_TIMEOUT="900")
        process, log = processes.start("serve-prod", [str(ROOT / "scripts" / "serve-prod")], env)
        assert process.wait(timeout=600) == 1, log.read_text()[-10000:]
    text = log.read_text()
    assert "ended before the app answered" in text, text[-10000:]
    assert "app1.log" in text and "Connection in use" in text, text[-10000:]  # gunicorn's words
    assert "serve-prod: stopped" in text
