"""Ensembles on the dashboard: the Ensembles page and the members side by side in the history detail."""

from __future__ import annotations

import re

import httpx
import pytest
from django.contrib.auth.models import User

from tests.factories import create_ensemble, create_key, create_model, create_provider
from tests.helpers import flush_history

MATH = [{"role": "user", "content": "What is 17 plus 25 times 2?"}]


@pytest.fixture
def traffic(upstream, live_url):
    up = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    for name, upstream_model in {
        "a": "words=Paris",
        "b": "words=Paris",
        "c": "words=I_cannot_assist_with_this.",
    }.items():
        create_model(name, [(up, upstream_model, {"input_cost_per_mtok": 1, "output_cost_per_mtok": 2})])
    create_ensemble("council", ["a", "b", "c"])
    key = create_key()
    ids = []
    for _ in range(3):
        response = httpx.post(
            f"{live_url}/v1/chat/completions",
            headers={"authorization": f"Bearer {key}"},
            json={"model": "council", "messages": MATH},
            timeout=30,
        )
        assert response.status_code == 200
        ids.append(response.headers["x-request-id"])
    flush_history()
    return ids


@pytest.fixture
def staff(client, transactional_db):
    client.force_login(User.objects.create_user("ops", password="pw-for-tests", is_staff=True))
    return client


def text(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))


def test_the_ensembles_page_shows_requests_agreement_winners_and_cost(traffic, staff):
    page = staff.get("/dashboard/ensembles/")
    assert page.status_code == 200
    body = text(page.content)
    assert "council" in body and "vote" in body
    assert re.search(r"Requests \(24h\) 3\b", body)
    # The two kept members agree every time: unanimous among the kept answers.
    assert "Agreement rate 100.0%" in body
    assert "Dropped answers: refusal 3" in body
    assert re.search(r"\d+\.\d× a, the member that wins most", body)
    partial = staff.get("/dashboard/ensembles/?window=1h", headers={"HX-Request": "true"})
    assert b"<html" not in partial.content and b"council" in partial.content


def test_the_history_detail_shows_the_members_side_by_side(traffic, staff):
    page = staff.get(f"/dashboard/history/{traffic[0]}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('<article class="member') == 3
    assert 'class="member chosen"' in html
    assert "dropped: refusal" in html
    assert "Paris" in html
    body = text(page.content)
    assert "Member" in body and re.search(r"\b(a|b|c)\b up/words", body)


def test_the_ensembles_page_is_staff_only(client, db):
    assert client.get("/dashboard/ensembles/").status_code == 302
