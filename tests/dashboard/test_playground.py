"""The playground's stream endpoint through the real server: route() behind it, history left
behind, model HTML never trusted."""

from __future__ import annotations

import re

import httpx
import orjson
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from routerapp.models import ModelGroup, OptimizerTemplate, QueryRecord
from routerapp.observability.writer import writer
from tests.factories import create_ensemble, create_model, create_provider


@pytest.fixture
def models(upstream, live_url):
    provider = create_provider(name="up", base_url=upstream.base_url)
    dead = create_provider(name="dead", base_url=upstream.base_url)
    create_model("gpt-test", [(provider, "words=<script>alert(1)</script>_<b>bold</b>")])
    create_model("with-fallback", [(dead, "err=500")], num_retries=0, fallbacks=["gpt-test"])


@pytest.fixture
def staff(live_url):
    """An httpx client logged in as staff, carrying the CSRF token the page puts on <body>."""
    login = Client()
    login.force_login(User.objects.create_user("ops", is_staff=True))
    client = httpx.Client(base_url=live_url, timeout=30)
    client.cookies.set(settings.SESSION_COOKIE_NAME, login.cookies[settings.SESSION_COOKIE_NAME].value)
    page = client.get("/dashboard/playground/")
    assert page.status_code == 200
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page.text)[1]
    client.headers["X-CSRFToken"] = token
    yield client
    client.close()


def events(raw: bytes) -> list[tuple[str, dict]]:
    out = []
    for block in raw.decode().strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines["event"], orjson.loads(lines["data"])))
    return out


def stream(client: httpx.Client, body: dict) -> list[tuple[str, dict]]:
    response = client.post("/dashboard/playground/stream", json=body)
    assert response.status_code == 200 and response.headers["content-type"] == "text/event-stream"
    return events(response.content)


def test_it_streams_text_then_a_summary_with_the_fallback_path(models, staff, upstream):
    got = stream(
        staff,
        {
            "model": "with-fallback",
            "system": "terse",
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "again"},
            ],
            "temperature": 0.2,
            "max_tokens": 30,
        },
    )
    kinds = [name for name, _ in got]
    assert kinds[-1] == "summary" and set(kinds[:-1]) == {"text"} and len(kinds) > 2
    assert (
        "".join(data["text"] for name, data in got if name == "text")
        == "<script>alert(1)</script> <b>bold</b>"
    )
    summary = got[-1][1]
    html = summary["html"]
    assert "dead/err=500 (ProviderUnavailableError) → up/words=&lt;script&gt;" in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html  # the deployment label is escaped
    assert upstream.last["messages"][0] == {"role": "system", "content": "terse"}
    assert len(upstream.last["messages"]) == 4 and upstream.last["temperature"] == 0.2
    writer.flush()
    record = QueryRecord.objects.get(request_id=summary["request_id"])
    assert record.status == "ok" and record.fallback_used and record.stream and record.api_key_id is None


def test_an_unknown_model_ends_in_an_error_summary_and_a_record(models, staff):
    got = stream(staff, {"model": "nope", "messages": [{"role": "user", "content": "hi"}]})
    assert [name for name, _ in got] == ["summary"]
    assert got[0][1]["status"] == "error" and "ModelNotFoundError" in got[0][1]["html"]
    writer.flush()
    assert QueryRecord.objects.get().error_type == "ModelNotFoundError"


def test_a_bad_form_is_refused_and_recorded(models, staff):
    response = staff.post(
        "/dashboard/playground/stream", json={"model": "gpt-test", "messages": [], "temperature": 9}
    )
    assert response.status_code == 400
    assert "messages" in response.json()["error"]["message"]
    writer.flush()
    assert QueryRecord.objects.get().error_type == "InvalidRequestError"


def test_it_needs_a_staff_login_and_a_csrf_token(models, staff, live_url):
    page = httpx.get(f"{live_url}/dashboard/playground/")
    assert page.status_code == 302 and "/admin/login/" in page.headers["location"]
    anonymous = httpx.Client(base_url=live_url)
    anonymous.get("/admin/login/")  # a CSRF cookie, but no session
    token = anonymous.cookies["csrftoken"]
    refused = anonymous.post(
        "/dashboard/playground/stream", json={"model": "gpt-test"}, headers={"X-CSRFToken": token}
    )
    assert refused.status_code == 302 and "/admin/login/" in refused.headers["location"]
    del staff.headers["X-CSRFToken"]
    assert staff.post("/dashboard/playground/stream", json={"model": "gpt-test"}).status_code == 403


MATH = [{"role": "user", "content": "What is 17 * 23? Show your work."}]


@pytest.fixture
def math_template(transactional_db):
    # Transactional tests start from empty tables: the seeded template is made again here.
    OptimizerTemplate.objects.update_or_create(
        task_type="math", defaults={"instructions": "End with 'Final answer: N'.", "temperature": 0.0}
    )


def test_the_optimizer_toggles_are_honoured_and_the_panel_shows_what_applied(
    models, staff, upstream, math_template
):
    create_model("plain", [(ModelGroup.objects.get(name="gpt-test").deployments.get().provider, "ok")])
    on = stream(staff, {"model": "plain", "messages": MATH, "optimize": ["instructions", "params"]})
    assert upstream.last["messages"][0] == {"role": "system", "content": "End with 'Final answer: N'."}
    assert upstream.last["temperature"] == 0.0
    html = on[-1][1]["html"]
    assert re.search(r'class="pg-task">math <small>\(0\.\d\d\)', html)
    assert 'data-strategy="instructions"' in html and 'data-strategy="params"' in html

    ModelGroup.objects.filter(name="plain").update(optimize=["instructions"])
    off = stream(staff, {"model": "plain", "messages": MATH, "optimize": ["-instructions"]})
    assert upstream.last["messages"] == MATH and "temperature" not in upstream.last
    assert "none applied" in off[-1][1]["html"]

    bad = stream(staff, {"model": "plain", "messages": MATH, "optimize": ["turbo"]})
    assert bad[-1][1]["status"] == "error" and "unknown optimizer strategy" in bad[-1][1]["html"]
    writer.flush()
    records = QueryRecord.objects.filter(model="plain").order_by("created_at")
    assert [set(r.optimizations) for r in records] == [{"instructions", "params"}, set(), set()]


def test_an_ensemble_shows_its_members_and_which_one_won(upstream, live_url, staff):
    up = create_provider(name="up", base_url=upstream.base_url)
    create_model("a", [(up, "words=Paris")])
    create_model("b", [(up, "words=Paris")])
    create_model("c", [(up, "words=I_cannot_assist_with_this.")])
    create_ensemble("council", ["a", "b", "c"])
    got = stream(staff, {"model": "council", "messages": [{"role": "user", "content": "Capital of France?"}]})
    assert "".join(data["text"] for name, data in got if name == "text") == "Paris"
    html = got[-1][1]["html"]
    members = re.findall(r'<li class="pg-member( won)?"><span class="mono">(\w+)</span>', html)
    assert members == [(" won", "a"), ("", "b"), ("", "c")]
    assert html.count('class="pg-won"') == 1 and "refusal" in html


def test_thumbs_feedback_goes_through_the_api_with_the_staff_session(models, staff, live_url):
    got = stream(staff, {"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]})
    html = got[-1][1]["html"]
    url = re.search(r'class="pg-feedback" data-url="([^"]+)"', html)[1]
    request_id = got[-1][1]["request_id"]
    assert url == f"/api/queries/{request_id}/feedback"
    assert staff.post(url, json={"score": 1}).status_code == 200
    assert QueryRecord.objects.get(request_id=request_id).feedback_score == 1.0
    # Without the CSRF token the session is not enough.
    token = staff.headers.pop("X-CSRFToken")
    assert staff.post(url, json={"score": 0}).status_code in (401, 403)
    staff.headers["X-CSRFToken"] = token
    assert staff.post(url, json={"score": 0}).status_code == 200
    assert QueryRecord.objects.get(request_id=request_id).feedback_score == 0.0
    # Anonymous: refused.
    anonymous = httpx.post(f"{live_url}{url}", json={"score": 1})
    assert anonymous.status_code == 401
