"""Declarative config: importconfig / exportconfig, all or nothing, secrets never exported in clear."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import CommandError

from routerapp.models import Deployment, ModelGroup, Provider
from tests.helpers import stdout_of as run
from tests.helpers import write_config as write

pytestmark = pytest.mark.django_db

GOOD = """
providers:
  - {name: sim, kind: simulated, options: {latency_ms: 40, fail_rate: 0.0}}
  - {name: openai, kind: openai, base_url: "https://api.example.com/v1", api_key: "env:OPENAI_API_KEY", timeout_s: 60}
models:
  - name: fast
    strategy: simple-shuffle
    fallbacks: [smart]
    deployments:
      - {provider: sim, model: sim-small, weight: 1, rpm: 600, tpm: 100000, input_cost_per_mtok: 0.15, output_cost_per_mtok: 0.6, context_window: 8192}
  - name: smart
    strategy: latency-based
    num_retries: 1
    deployments:
      - {provider: openai, model: gpt-4o}
"""


def test_import_creates_providers_models_and_deployments(tmp_path):
    output = run("importconfig", write(tmp_path, GOOD))
    assert "created 4" in output
    fast = ModelGroup.objects.get(name="fast")
    assert fast.fallbacks == ["smart"]
    dep = fast.deployments.get()
    assert (dep.provider.name, dep.upstream_model, dep.rpm, dep.context_window) == (
        "sim",
        "sim-small",
        600,
        8192,
    )
    assert ModelGroup.objects.get(name="smart").num_retries == 1
    assert Provider.objects.get(name="openai").api_key_ref == "env:OPENAI_API_KEY"


def test_reimport_updates_in_place_and_keeps_deployment_ids(tmp_path):
    run("importconfig", write(tmp_path, GOOD))
    before = Deployment.objects.get(upstream_model="sim-small").id
    changed = GOOD.replace("weight: 1, rpm: 600", "weight: 5, rpm: 600")
    assert "updated 4" in run("importconfig", write(tmp_path, changed))
    dep = Deployment.objects.get(upstream_model="sim-small")
    assert dep.id == before and dep.weight == 5


@pytest.mark.parametrize(
    ("text", "entry", "problem"),
    [
        ("providers: [{name: x, kind: telepathy}]", "providers[0] (x)", "kind 'telepathy'"),
        (
            "models: [{name: m, deployments: [{provider: ghost, model: y}]}]",
            "models[0] (m).deployments[0]",
            "provider 'ghost'",
        ),
        ("models: [{name: m, strategy: psychic}]", "models[0] (m)", "strategy 'psychic'"),
        ("models: [{name: m, fallbacks: [nowhere]}]", "models[0] (m)", "unknown model 'nowhere'"),
        ("models: [{name: m, weight: 3}]", "models[0] (m)", "unknown field(s) weight"),
        (
            "providers: [{name: p, kind: simulated, timeout_s: fast}]",
            "providers[0] (p)",
            "'timeout_s' must be a number",
        ),
        ("providers: [{name: p, kind: openai}]", "providers[0] (p)", "needs 'base_url'"),
        ("routes: []", "file", "unknown section(s) routes"),
        (
            "models: [{name: m, judge_model: oracle}]",
            "models[0] (m)",
            "judge_model names unknown model 'oracle'",
        ),
        ("models: [{name: m, judge_model: m}]", "models[0] (m)", "grade its own grades"),
        ("models: [{name: m, judge_sample_rate: 1.5}]", "models[0] (m)", "judge_sample_rate"),
        ("models: [{name: m, cost_weight: -1}]", "models[0] (m)", "'cost_weight' must not be negative"),
        ("providers: [\n  - {name: x", "line", "not valid YAML"),
        (
            "providers: [{name: p, kind: simulated}, {name: p, kind: simulated}]",
            "providers",
            "provider 'p' is defined twice",
        ),
        (
            "providers: [{name: p, kind: simulated}]\n"
            "models: [{name: m, deployments: [{provider: p, model: x}]}, "
            "{name: m, deployments: [{provider: p, model: y}]}]",
            "models",
            "model 'm' is defined twice",
        ),
    ],
)
def test_invalid_config_names_file_entry_and_problem(tmp_path, text, entry, problem):
    path = write(tmp_path, text)
    with pytest.raises(CommandError) as info:
        run("importconfig", path)
    message = str(info.value)
    assert message.startswith(path)
    assert entry in message and problem in message


def test_invalid_config_imports_nothing(tmp_path):
    # The first entries are fine; the last one is broken: nothing at all may land.
    broken = GOOD + "  - {name: bad, deployments: [{provider: ghost, model: z}]}\n"
    with pytest.raises(CommandError):
        run("importconfig", write(tmp_path, broken))
    assert not Provider.objects.exists() and not ModelGroup.objects.exists()


def test_export_round_trips_and_never_writes_stored_secrets(tmp_path):
    run("importconfig", write(tmp_path, GOOD))
    provider = Provider.objects.get(name="sim")
    provider.set_api_key("sk-very-secret-value")
    provider.save()
    exported = run("exportconfig")
    assert "sk-very-secret-value" not in exported
    assert provider.api_key_encrypted and "sk-very-secret-value" not in provider.api_key_encrypted
    data = yaml.safe_load(exported)
    assert {p["name"] for p in data["providers"]} == {"sim", "openai"}
    assert next(p for p in data["providers"] if p["name"] == "openai")["api_key"] == "env:OPENAI_API_KEY"
    # What was exported imports again cleanly.
    assert "updated 4" in run("importconfig", write(tmp_path, exported, "exported.yaml"))


def test_prune_removes_what_the_file_no_longer_lists(tmp_path):
    run("importconfig", write(tmp_path, GOOD))
    smaller = """
    providers:
      - {name: sim, kind: simulated}
    models:
      - name: fast
        deployments: [{provider: sim, model: sim-small}]
    """
    run("importconfig", write(tmp_path, smaller), "--prune")
    assert set(ModelGroup.objects.values_list("name", flat=True)) == {"fast"}
    assert set(Provider.objects.values_list("name", flat=True)) == {"sim"}


def test_learned_routing_keys_import_export_and_reach_the_routing_table(tmp_path):
    from routerapp.routing.table import load_table

    text = GOOD + (
        "  - {name: auto, strategy: learned, cost_weight: 0.5, latency_weight: 0.2, judge_model: smart,"
        " judge_sample_rate: 0.05, deployments: [{provider: sim, model: a}, {provider: sim, model: b}]}\n"
    )
    run("importconfig", write(tmp_path, text))
    auto = load_table().groups["auto"]
    assert (auto.strategy, auto.cost_weight, auto.latency_weight) == ("learned", 0.5, 0.2)
    assert (auto.judge_model, auto.judge_sample_rate) == ("smart", 0.05)
    exported = {m["name"]: m for m in yaml.safe_load(run("exportconfig"))["models"]}
    assert exported["auto"]["cost_weight"] == 0.5 and exported["auto"]["judge_model"] == "smart"
    assert "cost_weight" not in exported["fast"]  # defaults stay out of the file
