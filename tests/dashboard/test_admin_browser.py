"""The admin in a real headless Chromium: create a provider, its secret never shown again."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import User

from routerapp.models import Provider
from tests.helpers import CHROMIUM

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")


def test_create_a_provider_in_the_admin(browser, live_url):
    User.objects.create_superuser("root", "root@localhost", "a-long-test-password")
    page = browser.new_page(bypass_csp=True)
    page.goto(f"{live_url}/admin/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    page.click("a[href='/admin/routerapp/provider/add/']")
    page.fill("#id_name", "openai-prod")
    page.select_option("#id_kind", "openai")
    page.fill("#id_base_url", "https://api.example.com/v1")
    page.fill("#id_api_key", "sk-browser-secret-42")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/routerapp/provider/")
    assert "was added successfully" in page.text_content(".messagelist")
    row = page.locator("#result_list tbody tr", has_text="openai-prod")
    assert "stored (encrypted)" in row.text_content()
    provider = Provider.objects.get(name="openai-prod")
    assert provider.resolved_api_key() == "sk-browser-secret-42"
    page.click("text=openai-prod")
    assert page.input_value("#id_api_key") == ""  # write-only
    assert "sk-browser-secret-42" not in page.content()
    page.close()
