"""One definition of a valid config: the routing table carries only what the schema allows."""

from __future__ import annotations

import pytest

from routerapp.routing.table import load_table
from tests.factories import create_model, create_provider

pytestmark = pytest.mark.django_db


def test_the_routing_table_carries_the_deployment_settings():
    provider = create_provider(name="sim", kind="simulated")
    create_model("fast", [(provider, "small", {"rpm": 60, "weight": 3, "context_window": 8192})])
    (deployment,) = load_table().groups["fast"].deployments
    assert (deployment.settings.rpm, deployment.settings.weight, deployment.settings.context_window) == (
        60,
        3,
        8192,
    )


def test_the_routing_table_leaves_out_what_the_schema_refuses(caplog):
    # Rows written around the admin and importconfig (raw ORM): not routed as something else.
    provider = create_provider(name="sim", kind="simulated")
    create_model("fast", [(provider, "small")], strategy="psychic")
    create_model("cheap", [(provider, "small"), (provider, "tiny", {"weight": -1})])
    table = load_table()
    assert "fast" not in table.groups
    assert [d.upstream_model for d in table.groups["cheap"].deployments] == ["small"]
    assert "strategy 'psychic'" in caplog.text
