"""The admin manages providers and keys without ever showing a secret in clear."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from routerapp.models import ApiKey, Provider, QueryRecord, hash_key
from tests.factories import create_model, create_provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@localhost", "pw-123456")
    client.force_login(user)
    return client


def test_provider_secret_is_write_only(admin_client):
    response = admin_client.post(
        "/admin/routerapp/provider/add/",
        {
            "name": "openai",
            "kind": "openai",
            "base_url": "https://api.example.com/v1",
            "api_key": "sk-live-supersecret-123",
            "api_key_ref": "",
            "timeout_s": "60",
            "extra_headers": "{}",
            "options": "{}",
            "enabled": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    provider = Provider.objects.get(name="openai")
    assert provider.resolved_api_key() == "sk-live-supersecret-123"
    assert "supersecret" not in provider.api_key_encrypted
    for url in ("/admin/routerapp/provider/", f"/admin/routerapp/provider/{provider.pk}/change/"):
        page = admin_client.get(url).content.decode()
        assert "supersecret" not in page and provider.api_key_encrypted not in page


def test_new_api_key_is_shown_once_and_stored_hashed(admin_client):
    response = admin_client.post(
        "/admin/routerapp/apikey/add/",
        {"name": "team", "allowed_models": "[]", "enabled": "on"},
        follow=True,
    )
    page = response.content.decode()
    raw = page.split("will not be shown again): ")[1].split("<")[0].strip()
    key = ApiKey.objects.get(name="team")
    assert key.key_hash == hash_key(raw)
    listing = admin_client.get("/admin/routerapp/apikey/").content.decode()
    assert raw not in listing and key.key_hash not in listing


def test_history_pages_render(admin_client):
    provider = create_provider(name="sim", kind="simulated")
    create_model("m", [(provider, "x")])
    record = QueryRecord.objects.create(request_id="r1", model="m", status="ok")
    assert admin_client.get("/admin/routerapp/queryrecord/").status_code == 200
    assert admin_client.get(f"/admin/routerapp/queryrecord/{record.pk}/change/").status_code == 200
    assert admin_client.get("/admin/routerapp/modelgroup/").status_code == 200
