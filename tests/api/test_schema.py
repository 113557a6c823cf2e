"""The committed OpenAPI schema is the one the code generates, and its docs page is served from
our own static files under our CSP."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

pytestmark = pytest.mark.django_db

SCHEMA = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"


def test_the_committed_schema_has_not_drifted():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert out.getvalue() == SCHEMA.read_text(), (
        "docs/openapi.yaml is out of date: run `make openapi` and commit it")


def test_the_schema_and_docs_need_a_member(client, world, api_as):
    assert client.get("/api/v1/schema/").status_code in (401, 403)
    assert client.get("/api/v1/docs/").status_code == 302  # to the login page
    schema = api_as(world.rep).get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/events/{id}/submit/" in schema.content


def test_the_docs_page_uses_only_our_static_files_and_no_inline_script(client, world):
    client.force_login(world.rep)
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    csp = page["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "http://" not in html.replace("http://testserver", "") and "https://" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "<script>" not in html  # scripts come from files: the CSP forbids inline ones
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert b"SwaggerUIBundle" in script.content
