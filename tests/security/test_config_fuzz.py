"""The config importer under generated bad input: every bad file is refused naming its entry, and
the database is left exactly as it was (Hypothesis, bounded so the suite stays fast)."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routerapp.config import ConfigError, export_config, import_config, read_file
from routerapp.models import ApiKey, Deployment, ModelGroup, Provider

pytestmark = pytest.mark.django_db

BOUNDED = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

VALID = {
    "providers": [
        {"name": "sim", "kind": "simulated", "options": {"seed": 1}},
        {"name": "up", "kind": "openai", "base_url": "http://127.0.0.1:9/v1"},
    ],
    "models": [
        {"name": "fast", "deployments": [{"provider": "sim", "model": "sim-small"}], "fallbacks": ["smart"]},
        {"name": "smart", "deployments": [{"provider": "up", "model": "gpt-x", "rpm": 10}]},
    ],
}

WRONG_VALUES = [None, "", "sixty", -1, 1.5, True, [], {}, [1], {"a": 1}, 10**30]


def snapshot() -> tuple:
    return (
        export_config(),
        list(Deployment.objects.order_by("id").values_list("id", "upstream_model", "rpm", "weight")),
        ApiKey.objects.count(),
    )


@pytest.fixture
def existing():
    """A config already in the database, which no refused import may touch."""
    import_config(copy.deepcopy(VALID))
    return snapshot()


# Each mutation: (what it breaks, the entry the error must name).
def wrong_type(draw):
    section, index = draw(st.sampled_from([("providers", 0), ("providers", 1), ("models", 0), ("models", 1)]))
    fields = {
        "providers": ["name", "kind", "base_url", "timeout_s", "headers", "options", "enabled"],
        "models": [
            "name",
            "strategy",
            "num_retries",
            "timeout_s",
            "allowed_fails",
            "cooldown_s",
            "fallbacks",
        ],
    }[section]
    field = draw(st.sampled_from(fields))
    value = draw(st.sampled_from(WRONG_VALUES))
    return section, index, field, value


@st.composite
def broken_configs(draw):
    data = copy.deepcopy(VALID)
    kind = draw(
        st.sampled_from(
            ["wrong_type", "unknown_key", "duplicate", "dangling", "cycle", "no_deployments", "bad_option",
             "deployment_type"]
        )
    )  # fmt: skip
    if kind == "wrong_type":
        section, index, field, value = wrong_type(draw)
        entry = data[section][index]
        name = entry["name"]
        original = entry.get(field)
        # Some "wrong" values are right for some fields (an empty list of fallbacks, …): skip those.
        acceptable = {
            ("providers", "base_url"): ("",) if index == 0 else (),
            ("providers", "headers"): ({},),
            ("providers", "options"): ({},),
            ("providers", "timeout_s"): (1.5,),
            ("models", "fallbacks"): ([],),
            ("models", "timeout_s"): (1.5, None),
            ("models", "cooldown_s"): (1.5, None),
            ("models", "num_retries"): (None,),
            ("models", "allowed_fails"): (None,),
            ("models", "strategy"): (None, ""),
        }.get((section, field), ())
        if value in acceptable or value == original or (value is None and field in ("fallbacks",)):
            value = "sixty" if field != "base_url" else 5
        if field == "enabled" and isinstance(value, bool):
            value = "yes"
        if field == "name" and isinstance(value, str) and value and value != name:
            value = 5
        entry[field] = value
        return data, f"{section}[{index}]"
    if kind == "unknown_key":
        section, index = draw(st.sampled_from([("providers", 0), ("models", 1)]))
        data[section][index][draw(st.sampled_from(["modle", "api_keys", "fallback", "wieght"]))] = 1
        return data, f"{section}[{index}] ({data[section][index]['name']})"
    if kind == "duplicate":
        section = draw(st.sampled_from(["providers", "models"]))
        data[section].append(copy.deepcopy(data[section][0]))
        return data, section
    if kind == "dangling":
        data["models"][1]["fallbacks"] = [draw(st.sampled_from(["nope", "fats", "Smart"]))]
        return data, "models[1] (smart)"
    if kind == "cycle":
        data["models"][1]["fallbacks"] = ["fast"]
        return data, "models"
    if kind == "no_deployments":
        data["models"][1]["deployments"] = []
        return data, "model 'smart' needs at least one deployment"
    if kind == "bad_option":
        data["providers"][0]["options"] = {draw(st.sampled_from(["latency", "sed", "failrate"])): 1}
        return data, "providers[0] (sim)"
    field = draw(st.sampled_from(["rpm", "weight", "provider", "model", "tpm"]))
    data["models"][0]["deployments"][0][field] = draw(st.sampled_from(["x", -3, [], {}, True]))
    if field in ("provider", "model") and isinstance(data["models"][0]["deployments"][0][field], str):
        data["models"][0]["deployments"][0][field] = 7
    return data, "models[0] (fast).deployments[0]"


@BOUNDED
@given(case=broken_configs())
def test_a_broken_config_is_refused_naming_the_entry_and_changes_nothing(existing, case):
    data, entry = case
    with pytest.raises(ConfigError) as info:
        import_config(copy.deepcopy(data), source="bad.yaml")
    message = str(info.value)
    assert message.startswith("bad.yaml: ")
    assert entry in message, message
    assert snapshot() == existing


@BOUNDED
@given(text=st.text(max_size=300))
def test_arbitrary_text_is_either_imported_or_refused_cleanly(existing, text, tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "config.yaml"
    path.write_text(text)
    try:
        import_config(read_file(path), source=str(path))
    except ConfigError as exc:
        assert str(exc).startswith(str(path))
        assert snapshot() == existing


@pytest.mark.parametrize(
    "text",
    [
        "providers: [",
        "models:\n  - name: a\n   bad-indent: 1",
        "\t- x",
        "providers: !!python/object:os.system x",
    ],
)
def test_malformed_yaml_is_refused_with_its_line(existing, text, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        import_config(read_file(path), source=str(path))
    assert str(info.value).startswith(str(path))
    assert snapshot() == existing


def test_unset_env_reference_is_imported_with_a_loud_warning(monkeypatch):
    monkeypatch.delenv("ROUTER_TEST_UNSET_KEY", raising=False)
    data = copy.deepcopy(VALID)
    data["providers"][1]["api_key"] = "env:ROUTER_TEST_UNSET_KEY"
    summary = import_config(data)
    assert any("env:ROUTER_TEST_UNSET_KEY is not set" in w for w in summary.warnings)
    assert Provider.objects.get(name="up").api_key_ref == "env:ROUTER_TEST_UNSET_KEY"
    assert ModelGroup.objects.count() == 2
