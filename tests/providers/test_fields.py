"""Every chat-completions field × provider kind, through the real server, as routerapp.providers.fields
says: carried (the fake upstream got it as sent), translated (it got the translation where the
table says), refused (a 400 naming the field and the deployment, nothing sent) or ignored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from routerapp.providers import KINDS
from routerapp.providers.fields import (
    CARRIED,
    FIELDS,
    IGNORED,
    REFUSED,
    TRANSLATED,
    markdown_table,
    rule,
)
from tests.factories import create_key, create_model, create_provider
from tests.helpers import HI, post

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]

# One value per field, chosen to be the interesting one: a value a refusing kind refuses.
SAMPLES: dict[str, Any] = {
    "temperature": 0.3,
    "top_p": 0.9,
    "top_k": 5,
    "presence_penalty": 0.5,
    "frequency_penalty": 0.5,
    "max_tokens": 50,
    "max_completion_tokens": 60,
    "n": 2,
    "stop": ["END"],
    "seed": 7,
    "logit_bias": {"50256": -100},
    "logprobs": True,
    "top_logprobs": 2,
    "user": "user-17",
    "tools": TOOLS,
    "tool_choice": "auto",
    "parallel_tool_calls": False,
    "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}}},
    "reasoning_effort": "low",
    "think": True,
    "modalities": ["text", "audio"],
    "audio": {"voice": "alloy", "format": "wav"},
    "prediction": {"type": "content", "content": "x"},
    "web_search_options": {},
    "service_tier": "flex",
    "store": True,
}
# Fields that mean something only beside another one.
COMPANIONS: dict[str, dict[str, Any]] = {
    "tool_choice": {"tools": TOOLS},
    "parallel_tool_calls": {"tools": TOOLS},
}


def test_every_field_has_a_sample_and_every_kind_a_rule():
    assert set(SAMPLES) == set(FIELDS)
    for name in FIELDS:
        for kind in KINDS:
            assert rule(name, kind) is not None, (name, kind)


def test_the_readme_compatibility_table_is_the_one_in_code():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert markdown_table() in readme, (
        "README.md: paste the output of routerapp.providers.fields.markdown_table()"
    )


def at(body: dict[str, Any], path: str) -> Any:
    value: Any = body
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


@pytest.mark.parametrize("kind", KINDS)
def test_each_field_is_carried_translated_refused_or_ignored_as_the_table_says(
    kind, live_url, upstream, anthropic_server, ollama_server
):
    if kind == "openai":
        provider, model = create_provider(name="oa", kind="openai", base_url=upstream.base_url), "ok"
    elif kind == "anthropic":
        provider, model = create_provider(name="claude", kind="anthropic", base_url=anthropic_server[1]), "c"
    elif kind == "ollama":
        provider, model = create_provider(name="llama", kind="ollama", base_url=ollama_server[1]), "l"
    else:
        provider, model = create_provider(name="sim", kind="simulated", options={"latency_ms": 1}), "s"
    create_model("m", [(provider, model)])
    key = create_key()
    label = f"{provider.name}/{model}"

    def seen() -> dict[str, Any] | None:
        """What the upstream received last (None: nothing, or no upstream)."""
        if kind == "openai":
            return upstream.last or None
        if kind in ("anthropic", "ollama"):
            fake = anthropic_server[0] if kind == "anthropic" else ollama_server[0]
            return fake.last_request
        return None

    def forget() -> None:
        upstream.reset()
        anthropic_server[0].reset()
        ollama_server[0].reset()

    wrong: list[str] = []
    for name, sample in SAMPLES.items():
        r = rule(name, kind)
        assert r is not None
        companions = {} if rule("tools", kind).how == REFUSED else COMPANIONS.get(name, {})
        forget()
        response = post(live_url, key, {"model": "m", "messages": HI, name: sample, **companions})
        body, sent = response.json(), seen()
        if r.refused(sample):
            error = body.get("error") or {}
            if (
                response.status_code != 400
                or error.get("param") != name
                or label not in error.get("message", "")
            ):
                wrong.append(
                    f"{name}: expected a 400 naming it and {label}, got {response.status_code} {body}"
                )
            elif sent is not None:
                wrong.append(f"{name}: refused, yet the upstream was called")
            continue
        if response.status_code != 200:
            wrong.append(f"{name}: {r.how}, yet {response.status_code} {body}")
            continue
        if sent is None:
            if kind != "simulated":
                wrong.append(f"{name}: the upstream got nothing")
        elif r.how == CARRIED and sent.get(name) != sample:
            wrong.append(f"{name}: carried, yet the upstream got {sent.get(name)!r}")
        elif r.how == TRANSLATED and r.upstream and at(sent, r.upstream) is None:
            wrong.append(f"{name}: translated, yet the upstream has no {r.upstream}: {sent}")
        elif r.how in (TRANSLATED, IGNORED) and kind != "openai" and name in sent and name != r.upstream:
            wrong.append(f"{name}: {r.how}, yet sent upstream under its OpenAI name")
    assert not wrong, "\n".join(wrong)


def test_drop_params_drops_what_a_deployment_refuses_and_says_so(live_url, anthropic_server):
    fake, url = anthropic_server
    fake.reset()
    create_model("claude", [(create_provider(name="claude", kind="anthropic", base_url=url), "c")])
    key = create_key()
    body = {"model": "claude", "messages": HI, "n": 2, "seed": 3, "temperature": 0.5}
    assert post(live_url, key, body).status_code == 400
    response = post(live_url, key, {**body, "drop_params": True})
    assert response.status_code == 200, response.text
    assert response.headers["x-router-dropped-params"] == "n,seed"
    assert "seed" not in fake.last_request and "drop_params" not in fake.last_request
    assert fake.last_request["temperature"] == 0.5


def test_a_model_with_drop_params_drops_for_every_request(live_url, anthropic_server):
    fake, url = anthropic_server
    fake.reset()
    provider = create_provider(name="claude", kind="anthropic", base_url=url)
    create_model("claude", [(provider, "c")], drop_params=True)
    response = post(live_url, create_key(), {"model": "claude", "messages": HI, "logprobs": True})
    assert response.status_code == 200
    assert response.headers["x-router-dropped-params"] == "logprobs"


def test_a_refusing_deployment_is_skipped_for_one_that_takes_the_field(live_url, upstream, anthropic_server):
    claude = create_provider(name="claude", kind="anthropic", base_url=anthropic_server[1])
    openai = create_provider(name="oa", kind="openai", base_url=upstream.base_url)
    create_model("m", [(claude, "c"), (openai, "ok")], strategy="simple-shuffle")
    key = create_key()
    for _ in range(4):
        response = post(live_url, key, {"model": "m", "messages": HI, "n": 2})
        assert response.status_code == 200
        assert response.headers["x-router-deployment"] == "oa/ok"
        assert "x-router-dropped-params" not in response.headers
