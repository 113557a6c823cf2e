"""Production as it runs: DEBUG off, collected static files, gunicorn, nginx, the worker.

These tests start real server processes against the test database (committed data: transactional
tests) and talk to them over HTTP. They need PostgreSQL and, for the full topology, nginx.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = quote(db.get("HOST") or "127.0.0.1", safe="")  # a unix socket's folder, encoded
    return f"postgres://{user}{password}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def production_env(static_root: Path, **extra) -> dict:
    """The environment of a production instance: DEBUG off, plain HTTP on localhost."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url(),
        DEBUG="0",
        # The test process signs sessions with the test key; the servers must accept them.
        SECRET_KEY=settings.SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
        STATIC_ROOT=str(static_root),
        DOCUMENT_STORAGE="database",
        TASKS_BACKEND="database",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def static_root(tmp_path_factory) -> Path:
    """``collectstatic`` with DEBUG off, as the production build runs it (hashed manifest)."""
    root = tmp_path_factory.mktemp("staticfiles")
    env = production_env(root, DATABASE_URL="")  # collectstatic connects to no database
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,  # minutes when loaded
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (root / "staticfiles.json").exists()
    return root


def wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    """Poll ``url`` until it answers, the server exits, or ``timeout`` passes (a deadline, not a
    wait: on a busy machine loading Django in each process can take a minute)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url}: the server exited:\n{log.read_text()[-10000:]}")
        try:
            if requests.get(url, timeout=10).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s:\n{log.read_text()[-10000:]}")


class Processes:
    """Server processes started by a test, stopped (SIGTERM, then SIGKILL) when it ends."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.running: list[subprocess.Popen] = []

    def start(self, name: str, args: list[str], env: dict) -> tuple[subprocess.Popen, Path]:
        log = self.tmp_path / f"{name}.log"
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append(process)
        return process, log

    def gunicorn(self, env: dict, name: str = "app") -> str:
        port = free_port()
        process, log = self.start(
            name,
            [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"],
            env,
        )
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/accounts/login/", process, log)
        return base

    def stop(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def processes(tmp_path, transactional_db):
    procs = Processes(tmp_path)
    yield procs
    procs.stop()
    connection.close()


def logged_in(base: str, user) -> requests.Session:
    """An HTTP client holding ``user``'s session (made by the test process) and a CSRF token."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    session = requests.Session()
    name = settings.SESSION_COOKIE_NAME
    session.cookies.set(name, client.cookies[name].value)
    response = session.get(f"{base}/events/", timeout=30)
    assert response.status_code == 200, response.status_code
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    session.headers["Referer"] = f"{base}/events/"
    return session


def needs_nginx():
    if shutil.which("nginx") or Path("/usr/sbin/nginx").exists():
        return
    # Never a skip: `make test` installs nginx first (scripts/system-deps), or stops and prints
    # the apt-get line; a run without it must say so, not pass without the production tests.
    pytest.fail("nginx is missing: run `make test` (it installs nginx-light as root) or "
                "apt-get install nginx-light")


def start_nginx(processes: Processes, tmp_path: Path, upstreams: list[str]) -> str:
    """nginx with deploy/nginx-site.conf.template in front of two instances (``host:port``), as
    scripts/serve-prod configures it; answers on the returned base URL."""
    needs_nginx()
    port = free_port()
    run = tmp_path / "nginx"
    run.mkdir()
    site = (ROOT / "deploy" / "nginx-site.conf.template").read_text()
    for name, value in {"APP1_ADDR": upstreams[0], "APP2_ADDR": upstreams[1],
                        "LISTEN_PORT": f"127.0.0.1:{port}",
                        "ACCESS_LOG": str(run / "access.log")}.items():
        site = site.replace("${" + name + "}", value)
    (run / "site.conf").write_text(site)
    (run / "nginx.conf").write_text(
        f"worker_processes 1;\npid {run}/nginx.pid;\nerror_log {run}/error.log warn;\n"
        "events { worker_connections 512; }\nhttp {\n"
        + "".join(f"    {kind}_temp_path {run}/{kind};\n"
                  for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        + f"    include {run}/site.conf;\n}}\n"
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process, log = processes.start(
        "nginx", [nginx, "-p", str(run), "-c", str(run / "nginx.conf"), "-g", "daemon off;"],
        dict(os.environ),
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/accounts/login/", process, log)
    return base
