"""The admin manages providers and keys without ever showing a secret in clear."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from routerapp.models import (
    ApiKey,
    Attempt,
    Deployment,
    ErrorGroup,
    ModelGroup,
    OptimizerPattern,
    Provider,
    QuarantinedRecord,
    QueryRecord,
    Span,
    hash_key,
)
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
        "/admin/routerapp/apikey/add/", {"name": "team", "allowed_models": "[]", "enabled": "on"}
    )
    # Shown on the response to the POST itself: no redirect through the (unencrypted) messages cookie.
    assert response.status_code == 200, response.content[:2000]
    page = response.content.decode()
    raw = page.split('id="new-api-key"')[1].split(">")[1].split("<")[0].strip()
    key = ApiKey.objects.get(name="team")
    assert key.key_hash == hash_key(raw)
    assert "no-store" in response["Cache-Control"]
    assert raw not in str(response.cookies) and raw not in str(admin_client.cookies)
    assert all(raw not in value for value in response.headers.values())
    for url in ("/admin/routerapp/apikey/", f"/admin/routerapp/apikey/{key.pk}/change/", "/admin/"):
        page = admin_client.get(url).content.decode()
        assert raw not in page and key.key_hash not in page


def test_admin_pages_mask_secrets_in_stored_text(admin_client):
    provider = create_provider(name="up", base_url="http://127.0.0.1:9/v1")
    provider.set_api_key("hunter2-provider-secret")  # not key-shaped: masked because it is this provider's
    provider.save()
    group = create_model("m", [(provider, "x")])
    deployment = group.deployments.get()
    leak = "echo: Authorization: Bearer sk-live-abcdef0123456789 and hunter2-provider-secret"
    Deployment.objects.filter(pk=deployment.pk).update(health_error=leak)
    record = QueryRecord.objects.create(
        request_id="r1",
        model="m",
        status="error",
        error_message=leak,
        request_body='{"messages": [{"role": "user", "content": "my key is sk-live-abcdef0123456789"}]}',
        response_body=leak,
    )
    attempt = Attempt.objects.create(query=record, deployment=deployment, status="error", error_message=leak)
    span = Span.objects.create(
        query=record, position=0, name="attempt", start_ms=0, duration_ms=1, attributes={"error": leak}
    )
    group_row = ErrorGroup.objects.create(
        fingerprint="f",
        error_type="AuthenticationError",
        message=leak[:300],
        sample_message=leak,
        first_seen=timezone.now(),
        last_seen=timezone.now(),
    )
    quarantined = QuarantinedRecord.objects.create(request_id="r2", draft={"error_message": leak}, error=leak)
    pages = [
        f"/admin/routerapp/queryrecord/{record.pk}/change/",
        f"/admin/routerapp/attempt/{attempt.pk}/change/",
        f"/admin/routerapp/span/{span.pk}/change/",
        "/admin/routerapp/errorgroup/",
        f"/admin/routerapp/errorgroup/{group_row.pk}/change/",
        f"/admin/routerapp/deployment/{deployment.pk}/change/",
        "/admin/routerapp/quarantinedrecord/",
        f"/admin/routerapp/quarantinedrecord/{quarantined.pk}/change/",
    ]
    for url in pages:
        response = admin_client.get(url)
        page = response.content.decode()
        assert response.status_code == 200, url
        assert "sk-live-abcdef0123456789" not in page and "hunter2-provider-secret" not in page, url
        assert "***" in page, url


def test_quarantined_records_are_read_only_in_the_admin(admin_client):
    row = QuarantinedRecord.objects.create(request_id="r9", draft={"prompt_tokens": -5}, error="out of range")
    page = admin_client.get(f"/admin/routerapp/quarantinedrecord/{row.pk}/change/").content.decode()
    assert "out of range" in page and "prompt_tokens" in page
    assert 'name="_save"' not in page
    assert admin_client.get("/admin/routerapp/quarantinedrecord/add/").status_code == 403


def test_history_pages_render(admin_client):
    provider = create_provider(name="sim", kind="simulated")
    create_model("m", [(provider, "x")])
    record = QueryRecord.objects.create(request_id="r1", model="m", status="ok")
    assert admin_client.get("/admin/routerapp/queryrecord/").status_code == 200
    assert admin_client.get(f"/admin/routerapp/queryrecord/{record.pk}/change/").status_code == 200
    assert admin_client.get("/admin/routerapp/modelgroup/").status_code == 200


def results(response) -> str:
    """The change list's result table, without the filter sidebar."""
    page = response.content.decode()
    start = page.index('id="result_list"')
    return page[start : page.index("</table>", start)]


def test_learned_patterns_are_listed_filtered_searched_and_read_only(admin_client):
    provider = create_provider(name="sim", kind="simulated")
    cheap = create_model("fast", [(provider, "sim-small")]).deployments.get()
    dear = create_model("smart", [(provider, "sim-large")]).deployments.get()
    OptimizerPattern.objects.create(pattern="task:code", deployment=cheap, count=40, quality_mean=0.61)
    row = OptimizerPattern.objects.create(pattern="task:math", deployment=dear, count=12, quality_mean=0.93)
    listing = admin_client.get("/admin/routerapp/optimizerpattern/").content.decode()
    assert "task:code" in listing and "task:math" in listing and "0.93" in listing and "smart" in listing
    assert "By pattern" in listing or "By Pattern" in listing  # the filters
    searched = results(admin_client.get("/admin/routerapp/optimizerpattern/?q=sim-large"))
    assert "task:math" in searched and "task:code" not in searched
    filtered = results(
        admin_client.get(
            f"/admin/routerapp/optimizerpattern/?deployment__model_group__id__exact={cheap.model_group_id}"
        )
    )
    assert "task:code" in filtered and "task:math" not in filtered
    # Learned numbers are the learning task's: shown, never edited; a row may be deleted (forgotten).
    page = admin_client.get(f"/admin/routerapp/optimizerpattern/{row.pk}/change/").content.decode()
    assert "0.93" in page and 'name="_save"' not in page and 'name="quality_mean"' not in page
    refused = admin_client.post(
        f"/admin/routerapp/optimizerpattern/{row.pk}/change/", {"quality_mean": "1.0", "count": "1"}
    )
    assert refused.status_code == 403
    row.refresh_from_db()
    assert row.quality_mean == 0.93
    assert admin_client.get("/admin/routerapp/optimizerpattern/add/").status_code == 403
    deleted = admin_client.post(f"/admin/routerapp/optimizerpattern/{row.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302 and not OptimizerPattern.objects.filter(pk=row.pk).exists()


def model_group_form(**fields) -> dict:
    form = {
        "name": "fast",
        "strategy": "simple-shuffle",
        "fallbacks": "[]",
        "context_window_fallbacks": "[]",
        "content_policy_fallbacks": "[]",
        "cost_weight": "0.1",
        "latency_weight": "0",
        "judge_sample_rate": "0",
        "enabled": "on",
        "deployments-TOTAL_FORMS": "0",
        "deployments-INITIAL_FORMS": "0",
    }
    return form | fields


def test_model_admin_refuses_an_unknown_strategy(admin_client):
    response = admin_client.post("/admin/routerapp/modelgroup/add/", model_group_form(strategy="psychic"))
    assert response.status_code == 200  # the form again, with the error
    assert "strategy &#x27;psychic&#x27; is not one of" in response.content.decode()
    assert not ModelGroup.objects.exists()


def test_model_admin_refuses_a_fallback_to_a_model_that_does_not_exist(admin_client):
    create_model("smart", [])
    response = admin_client.post(
        "/admin/routerapp/modelgroup/add/", model_group_form(fallbacks='["smart", "nowhere"]')
    )
    assert "unknown model &#x27;nowhere&#x27;" in response.content.decode()
    assert not ModelGroup.objects.filter(name="fast").exists()
    response = admin_client.post("/admin/routerapp/modelgroup/add/", model_group_form(fallbacks='["smart"]'))
    assert response.status_code == 302
    assert ModelGroup.objects.get(name="fast").fallbacks == ["smart"]


def test_model_admin_refuses_a_fallback_to_itself(admin_client):
    response = admin_client.post("/admin/routerapp/modelgroup/add/", model_group_form(fallbacks='["fast"]'))
    assert "fallbacks must not name the model itself" in response.content.decode()
    assert not ModelGroup.objects.exists()


def test_deployment_admin_refuses_a_negative_weight(admin_client):
    provider = create_provider(name="sim", kind="simulated")
    group = create_model("fast", [])
    response = admin_client.post(
        "/admin/routerapp/deployment/add/",
        {
            "model_group": group.pk,
            "provider": provider.pk,
            "upstream_model": "x",
            "weight": "-1",
            "enabled": "on",
        },
    )
    assert "&#x27;weight&#x27; must not be negative" in response.content.decode()
    assert not Deployment.objects.exists()


def test_provider_admin_refuses_an_openai_provider_without_base_url(admin_client):
    response = admin_client.post(
        "/admin/routerapp/provider/add/",
        {
            "name": "openai",
            "kind": "openai",
            "base_url": "",
            "timeout_s": "60",
            "extra_headers": "{}",
            "options": "{}",
        },
    )
    assert "an openai-kind provider needs &#x27;base_url&#x27;" in response.content.decode()
    assert not Provider.objects.exists()
