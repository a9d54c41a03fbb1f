"""The management JSON API (/api) through the real server: admin keys and staff sessions only."""

from __future__ import annotations

import httpx
import openai
import pytest
import yaml
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from routerapp.api.auth import AdminKey
from routerapp.errors import PermissionDeniedError
from routerapp.models import ApiKey, ModelGroup, Provider
from routerapp.routing.table import tables
from tests.factories import create_key, create_model, create_provider
from tests.helpers import flush_history

HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture
def admin(live_url):
    raw = create_key(name="ops", is_admin=True)
    with httpx.Client(
        base_url=f"{live_url}/api", headers={"Authorization": f"Bearer {raw}"}, timeout=30
    ) as http:
        yield http


@pytest.fixture
def upstream_model(upstream, live_url):
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    return create_model("gpt-test", [(provider, "ok")])


def test_a_key_is_created_used_limited_and_revoked_through_the_api(admin, upstream_model, client_for):
    created = admin.post("/keys", json={"name": "app", "rpm_limit": 100, "budget_usd": 5})
    assert created.status_code == 201
    body = created.json()
    raw = body["key"]
    assert raw.startswith("sk-rt-") and body["prefix"] == raw[:10]
    assert ApiKey.objects.get(name="app").key_hash != raw  # stored hashed
    # Shown once: never again in a read.
    assert raw not in admin.get("/keys").text and raw not in admin.get("/keys/app").text

    sdk = client_for(raw)
    assert sdk.chat.completions.create(model="gpt-test", messages=HELLO).choices[0].message.content

    create_model("other", [(Provider.objects.get(name="up"), "ok")])
    patched = admin.patch("/keys/app", json={"allowed_models": ["other"], "budget_usd": 2.5})
    assert patched.status_code == 200
    assert patched.json()["allowed_models"] == ["other"] and patched.json()["budget_usd"] == 2.5
    assert patched.json()["rpm_limit"] == 100  # what the patch left out stays
    with pytest.raises(openai.PermissionDeniedError):
        sdk.chat.completions.create(model="gpt-test", messages=HELLO)

    bad = admin.patch("/keys/app", json={"allowed_models": ["no-such-model"]})
    assert bad.status_code == 400 and "no-such-model" in bad.json()["error"]["message"]

    assert admin.delete("/keys/app").json()["enabled"] is False
    with pytest.raises(openai.AuthenticationError):
        sdk.chat.completions.create(model="other", messages=HELLO)
    assert admin.get("/keys/nobody").status_code == 404
    again = admin.post("/keys", json={"name": "app"})
    assert again.status_code == 409


def test_the_management_api_refuses_client_keys_and_anonymous_callers(live_url, admin):
    client_key = create_key(name="client")
    refused = httpx.get(f"{live_url}/api/keys", headers={"Authorization": f"Bearer {client_key}"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "admin_required"
    assert httpx.get(f"{live_url}/api/keys").status_code == 401
    assert (
        httpx.get(f"{live_url}/api/keys", headers={"Authorization": "Bearer sk-rt-wrong"}).status_code == 401
    )
    # A revoked admin key manages nothing.
    key = ApiKey.objects.get(name="ops")
    key.enabled = False
    key.save()
    assert admin.get("/keys").status_code == 401


def test_a_revoked_admin_key_is_refused_once_the_config_check_interval_is_over(
    admin, live_url, settings, stopped_clock
):
    settings.ROUTER["CONFIG_CHECK_S"] = 0.5
    other = create_key(name="second-admin", is_admin=True)
    second = httpx.Client(base_url=f"{live_url}/api", headers={"Authorization": f"Bearer {other}"})
    assert second.get("/keys").status_code == 200
    assert admin.delete("/keys/second-admin").status_code == 200
    # The server's table is this process's and goes by the stopped clock: the revocation reaches
    # it at the next config check, not before.
    stopped_clock.advance(0.4)
    assert second.get("/keys").status_code == 200
    stopped_clock.advance(0.1)
    refused = second.get("/keys")
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "Incorrect API key provided."
    second.close()


def test_an_admin_key_is_checked_against_the_in_memory_table_with_no_database_read(
    transactional_db, settings, django_db_blocker
):
    raw = create_key(name="ops", is_admin=True)
    client = create_key(name="client")
    async_to_sync(tables.get)()  # the table as the server holds it between config checks
    settings.ROUTER["CONFIG_CHECK_S"] = 60
    authenticate = async_to_sync(AdminKey().authenticate)
    with django_db_blocker.block():  # any query, in any thread, raises
        for _ in range(3):
            assert (
                authenticate(RequestFactory().get("/api/keys", HTTP_AUTHORIZATION=f"Bearer {raw}")).name
                == "ops"
            )
        with pytest.raises(PermissionDeniedError):
            authenticate(RequestFactory().get("/api/keys", HTTP_AUTHORIZATION=f"Bearer {client}"))


def test_a_staff_session_may_use_the_api_and_sees_it_in_the_openapi_schema(db):
    browser = Client()
    browser.force_login(User.objects.create_user("staff", password="x" * 12, is_staff=True))
    assert browser.get("/api/keys").status_code == 200
    schema = browser.get("/api/openapi.json").json()
    for path in (
        "/api/keys",
        "/api/keys/{name}",
        "/api/providers/{name}",
        "/api/models",
        "/api/config",
        "/api/health/check",
        "/api/ensembles/{name}",
        "/api/queries",
        "/api/queries/{request_id}",
    ):
        assert path in schema["paths"], path


def test_a_model_added_through_the_api_is_routable_at_once(admin, upstream, client_for):
    sdk = client_for(create_key(name="app"))
    provider = admin.post(
        "/providers",
        json={
            "name": "fake",
            "kind": "openai",
            "base_url": upstream.base_url,
            "api_key": "sk-upstream-secret",
        },
    )
    assert provider.status_code == 201
    assert provider.json()["has_api_key"] is True
    assert "sk-upstream-secret" not in provider.text
    model = admin.post(
        "/models", json={"name": "fresh", "deployments": [{"provider": "fake", "model": "ok"}]}
    )
    assert model.status_code == 201, model.text
    answer = sdk.chat.completions.create(model="fresh", messages=HELLO)
    assert answer.model == "fresh"

    # Secrets are write-only: a PUT without api_key keeps the stored one; reads never show it.
    put = admin.put(
        "/providers/fake", json={"kind": "openai", "base_url": upstream.base_url, "timeout_s": 30}
    )
    assert put.status_code == 200 and put.json()["timeout_s"] == 30 and put.json()["has_api_key"] is True
    assert "sk-upstream-secret" not in admin.get("/providers").text
    assert "sk-upstream-secret" not in admin.get("/config").text

    # Same validation as importconfig: refused whole, nothing changed.
    bad = admin.put("/models/fresh", json={"strategy": "no-such-strategy", "deployments": []})
    assert bad.status_code == 400
    assert "no-such-strategy" in bad.json()["error"]["message"]
    dangling = admin.post("/models", json={"name": "x", "fallbacks": ["nowhere"], "deployments": []})
    assert dangling.status_code == 400 and "nowhere" in dangling.json()["error"]["message"]
    assert not ModelGroup.objects.filter(name="x").exists()
    assert ModelGroup.objects.get(name="fresh").strategy == "simple-shuffle"

    assert admin.delete("/providers/fake").status_code == 409  # still serves "fresh"
    assert admin.delete("/models/fresh").status_code == 204
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(model="fresh", messages=HELLO)
    assert admin.delete("/providers/fake").status_code == 204
    assert admin.get("/providers/fake").status_code == 404


def test_config_exports_as_yaml_or_json_and_imports_all_or_nothing(admin, upstream_model):
    as_yaml = admin.get("/config", headers={"Accept": "application/yaml"})
    assert as_yaml.headers["content-type"].startswith("application/yaml")
    config = yaml.safe_load(as_yaml.text)
    assert admin.get("/config").json() == config
    assert [m["name"] for m in config["models"]] == ["gpt-test"]

    config["models"].append({"name": "second", "deployments": [{"provider": "up", "model": "ok"}]})
    broken = {**config, "models": [*config["models"], {"name": "third", "strategy": "bogus"}]}
    refused = admin.post(
        "/config", content=yaml.safe_dump(broken), headers={"Content-Type": "application/yaml"}
    )
    assert refused.status_code == 400 and "bogus" in refused.json()["error"]["message"]
    assert not ModelGroup.objects.filter(name="second").exists()  # all or nothing

    imported = admin.post("/config", json=config)
    assert imported.status_code == 200 and "model second" in imported.json()["created"]
    pruned = admin.post("/config?prune=true", json={**config, "models": [config["models"][1]]})
    assert pruned.json()["deleted"] == ["model gpt-test"]
    assert list(ModelGroup.objects.values_list("name", flat=True)) == ["second"]


def test_a_failed_health_check_cools_the_deployment_before_a_client_hits_it(admin, client_for):
    healthy = create_provider(name="fine", kind="simulated", options={"latency_ms": 1})
    broken = create_provider(name="down", kind="simulated", options={"latency_ms": 1, "fail_rate": 1.0})
    group = create_model("pair", [(healthy, "a"), (broken, "b")])
    checked = admin.post("/health/check", json={})
    assert checked.status_code == 200
    by_label = {r["deployment"]: r for r in checked.json()}
    assert by_label["fine/a"]["status"] == "healthy" and by_label["fine/a"]["cooldown_remaining_s"] == 0
    assert by_label["down/b"]["status"] == "unhealthy" and by_label["down/b"]["cooldown_remaining_s"] > 0
    assert {r["deployment"]: r["status"] for r in admin.get("/health").json()} == {
        "fine/a": "healthy",
        "down/b": "unhealthy",
    }

    sdk = client_for(create_key(name="app"))
    for _ in range(8):
        sdk.chat.completions.create(model="pair", messages=HELLO)
    flush_history()
    down = group.deployments.get(upstream_model="b")
    assert not down.attempts.exists()  # skipped every time: no client request paid for its failure


def test_history_is_listed_with_filters_and_one_request_with_its_attempts(admin, upstream, client_for):
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    create_model("flaky", [(provider, "err=500"), (provider, "ok")], strategy="simple-shuffle", num_retries=0)
    create_model("plain", [(provider, "ok")])
    sdk = client_for(create_key(name="app"))
    for _ in range(3):
        sdk.chat.completions.create(model="plain", messages=HELLO)
    flush_history()
    page = admin.get("/queries", params={"model": "plain", "key": "app", "limit": 2}).json()
    assert len(page["data"]) == 2 and page["next_before"]
    assert all(r["model"] == "plain" and r["key"] == "app" and r["status"] == "ok" for r in page["data"])
    rest = admin.get("/queries", params={"model": "plain", "before": page["next_before"]}).json()
    assert len(rest["data"]) == 1 and rest["next_before"] is None
    assert admin.get("/queries", params={"status": "error"}).json()["data"] == []
    assert admin.get("/queries", params={"status": "nonsense"}).status_code == 400

    request_id = page["data"][0]["request_id"]
    detail = admin.get(f"/queries/{request_id}").json()
    assert detail["request_id"] == request_id
    assert [a["deployment"] for a in detail["attempts"]] == ["up/ok"]
    assert detail["attempts"][0]["status"] == "ok"
    assert admin.get("/queries/nope").status_code == 404


def test_operators_see_and_cancel_every_clients_batches(admin, upstream_model, client_for):
    from tests.batches.helpers import jsonl, request_line

    sdk = client_for(create_key(name="tenant"))
    file = sdk.files.create(
        file=("../../tmp/evil.jsonl", jsonl([request_line("a", "gpt-test")])), purpose="batch"
    )
    assert file.filename == "evil.jsonl"
    batch = sdk.batches.create(
        input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    listed = admin.get("/batches", params={"key": "tenant"}).json()
    assert [(b["id"], b["key"], b["status"]) for b in listed["data"]] == [(batch.id, "tenant", "validating")]
    assert admin.get("/batches", params={"key": "someone-else"}).json()["data"] == []
    assert admin.get(f"/batches/{batch.id}").json()["input_file_id"] == file.id
    assert admin.post(f"/batches/{batch.id}/cancel").json()["status"] == "cancelled"
    assert sdk.batches.retrieve(batch.id).status == "cancelled"


def test_an_ensemble_added_through_the_api_answers_at_once(admin, client_for):
    sim = create_provider(name="sim", kind="simulated", options={"latency_ms": 1})
    create_model("one", [(sim, "small")])
    create_model("two", [(sim, "large")])
    sdk = client_for(create_key(name="app"))
    created = admin.post("/ensembles", json={"name": "council", "members": ["one", "two"], "merge": "vote"})
    assert created.status_code == 201, created.text
    assert created.json()["members"] == ["one", "two"]
    assert sdk.chat.completions.create(model="council", messages=HELLO).model == "council"
    assert [e["name"] for e in admin.get("/ensembles").json()] == ["council"]
    again = admin.post("/ensembles", json={"name": "council", "members": ["one"], "merge": "vote"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_exists"
    renamed = admin.put("/ensembles/council", json={"name": "other", "members": ["one", "two"]})
    assert renamed.status_code == 400 and "'other'" in renamed.json()["error"]["message"]

    bad = admin.put("/ensembles/council", json={"members": ["one", "nobody"]})
    assert bad.status_code == 400 and "nobody" in bad.json()["error"]["message"]
    assert admin.get("/ensembles/council").json()["members"] == ["one", "two"]  # unchanged
    assert admin.delete("/models/two").status_code == 409  # still a member of council
    assert admin.delete("/ensembles/council").status_code == 204
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(model="council", messages=HELLO)
    assert admin.get("/ensembles/council").status_code == 404
