"""Commands that could surprise an operator say what they did, or refuse with a one-line reason."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from routerapp.models import ApiKey, Deployment, ModelGroup, Provider, QueryRecord
from routerapp.routing.table import load_table
from tests.factories import create_model, create_provider
from tests.helpers import run_command

pytestmark = pytest.mark.django_db


def test_gendata_leaves_the_live_config_as_it_was_unless_asked(db):
    before = load_table()
    out, _ = run_command("gendata", "--rows", "50", "--days", "1")
    assert QueryRecord.objects.count() == 50
    assert "created disabled" in out and "--live-config" in out
    after = load_table()
    # Nothing new is routable and no new key lets anyone in.
    assert set(after.groups) == set(before.groups)
    assert not ApiKey.objects.filter(name__startswith="gen-", enabled=True).exists()
    assert not Provider.objects.filter(name__startswith="gen-", enabled=True).exists()
    assert not Deployment.objects.filter(model_group__name__startswith="gen-", enabled=True).exists()


def test_gendata_makes_its_config_live_with_the_flag(db):
    out, _ = run_command("gendata", "--rows", "20", "--days", "1", "--live-config")
    assert "routable" in out
    assert ModelGroup.objects.filter(name="gen-fast", enabled=True).exists()
    assert "gen-fast" in load_table().groups


def test_healthcheck_of_an_unknown_deployment_fails_with_a_reason(db):
    with pytest.raises(CommandError, match="no deployment with id 999"):
        run_command("healthcheck", "999")


def test_healthcheck_of_a_disabled_deployment_fails_with_a_reason(db):
    provider = create_provider(name="sim", kind="simulated")
    deployment = create_model("m", [(provider, "x", {"enabled": False})]).deployments.get()
    with pytest.raises(CommandError, match="disabled"):
        run_command("healthcheck", str(deployment.pk))
