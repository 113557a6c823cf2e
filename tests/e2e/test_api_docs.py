"""The API documentation page (Swagger UI) renders under our Content Security Policy: real
Chromium, every CSP violation the page reports (console and ``securitypolicyviolation``
events) collected, none allowed."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.mark.parametrize("width", [1280, 390])
def test_swagger_ui_renders_without_csp_violations(page, live_server, width):
    UserFactory(username="integrator", first_name="Ida")
    page.set_viewport_size({"width": width, "height": 900})
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(COLLECT_VIOLATIONS)
    login(page, live_server, "integrator", PASSWORD)
    response = page.goto(f"{live_server.url}/api/v1/docs/")
    assert "script-src" in response.headers["content-security-policy"]
    # Swagger UI fetched the schema and drew the operations, the kit endpoints among them.
    expect(page.get_by_role("heading", name="Fieldstock API")).to_be_visible()
    expect(
        page.locator(".opblock-summary-path", has_text="/api/v1/kits/{id}/check-in/")
    ).to_be_visible()
    # An opened operation draws its example response (syntax-highlighted) and "Try it out".
    page.locator("#operations-kits-kits_check_in_create .opblock-summary").click()
    expect(page.get_by_role("button", name="Try it out")).to_be_visible()
    expect(page.locator(".microlight, .highlight-code").first).to_be_visible()
    violations = page.evaluate("window.__cspViolations")
    csp_console = [text for text in console if "Content Security Policy" in text]
    assert violations == [] and csp_console == [], (violations, csp_console)
    # The stylesheet applied: the body's background is our static file's, not the default.
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(250, 250, 250)"
    shots = os.environ.get("FIELDSTOCK_SCREENSHOTS")
    if shots:
        page.screenshot(path=f"{shots}/api-docs-{width}.png", full_page=False)
        page.locator("#operations-kits-kits_check_in_create").screenshot(
            path=f"{shots}/api-docs-check-in-{width}.png"
        )
