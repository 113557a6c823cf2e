"""Security round two through the production topology (issue 22, findings 1 and 8):
``scripts/serve-prod`` (nginx, two instances) locks a login by the client's address, not nginx's,
so one client's wrong passwords never lock another's right one; nginx hides its version; the 400
page carries the security headers; gunicorn reached directly refuses a 60 MB body unread."""

from __future__ import annotations

import contextlib
import re
import socket

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from requests.adapters import HTTPAdapter

from tests.factories import AdminFactory
from tests.prod.conftest import production_env
from tests.prod.test_smoke import serve_prod  # noqa: F401 - the fixture

pytestmark = [pytest.mark.prod]

PASSWORD = "correct horse battery staple"
LIMIT = settings.AXES_FAILURE_LIMIT


class FromAddress(HTTPAdapter):
    """Connect from a chosen loopback address (127.0.0.2, …): another client, for nginx."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_from(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


def login(session: requests.Session, base: str, username: str, password: str,
          forwarded_for: str | None = None) -> requests.Response:
    page = session.get(f"{base}/accounts/login/", timeout=60)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    headers = {"Referer": f"{base}/accounts/login/"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for  # a client's own claim, never trusted
    return session.post(f"{base}/accounts/login/", timeout=60, allow_redirects=False,
                        headers=headers, data={"username": username, "password": password,
                                               "csrfmiddlewaretoken": token})


def test_one_clients_failures_never_lock_another_clients_right_password(serve_prod):  # noqa: F811
    base, _run_dir = serve_prod
    hasher = PBKDF2PasswordHasher()  # what production settings check (the tests use MD5)
    admin = AdminFactory(username="prod-admin")
    admin.password = hasher.encode(PASSWORD, hasher.salt())
    admin.save(update_fields=["password"])

    attacker = client_from("127.0.0.2")
    # Five wrong passwords for a made-up username, then for the admin, each claiming another
    # address in X-Forwarded-For: the admin is locked for this client only.
    for attempt in range(LIMIT):
        response = login(attacker, base, "made-up-user", "wrong",
                         forwarded_for=f"198.51.100.{attempt}")
        assert response.status_code in (200, 429)
    for attempt in range(LIMIT - 1):
        response = login(attacker, base, "prod-admin", "wrong",
                         forwarded_for=f"198.51.100.{attempt}")
        assert response.status_code == 200
        assert f"{LIMIT - 1 - attempt} attempt" in response.text
    assert login(attacker, base, "prod-admin", "wrong").status_code == 429
    assert login(attacker, base, "prod-admin", PASSWORD,
                 forwarded_for="203.0.113.50").status_code == 429  # a forged header won't help

    # Another client (another address, through the same nginx) logs in with the right password.
    colleague = client_from("127.0.0.3")
    response = login(colleague, base, "prod-admin", PASSWORD)
    assert response.status_code == 302, response.text[:500]
    assert colleague.get(f"{base}/events/", timeout=60).status_code == 200

    # nginx names itself without its version; the 400 page has the security headers.
    assert response.headers["Server"] == "nginx"
    refused = colleague.get(f"{base}/events/?q=a%00b", timeout=60)
    assert refused.status_code == 400
    for header in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options",
                   "Referrer-Policy", "Permissions-Policy"):
        assert header in refused.headers, header
    # nginx's own error page (a body over its 12 MB cap) shows no version either.
    host, port = base.removeprefix("http://").split(":")
    answer = raw_post(host, int(port), 13 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"Server: nginx\r\n" in answer and not re.search(rb"nginx/\d", answer), answer


def raw_post(host: str, port: int, length: int, *, send: int = 64 * 1024) -> bytes:
    """Announce a ``length``-byte multipart body, send only ``send`` bytes of it, and read the
    answer: a server that refuses without reading the body answers at once."""
    with socket.create_connection((host, port), timeout=60) as sock:
        sock.sendall(
            b"POST /accounts/login/ HTTP/1.1\r\n"
            + f"Host: {host}:{port}\r\n".encode()
            + b"Content-Type: multipart/form-data; boundary=xyz\r\n"
            + f"Content-Length: {length}\r\n\r\n".encode()
        )
        with contextlib.suppress(OSError):  # the server may close before taking it all
            sock.sendall(b"--xyz\r\n" + b"x" * send)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_gunicorn_reached_directly_refuses_a_60_mb_body_unread(processes, static_root):
    base = processes.gunicorn(production_env(static_root))
    host, port = base.removeprefix("http://").split(":")
    answer = raw_post(host, int(port), 60 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"X-Frame-Options: DENY" in answer and b"Content-Security-Policy" in answer
    # A request line over gunicorn's limit is refused by gunicorn itself.
    too_long = requests.get(f"{base}/accounts/login/?q={'a' * 9000}", timeout=60)
    assert too_long.status_code == 414
