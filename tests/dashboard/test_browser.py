"""A real headless Chromium: log in, watch the overview, send traffic, see it update without a reload."""

from __future__ import annotations

import os
from urllib.parse import urlparse

import openai
import pytest
from django.contrib.auth.models import User

from tests.factories import create_key, create_model, create_provider
from tests.helpers import ARTIFACTS, CHROMIUM

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
)


@pytest.fixture
def traffic_setup(upstream, live_url):
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    create_model("gpt-test", [(provider, "ok;delay=20")])
    create_model("broken", [(provider, "err=500")], num_retries=0)
    User.objects.create_user("ops", password="a-long-test-password", is_staff=True)
    return create_key()


def send_traffic(sdk: openai.OpenAI, *, ok: int, failing: int) -> None:
    for _ in range(ok):
        sdk.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hello"}])
    for _ in range(failing):
        with pytest.raises(openai.APIStatusError):
            sdk.chat.completions.create(model="broken", messages=[{"role": "user", "content": "hello"}])


def test_overview_updates_live_while_traffic_flows(browser, traffic_setup, live_url, client_for):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    hosts = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).netloc))

    page.goto(f"{live_url}/dashboard/?window=5m")
    assert "/admin/login/" in page.url  # the dashboard needs a login
    page.fill("#id_username", "ops")
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_url("**/dashboard/?window=5m")
    assert page.text_content("#stat-requests") == "0"
    assert "No errors in this window." in page.text_content("#error-list")
    page.evaluate("window.__marker = 'same page'")

    send_traffic(client_for(traffic_setup), ok=6, failing=3)

    # The 3 s polling brings the numbers in; no reload, no navigation.
    page.wait_for_function(
        "document.querySelector('#stat-requests').textContent.trim() === '9'", timeout=15_000
    )
    page.wait_for_function(
        "document.querySelector('#error-list').textContent.includes('ProviderUnavailableError')",
        timeout=15_000,
    )
    assert page.text_content("#stat-error-rate").strip() == "33.3%"
    assert "up/err=500" in page.text_content("#error-list")
    assert page.evaluate("window.__marker") == "same page"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert hosts == {urlparse(live_url).netloc}  # htmx and the stylesheet come from this server: no CDN

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-overview.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "dashboard-overview-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing forces sideways scrolling

    # Drill down: the error group, then one failing request and its waterfall.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("#error-list a")
    page.wait_for_url("**/dashboard/errors/*/")
    page.click("table a.mono")
    page.wait_for_url("**/dashboard/history/*/")
    assert page.locator(".wf-bar.wf-error").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "dashboard-request.png"), full_page=True)
    context.close()


def test_the_dashboard_works_under_its_content_security_policy(browser, traffic_setup, live_url, client_for):
    # The other browser tests bypass the CSP, because Playwright's evaluate() and wait_for_function()
    # are eval to the page; this one keeps it on and uses only locators, which run outside the page.
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    response = page.goto(f"{live_url}/dashboard/?window=5m")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_url("**/dashboard/?window=5m")
    response = page.reload()
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    send_traffic(client_for(traffic_setup), ok=2, failing=1)
    expect(page.locator("#stat-requests")).to_have_text("3", timeout=15_000)  # htmx polling swapped it in
    page.goto(f"{live_url}/dashboard/playground/")
    expect(page.locator("#playground")).to_be_visible()
    assert not violations, violations


def test_a_hidden_tab_stops_polling_and_a_visible_one_polls_again(browser, traffic_setup, live_url):
    # static/dashboard/poll.js cancels a data-poll-visible panel's request while the tab is hidden.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_url}/dashboard/?window=5m")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_url("**/dashboard/?window=5m")
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if r.headers.get("hx-request") else None)
    page.wait_for_timeout(4_000)  # one 3 s period: the visible overview polls
    assert polls
    page.evaluate(
        "Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'})"
    )
    page.wait_for_timeout(500)  # a request already on its way may land
    polls.clear()
    page.wait_for_timeout(7_000)  # two periods
    assert polls == []
    page.evaluate(
        "Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'})"
    )
    page.wait_for_timeout(4_000)
    assert polls
    context.close()
