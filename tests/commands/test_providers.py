"""`manage.py providers list | test NAME`."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from routerapp.models import Deployment
from tests.factories import create_model, create_provider
from tests.helpers import run_command as run

pytestmark = pytest.mark.django_db(transaction=True)


def test_list_shows_providers_without_their_secrets(upstream):
    secret = create_provider(name="paid", base_url=upstream.base_url)
    secret.set_api_key("sk-very-secret-value")
    secret.save()
    create_provider(name="envkey", base_url=upstream.base_url, api_key_ref="env:SOME_KEY")
    create_model("gpt-test", [(secret, "ok"), (secret, "ok;delay=1", {"enabled": False})])
    out, _ = run("providers", "list")
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["NAME", "KIND", "STATE", "KEY"]
    assert any(line.startswith("paid") and "stored (encrypted)" in line and "1/2" in line for line in lines)
    assert any(line.startswith("envkey") and "env:SOME_KEY" in line for line in lines)
    assert "sk-very-secret-value" not in out


def test_test_probes_each_enabled_deployment_and_fails_when_one_does(upstream):
    provider = create_provider(name="up", base_url=upstream.base_url)
    create_model("good", [(provider, "ok")])
    out, _ = run("providers", "test", "up")
    assert "healthy" in out and "1 deployment(s) answered" in out
    assert Deployment.objects.get().health_status == "healthy"
    create_model("bad", [(provider, "err=500")])
    with pytest.raises(CommandError, match="1 of 2 deployment\\(s\\) of 'up' failed") as failure:
        run("providers", "test", "up")
    assert failure.value.returncode == 1
    assert Deployment.objects.get(upstream_model="err=500").health_status == "unhealthy"


def test_bad_arguments_exit_with_a_reason():
    with pytest.raises(CommandError, match="no provider named 'ghost'"):
        run("providers", "test", "ghost")
    create_provider(name="empty")
    with pytest.raises(CommandError, match="has no enabled deployments"):
        run("providers", "test", "empty")
    with pytest.raises(CommandError, match="invalid choice"):
        run("providers", "frobnicate")


def test_providers_as_a_subprocess(shell):
    listing = shell("providers", "list")
    assert listing.returncode == 0 and "up " in listing.stdout
    ok = shell("providers", "test", "up")
    assert ok.returncode == 0, ok.stderr
    failing = shell("providers", "test", "down")
    assert failing.returncode == 1 and "1 of 1 deployment(s) of 'down' failed" in failing.stderr
    missing = shell("providers", "test")
    assert missing.returncode != 0 and "name" in missing.stderr
