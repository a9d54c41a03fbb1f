"""After traffic with a known provider secret and a known client key, failures included, no secret
appears anywhere the router shows or keeps text: responses, logs, exported config, the admin, the
history, error groups, the dashboard, the JSON API or /metrics."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import openai
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from routerapp.models import Attempt, ErrorGroup, Provider, QueryRecord, Span
from tests.factories import create_key, create_model, create_provider
from tests.helpers import flush_history

PROVIDER_SECRET = "sk-live-7Hq2x9Zr4Kd8Mw3Np6Tb"
HEADER_SECRET = "hdr-9f8e7d6c5b4a"  # not key-shaped: only knowing it masks it
METRICS_TOKEN = "metrics-token-0f1e2d3c"


@pytest.fixture
def traffic(upstream, live_url, client_for, settings, caplog):
    caplog.set_level(logging.DEBUG)
    settings.ROUTER["METRICS_TOKEN"] = METRICS_TOKEN
    provider = create_provider(
        name="keyed", base_url=upstream.base_url, extra_headers={"x-api-key": HEADER_SECRET}
    )
    provider.set_api_key(PROVIDER_SECRET)
    provider.save()
    create_model("ok", [(provider, "ok")])
    create_model("echo-401", [(provider, "err=401;echo")], num_retries=0)  # echoes the Authorization header
    create_model("echo-500", [(provider, "err=500;echo")], num_retries=0)
    create_model("falls-back", [(provider, "err=401;echo"), (provider, "ok")], strategy="simple-shuffle")
    client_key = create_key(name="tenant")
    admin_key = create_key(name="ops", is_admin=True)
    sdk = client_for(client_key)
    seen: list[str] = []
    for model in ("ok", "echo-401", "echo-500", "falls-back", "falls-back"):
        try:
            answer = sdk.chat.completions.with_raw_response.create(
                model=model, messages=[{"role": "user", "content": "hello"}]
            )
            seen += [answer.text, str(answer.headers)]
        except openai.APIStatusError as exc:
            seen += [exc.response.text, str(exc.response.headers)]
    try:
        for chunk in sdk.chat.completions.create(
            model="echo-500", messages=[{"role": "user", "content": "hi"}], stream=True
        ):
            seen.append(chunk.model_dump_json())
    except openai.APIError as exc:
        seen.append(str(exc))
    # A client that sends a wrong key built from the real one, and the provider's key itself.
    for wrong in (client_key + "x", PROVIDER_SECRET):
        response = httpx.post(
            f"{live_url}/v1/chat/completions",
            headers={"authorization": f"Bearer {wrong}"},
            json={"model": "ok", "messages": [{"role": "user", "content": "hi"}]},
        )
        seen += [response.text, str(response.headers)]
    flush_history()
    return {
        "secrets": (PROVIDER_SECRET, HEADER_SECRET, client_key, admin_key),
        "admin_key": admin_key,
        "responses": seen,
    }


def _provider_id() -> int:
    from routerapp.models import Provider

    return Provider.objects.get(name="keyed").pk


def assert_clean(where: str, text: str, secrets) -> None:
    for secret in secrets:
        assert secret not in text, f"{where} holds a secret ({secret[:6]}…)"


def test_no_secret_anywhere_after_traffic(traffic, live_url, caplog, tmp_path: Path):
    secrets = traffic["secrets"]
    # Extra header values are stored sealed like the key: config screens and exports show them
    # encrypted (an export re-imports on a router with the same ROUTER_ENCRYPTION_KEY), never in clear.
    config_secrets = secrets
    assert QueryRecord.objects.filter(status="error").count() >= 3  # the failures really happened
    for text in traffic["responses"]:
        assert_clean("a response", text, secrets)

    # The history, row by row, every text column.
    for record in QueryRecord.objects.all():
        for column in ("error_message", "request_body", "response_body"):
            assert_clean(f"QueryRecord.{column}", getattr(record, column), secrets)
        assert_clean("QueryRecord.ensemble", str(record.ensemble), secrets)
    for attempt in Attempt.objects.all():
        assert_clean("Attempt.error_message", attempt.error_message, secrets)
    for span in Span.objects.all():
        assert_clean("Span.attributes", str(span.attributes), secrets)
    groups = list(ErrorGroup.objects.all())
    assert groups
    for group in groups:
        assert_clean("ErrorGroup", f"{group.message} {group.sample_message} {group.recent}", secrets)

    # Exported config, from the command and from the API.
    exported = tmp_path / "config.yaml"
    call_command("exportconfig", str(exported))
    assert_clean("exportconfig", exported.read_text(), config_secrets)
    api = httpx.Client(base_url=live_url, headers={"authorization": f"Bearer {traffic['admin_key']}"})
    for path in ("/api/config", "/api/providers", "/api/providers/keyed"):
        response = api.get(path)
        assert response.status_code == 200, path
        assert_clean(path, response.text, config_secrets)
    for path in ("/api/health", "/api/stats", "/api/queries"):
        response = api.get(path)
        assert response.status_code == 200, path
        assert_clean(path, response.text, secrets)
    for record in QueryRecord.objects.all():
        response = api.get(f"/api/queries/{record.request_id}")
        assert_clean("/api/queries/{id}", response.text, secrets)
    metrics = httpx.get(f"{live_url}/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
    assert metrics.status_code == 200
    assert_clean("/metrics", metrics.text, secrets)

    # The admin and the dashboard, as a superuser.
    staff = Client()
    staff.force_login(User.objects.create_superuser("root", "root@localhost", "pw-123456"))
    pages = [
        "/admin/routerapp/provider/",
        "/admin/routerapp/queryrecord/",
        "/admin/routerapp/attempt/",
        "/admin/routerapp/errorgroup/",
        "/admin/routerapp/span/",
        "/dashboard/",
        "/dashboard/errors/",
        "/dashboard/history/",
    ]
    for record in QueryRecord.objects.all():
        pages += [
            f"/admin/routerapp/queryrecord/{record.pk}/change/",
            f"/dashboard/history/{record.request_id}/",
        ]
    for attempt in Attempt.objects.all():
        pages.append(f"/admin/routerapp/attempt/{attempt.pk}/change/")
    for group in groups:
        pages += [f"/admin/routerapp/errorgroup/{group.pk}/change/", f"/dashboard/errors/{group.pk}/"]
    for page in pages:
        response = staff.get(page)
        assert response.status_code == 200, page
        assert_clean(page, response.content.decode(), secrets)
    provider_page = staff.get("/admin/routerapp/provider/1/change/".replace("1", str(_provider_id())))
    assert provider_page.status_code == 200
    assert_clean("the provider's admin page", provider_page.content.decode(), config_secrets)

    # Every log line of the server, the writer and the router while all this ran.
    assert_clean("the logs", "\n".join(r.getMessage() for r in caplog.records), secrets)
    assert_clean("the log text", caplog.text, secrets)


def test_header_values_are_stored_sealed_and_an_export_reimports_them(db, tmp_path):
    provider = create_provider(
        name="hdr",
        base_url="http://127.0.0.1:9/v1",
        extra_headers={"x-api-key": HEADER_SECRET, "x-ref": "env:NOPE"},
    )
    provider.refresh_from_db()
    assert HEADER_SECRET not in str(provider.extra_headers)
    assert provider.extra_headers["x-ref"] == "env:NOPE"  # a reference stays a reference
    assert provider.resolved_headers()["x-api-key"] == HEADER_SECRET
    exported = tmp_path / "config.yaml"
    call_command("exportconfig", str(exported))
    assert HEADER_SECRET not in exported.read_text()
    Provider.objects.all().delete()
    call_command("importconfig", str(exported))
    assert Provider.objects.get(name="hdr").resolved_headers()["x-api-key"] == HEADER_SECRET
