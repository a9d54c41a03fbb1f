"""`manage.py healthcheck` and the core function behind it, against the fake upstream."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from routerapp.models import Deployment
from routerapp.routing.health import check_deployments
from routerapp.routing.table import config_version
from tests.factories import create_model, create_provider


@pytest.fixture
def deployments(upstream, db):
    up = create_provider(name="up", base_url=upstream.base_url)
    down = create_provider(name="down", base_url="http://127.0.0.1:9/v1")  # nothing listens there
    create_model(
        "m",
        [
            (up, "ok"),
            (up, "err=500"),
            (up, "hang"),
            (down, "ok"),
            (up, "ok;n=disabled", {"enabled": False}),
        ],
    )
    return {f"{d.provider.name}/{d.upstream_model}": d for d in Deployment.objects.select_related("provider")}


def test_it_probes_every_enabled_deployment_and_records_the_result(deployments, upstream):
    version = config_version()
    results = check_deployments(timeout_s=0.5)  # the hang ends only by this timeout
    assert {r.label: r.status for r in results} == {
        "up/ok": "healthy",
        "up/err=500": "unhealthy",
        "up/hang": "unhealthy",
        "down/ok": "unhealthy",
    }
    assert upstream.hits["ok;n=disabled"] == 0
    healthy = Deployment.objects.get(pk=deployments["up/ok"].pk)
    assert healthy.health_status == "healthy" and healthy.health_error == ""
    assert healthy.health_checked_at is not None and healthy.health_latency_ms > 0
    failing = Deployment.objects.get(pk=deployments["up/err=500"].pk)
    assert failing.health_error.startswith("ProviderUnavailableError") and "500" in failing.health_error
    assert "TimeoutError" in Deployment.objects.get(pk=deployments["up/hang"].pk).health_error
    assert next(r for r in results if r.label == "up/hang").latency_ms >= 500 * 0.95  # its whole 0.5 s
    assert Deployment.objects.get(pk=deployments["up/ok;n=disabled"].pk).health_status == "unknown"
    assert config_version() == version  # recording health is not a config change


def test_it_checks_only_the_ids_it_is_given(deployments, upstream):
    results = check_deployments([deployments["up/ok"].pk, deployments["up/ok;n=disabled"].pk])
    assert [r.label for r in results] == ["up/ok"]
    assert upstream.hits == {"ok": 1}


def test_the_command_prints_a_table_and_fails_under_strict(deployments):
    out = StringIO()
    call_command("healthcheck", "--timeout", "0.5", stdout=out)
    table = out.getvalue()
    assert "up/ok" in table and "healthy" in table and "4 checked, 3 unhealthy" in table
    with pytest.raises(CommandError) as info:
        call_command("healthcheck", "--timeout", "0.5", "--strict", stdout=StringIO())
    assert info.value.returncode == 1
    call_command("healthcheck", str(deployments["up/ok"].pk), "--strict", stdout=StringIO())


def test_openai_probes_use_the_limit_name_each_server_accepts(upstream, db):
    up = create_provider(name="up", base_url=upstream.base_url)
    create_model("m", [(up, "ok;no_max_tokens"), (up, "ok;old_names")])
    results = check_deployments(timeout_s=5)
    assert {r.label: r.status for r in results} == {
        "up/ok;no_max_tokens": "healthy",
        "up/ok;old_names": "healthy",
    }
    assert upstream.hits["ok;no_max_tokens"] == 1  # max_completion_tokens, accepted at once
    assert upstream.hits["ok;old_names"] == 2  # refused, then asked with max_tokens
