"""Headless Chromium on the Batches page: a running batch's progress bar fills without a reload."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from tests.batches.helpers import request_line, upload_and_create, worker_thread
from tests.factories import create_key, create_model, create_provider
from tests.helpers import ARTIFACTS, CHROMIUM

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")


def test_the_progress_bar_of_a_running_batch_fills(browser, upstream, live_url, client_for):
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    create_model("slow", [(provider, "ok;delay=150")])
    User.objects.create_user("ops", password="a-long-test-password", is_staff=True)
    client = client_for(create_key(name="nightly"))
    batch = upload_and_create(client, [request_line(f"r{i}", "slow") for i in range(24)])

    page = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()
    page.goto(f"{live_url}/dashboard/batches/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_url("**/dashboard/batches/")
    bar = f"tr[data-batch='{batch.id}'] progress"
    assert page.get_attribute(bar, "value") == "0"
    assert "validating" in page.text_content(f"tr[data-batch='{batch.id}']")
    page.evaluate("window.__marker = 'same page'")

    settings.ROUTER["BATCH_CONCURRENCY"], before = 1, settings.ROUTER["BATCH_CONCURRENCY"]
    worker = worker_thread(batch.id)
    try:
        # Part-way first, then full: the 2 s polling moves the bar while the worker runs.
        page.wait_for_function(
            f'(v => v > 0 && v < 24)(Number(document.querySelector("{bar}").value))', timeout=30_000
        )
        page.wait_for_function(f'Number(document.querySelector("{bar}").value) === 24', timeout=30_000)
    finally:
        worker.join(60)
        settings.ROUTER["BATCH_CONCURRENCY"] = before
    page.wait_for_function(
        f"document.querySelector(\"tr[data-batch='{batch.id}']\").textContent.includes('completed')",
        timeout=10_000,
    )
    assert page.evaluate("window.__marker") == "same page"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-batches.png"), full_page=True)

    # The batch's own page: per-line outcomes and the output file to download.
    page.click(f"a[href='/dashboard/batches/{batch.id}/']")
    page.wait_for_url(f"**/dashboard/batches/{batch.id}/")
    assert page.locator("tr[data-item]").count() == 24
    assert page.locator(".item-succeeded").count() == 24
    with page.expect_download() as download:
        page.click("text=output")
    assert download.value.suggested_filename == f"{batch.id}_output.jsonl"
