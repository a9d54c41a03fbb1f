"""Admin actions and listings: test providers, enable/disable deployments, reset cooldowns, revoke
keys, export config; every model has a list page that renders with its filters and search."""

from __future__ import annotations

import time

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.urls import reverse

from routerapp import config
from routerapp.models import ApiKey, Deployment, ModelGroup, Provider
from routerapp.routing import breaker
from routerapp.routing.table import load_table
from tests.factories import create_key, create_model, create_provider

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@localhost", "pw-123456")
    client.force_login(user)
    return client


def act(client, model: str, action: str, ids, **extra):
    return client.post(
        reverse(f"admin:routerapp_{model}_changelist"),
        {"action": action, "_selected_action": [str(i) for i in ids], **extra},
        follow=not extra.pop("no_follow", False),
    )


def page_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_test_providers_reports_each_and_records_health(admin_client, upstream):
    good = create_provider(name="good", base_url=upstream.base_url)
    bad = create_provider(name="bad", base_url=upstream.base_url)
    create_model("m1", [(good, "ok"), (bad, "err=500")])
    response = act(admin_client, "provider", "test_providers", [good.pk, bad.pk])
    said = page_messages(response)
    assert "good: 1 of 1 deployment(s) answered" in said
    assert any(m.startswith("bad: 1 of 1 failed — bad/err=500: ProviderUnavailableError") for m in said)
    assert Deployment.objects.get(provider=bad).health_status == "unhealthy"


def test_enable_and_disable_deployments_reach_the_routing_table(admin_client, upstream):
    provider = create_provider(base_url=upstream.base_url)
    create_model("m1", [(provider, "a"), (provider, "b")])
    ids = list(Deployment.objects.values_list("id", flat=True))
    act(admin_client, "deployment", "disable_deployments", ids[:1])
    assert {d.upstream_model for d in load_table().groups["m1"].deployments} == {"b"}
    act(admin_client, "deployment", "enable_deployments", ids[:1])
    assert len(load_table().groups["m1"].deployments) == 2


def test_reset_cooldowns_closes_the_breaker(admin_client, upstream):
    provider = create_provider(base_url=upstream.base_url)
    create_model("m1", [(provider, "a")])
    dep = Deployment.objects.get()
    breaker.open_until(dep.id, time.time() + 300)
    listing = admin_client.get(reverse("admin:routerapp_deployment_changelist")).content.decode()
    assert " s left" in listing
    response = act(admin_client, "deployment", "reset_cooldowns", [dep.id])
    assert "Reset the cooldown of 1 deployment(s)." in page_messages(response)
    assert breaker.cooldown_remaining(dep.id) == 0


def test_revoke_keys_stops_them_at_once(admin_client):
    raw = create_key(name="team")
    assert load_table().key_for(raw) is not None
    response = act(admin_client, "apikey", "revoke_keys", [ApiKey.objects.get().pk])
    assert "Revoked 1 key(s)." in page_messages(response)
    assert not ApiKey.objects.get().enabled and load_table().key_for(raw) is None


def test_export_actions_download_config_that_imports_back(admin_client, upstream):
    secret = create_provider(name="paid", base_url=upstream.base_url)
    secret.set_api_key("sk-do-not-leak")
    secret.save()
    other = create_provider(name="other", base_url=upstream.base_url)
    create_model("m1", [(secret, "a")], fallbacks=[])
    create_model("m2", [(other, "b")])
    response = act(admin_client, "modelgroup", "export_models", [ModelGroup.objects.get(name="m1").pk])
    assert response["content-disposition"] == 'attachment; filename="router-models.yaml"'
    body = response.content.decode()
    assert "sk-do-not-leak" not in body
    data = yaml.safe_load(body)
    assert [m["name"] for m in data["models"]] == ["m1"] and [p["name"] for p in data["providers"]] == [
        "paid"
    ]
    Deployment.objects.all().delete()
    ModelGroup.objects.all().delete()
    config.import_config(data)
    assert list(ModelGroup.objects.values_list("name", flat=True)) == ["m1"]
    response = act(admin_client, "provider", "export_providers", [p.pk for p in Provider.objects.all()])
    assert sorted(p["name"] for p in yaml.safe_load(response.content)["providers"]) == ["other", "paid"]


@pytest.mark.parametrize(
    "model",
    [
        "provider",
        "modelgroup",
        "deployment",
        "apikey",
        "queryrecord",
        "attempt",
        "span",
        "errorgroup",
        "statsrollup",
    ],
)
def test_every_model_has_a_list_page_with_search(admin_client, model, upstream):
    provider = create_provider(base_url=upstream.base_url)
    create_model("m1", [(provider, "a")])
    url = reverse(f"admin:routerapp_{model}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "m1"}).status_code == 200
