"""The breaker's rate settings are model config keys: imported, validated, exported, routed with."""

from __future__ import annotations

import io
import textwrap

import pytest
import yaml
from django.core.management import CommandError, call_command

from routerapp.models import ModelGroup
from routerapp.routing.table import load_table

pytestmark = pytest.mark.django_db

CONFIG = """
providers:
  - {{name: sim, kind: simulated}}
models:
  - name: m
    allowed_fails: 5
    allowed_fail_rate: {rate}
    min_requests: {min_requests}
    deployments:
      - {{provider: sim, model: a}}
"""


def import_config(tmp_path, **values) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(CONFIG.format(**values)))
    call_command("importconfig", str(path), stdout=io.StringIO(), stderr=io.StringIO())


def test_the_rate_settings_reach_the_routing_table_and_the_export(tmp_path):
    import_config(tmp_path, rate=0.25, min_requests=40)
    group = load_table().groups["m"]
    assert (group.allowed_fails, group.allowed_fail_rate, group.min_requests) == (5, 0.25, 40)
    out = io.StringIO()
    call_command("exportconfig", stdout=out)
    (model,) = yaml.safe_load(out.getvalue())["models"]
    assert (model["allowed_fail_rate"], model["min_requests"]) == (0.25, 40)


def test_unset_they_take_the_router_defaults(tmp_path, settings):
    path = tmp_path / "config.yaml"
    path.write_text(
        "providers: [{name: sim, kind: simulated}]\nmodels: [{name: m, deployments: [{provider: sim, model: a}]}]\n"
    )
    call_command("importconfig", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    group = load_table().groups["m"]
    assert (group.allowed_fail_rate, group.min_requests) == (
        settings.ROUTER["ALLOWED_FAIL_RATE"],
        settings.ROUTER["MIN_REQUESTS"],
    )


@pytest.mark.parametrize(("rate", "min_requests"), [(0, 10), (1.5, 10), (-0.1, 10), (0.5, 0), ("lots", 10)])
def test_out_of_range_values_are_refused_naming_the_entry(tmp_path, rate, min_requests):
    with pytest.raises(CommandError) as info:
        import_config(tmp_path, rate=rate, min_requests=min_requests)
    assert "m" in str(info.value)
    assert not ModelGroup.objects.exists()
