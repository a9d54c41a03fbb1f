"""The playground in a real headless Chromium: log in, stream an answer, compare models side by side."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import User

from routerapp.models import OptimizerTemplate, QueryRecord
from routerapp.observability.writer import writer
from tests.factories import create_model, create_provider
from tests.helpers import ARTIFACTS, CHROMIUM

WORDS = "one two three four five six seven eight nine ten eleven twelve"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")

SLOW = "chunk_delay=120;words=" + WORDS.replace(" ", "_")


@pytest.fixture
def setup(upstream, live_url):
    provider = create_provider(name="up", base_url=upstream.base_url)
    dead = create_provider(name="dead", base_url=upstream.base_url)
    create_model("slow", [(provider, SLOW)])
    create_model("code", [(provider, "words=Here:_```python\nprint('<b>hi</b>')\n```_done")])
    create_model("shaky", [(dead, "err=500")], num_retries=0, fallbacks=["code"])
    User.objects.create_user("ops", password="a-long-test-password", is_staff=True)


def log_in(page, live_url: str) -> None:
    page.goto(f"{live_url}/dashboard/playground/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", "ops")
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_url("**/dashboard/playground/")


def test_an_answer_streams_in_and_the_panel_shows_how_it_was_served(browser, setup, live_url, upstream):
    OptimizerTemplate.objects.update_or_create(
        task_type="code", defaults={"instructions": "One fenced block."}
    )
    page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    log_in(page, live_url)
    page.select_option("#pg-model-1", "slow")
    page.fill("#pg-system", "You write Python.")
    page.fill("#pg-messages .pg-content", "Write a Python function that adds two numbers.")
    page.fill("#pg-temperature", "0.3")
    page.fill("#pg-max-tokens", "64")
    # Log every change of the answer, to see it grow piece by piece before the summary arrives.
    page.evaluate(
        """() => {
          window.__seen = [];
          new MutationObserver(() => {
            const column = document.querySelector('.pg-column');
            if (!column) return;
            window.__seen.push([column.querySelector('.pg-answer').textContent,
                                !!column.querySelector('.pg-facts')]);
          }).observe(document.getElementById('pg-results'), {subtree: true, childList: true, characterData: true});
        }"""
    )
    page.select_option("#pg-opt-instructions", "on")
    page.select_option("#pg-opt-cache", "off")
    page.click("#pg-send")
    page.wait_for_selector(".pg-column .pg-facts", timeout=20_000)
    seen = page.evaluate("window.__seen")
    before_summary = [text for text, done in seen if text and not done]
    assert len(set(before_summary)) >= 5  # many partial answers...
    assert all(
        b.startswith(a) for a, b in zip(before_summary, before_summary[1:], strict=False)
    )  # ...each growing
    assert page.text_content(".pg-answer").strip() == WORDS
    assert page.text_content(".pg-deployment").strip() == f"up/{SLOW}"
    facts = page.text_content(".pg-facts")
    assert "Latency" in facts and "First token" in facts and "10 in · 12 out" in facts and "$" in facts
    writer.flush()
    record = QueryRecord.objects.get(request_id=page.get_attribute(".pg-facts", "data-request-id"))
    assert record.status == "ok" and record.model == "slow" and record.ttft_ms is not None
    # The detected task type and the toggled strategy, honoured upstream and shown.
    assert page.text_content(".pg-task").startswith("code")
    assert page.text_content(".pg-optimizations").strip() == "instructions task_type=code"
    assert upstream.last["messages"][0] == {
        "role": "system",
        "content": "You write Python.\n\nOne fenced block.",
    }
    assert set(record.optimizations) == {"instructions"}

    # Thumbs up: the feedback is stored on the request.
    page.click(".pg-feedback button[aria-label='Thumbs up']")
    page.wait_for_selector(".pg-feedback[data-recorded='1']", timeout=10_000)
    assert page.get_attribute(".pg-feedback button[aria-label='Thumbs up']", "aria-pressed") == "true"
    record.refresh_from_db()
    assert record.feedback_score == 1.0 and record.feedback_at is not None

    # Multi-turn: continue with the answer, and the next request carries both turns.
    page.click(".pg-continue")
    assert page.locator("#pg-messages .pg-message").count() == 3
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground.png"), full_page=True)
    page.close()


def test_compare_mode_answers_side_by_side_and_model_html_stays_text(browser, setup, live_url, upstream):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    log_in(page, live_url)
    page.fill("#pg-messages .pg-content", "show me code")
    page.check("#pg-compare")
    page.select_option("#pg-model-1", "code")
    page.select_option("#pg-model-2", "shaky")
    page.select_option("#pg-model-3", "slow")
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    page.click("#pg-send")
    page.wait_for_function("document.querySelectorAll('.pg-column .pg-facts').length === 3", timeout=20_000)
    columns = page.locator(".pg-column")
    assert [columns.nth(i).locator(".pg-column-model").text_content() for i in range(3)] == [
        "code",
        "shaky",
        "slow",
    ]
    boxes = [columns.nth(i).bounding_box() for i in range(3)]
    assert boxes[0]["y"] == boxes[1]["y"] == boxes[2]["y"]  # side by side
    # The code block is a <pre><code>, its HTML shown as text, never parsed.
    code = columns.nth(0).locator(".pg-answer pre code")
    assert code.text_content().strip() == "print('<b>hi</b>')"
    assert code.get_attribute("data-language") == "python"
    assert page.locator(".pg-answer b").count() == 0
    # The fallback path of the one that failed over.
    shaky = columns.nth(1)
    assert "dead/err=500 (ProviderUnavailableError) → up/" in shaky.locator(".pg-path").text_content()
    assert shaky.locator(".pg-attempts li").count() == 2
    writer.flush()
    assert sorted(QueryRecord.objects.values_list("model", flat=True)) == ["code", "shaky", "slow"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground-compare.png"), full_page=True)
    page.close()
