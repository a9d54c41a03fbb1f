"""Nobody is let in: every URL pattern needs authentication, forms need CSRF, pages send security headers.

The URL walk reads Django's resolver, so a route added later is covered without editing this file.
Requests go to the real ASGI server (the /v1 gate, Django's middleware, the admin, ninja), as an
anonymous client that even holds a valid CSRF token, so a refusal is the authentication's, not CSRF's.
"""

from __future__ import annotations

import re

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import create_key, create_model, create_provider

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Public on purpose: the login form and logging out nobody (no data either way), and the health
# endpoints for orchestrators' probes.
PUBLIC = (re.compile(r"^/admin/log(in|out)/$"), re.compile(r"^/health/"))
# Anonymous answers that carry no data: refused, sent to a login page, or no such route/method.
REFUSED = {401, 403, 404, 405}
CONVERTER_SAMPLES = {"int": "1", "str": "x", "slug": "x", "uuid": "00000000-0000-0000-0000-000000000000"}


def concrete(route: str) -> str:
    """A URL for a pattern, each parameter filled with a sample value."""
    route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: CONVERTER_SAMPLES.get(m[1] or "str", "x"), route)
    # Regex patterns (re_path, the admin's): named groups and the anchors.
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "x", route)
    return route.lstrip("^").rstrip("$").replace("\\", "")


def every_url(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    resolver = resolver or get_resolver()
    urls = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            urls += every_url(entry, route)
        elif isinstance(entry, URLPattern):
            urls.append("/" + concrete(route))
    return sorted(set(urls))


def test_the_walk_sees_every_interface():
    urls = every_url()
    assert len(urls) > 60
    for expected in ("/v1/chat/completions", "/api/keys", "/dashboard/", "/admin/", "/metrics"):
        assert expected in urls


@pytest.fixture
def anonymous(live_url):
    with httpx.Client(base_url=live_url, timeout=30, follow_redirects=False) as client:
        client.get("/admin/login/")  # a CSRF cookie, no session
        client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
        client.headers["Referer"] = live_url + "/"
        yield client


@pytest.fixture
def config(upstream, live_url):
    provider = create_provider(name="up", base_url=upstream.base_url)
    create_model("gpt-test", [(provider, "ok")])
    create_key(name="tenant")


def test_every_url_pattern_refuses_an_anonymous_client(config, anonymous, settings):
    settings.ROUTER["METRICS_TOKEN"] = "metrics-token-for-tests"  # enabled, so its gate is what answers
    let_in = []
    for url in every_url():
        if any(p.search(url) for p in PUBLIC):
            continue
        for method in METHODS:
            response = anonymous.request(method, url, json={})
            if response.status_code in REFUSED:
                continue
            if response.is_redirect:
                location = response.headers["location"]
                # The login page, or / → /dashboard/, which is itself refused.
                if "/login/" in location or (url == "/" and location == "/dashboard/"):
                    continue
            let_in.append(f"{method} {url} → {response.status_code} {response.text[:80]!r}")
    assert not let_in, "\n".join(let_in)


@pytest.fixture
def staff(live_url):
    login = Client()
    login.force_login(User.objects.create_user("ops", is_staff=True, is_superuser=True))
    with httpx.Client(base_url=live_url, timeout=30) as client:
        client.cookies.set(settings.SESSION_COOKIE_NAME, login.cookies[settings.SESSION_COOKIE_NAME].value)
        yield client


PAGES = [
    "/dashboard/",
    "/dashboard/latency/",
    "/dashboard/errors/",
    "/dashboard/history/",
    "/dashboard/playground/",
    "/dashboard/batches/",
    "/dashboard/ensembles/",
    "/dashboard/patterns/",
    "/admin/",
    "/admin/routerapp/provider/add/",
    "/admin/routerapp/apikey/add/",
    "/admin/routerapp/modelgroup/add/",
]


def test_every_post_form_carries_a_csrf_token_and_posts_without_one_are_refused(config, staff):
    for url in PAGES:
        page = staff.get(url)
        assert page.status_code == 200, url
        for form in re.findall(r"<form\b[^>]*>.*?</form>", page.text, flags=re.S | re.I):
            if re.search(r'method="post"', form, flags=re.I):
                assert 'name="csrfmiddlewaretoken"' in form, (url, form[:200])
        # htmx requests and the playground's fetch send the token from <body hx-headers>.
        if url.startswith("/dashboard/"):
            assert '"X-CSRFToken": "' in page.text, url
    # A logged-in session is not enough without the token.
    for url in ("/admin/routerapp/apikey/add/", "/dashboard/playground/stream", "/admin/logout/"):
        assert staff.post(url, data={"name": "sneaky"}).status_code == 403, url


def test_pages_and_apis_send_security_headers(config, staff, live_url):
    key = create_key(name="headers")
    responses = {url: staff.get(url) for url in PAGES}
    responses["/v1/models"] = httpx.get(f"{live_url}/v1/models", headers={"authorization": f"Bearer {key}"})
    responses["/v1/chat/completions (error)"] = httpx.get(f"{live_url}/v1/chat/completions")
    responses["/api/keys"] = staff.get("/api/keys")
    for url, response in responses.items():
        assert response.headers.get("x-content-type-options") == "nosniff", url
        if not url.startswith("/v1"):
            assert response.headers.get("referrer-policy") == "same-origin", url
            assert response.headers.get("x-frame-options") == "DENY", url
    for url in (u for u in PAGES if u.startswith("/dashboard/")):
        policy = responses[url].headers.get("content-security-policy", "")
        script_src = re.search(r"script-src ([^;]*)", policy)
        assert script_src and script_src[1].split() == ["'self'"], url  # no inline script, no eval
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy, url


def test_a_management_call_without_credentials_is_unauthenticated_and_a_session_still_needs_csrf(
    config, live_url, staff
):
    # No key and no session: nothing to forge, so the answer is 401 (which credentials are missing),
    # not ninja's "CSRF check Failed" 403.
    with httpx.Client(base_url=live_url, timeout=30) as client:
        for method, url in (
            ("POST", "/api/keys"),
            ("DELETE", "/api/keys/1"),
            ("POST", "/api/optimizer/analyze"),
        ):
            response = client.request(method, url, json={})
            assert response.status_code == 401, (method, url, response.text)
            assert response.json()["error"]["type"] == "authentication_error"
            assert response.headers["x-request-id"]
    # A browser session without its CSRF token is still refused.
    response = staff.post("/api/keys", json={"name": "x"})
    assert response.status_code == 403 and "CSRF" in response.json()["error"]["message"]
