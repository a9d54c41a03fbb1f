"""What each provider kind does with each chat-completions field: the one table.

A field is *carried* (the upstream gets it under the same name and meaning), *translated* (the
adapter maps it onto the upstream's own parameter, named in `upstream`), *refused* (the
deployment cannot honour it: the request is a 400 naming the field and the deployment, unless
`drop_params` is on, when it is left out and listed in `x-router-dropped-params`) or *ignored*
(the simulator, which has no model to pass it to, accepts it without effect).

A refusal is decided per value: `n: 1` or `logprobs: false` ask for nothing a deployment lacks, so
only the values `refuses` names are refused. The router applies the table before each call
(`fit()`, from routing.fallback), so adapters only ever see fields they can carry or translate.
The README's compatibility table is rendered from it (`markdown_table()`, checked by a test).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from routerapp import errors
from routerapp.providers import KINDS
from routerapp.providers.base import ChatRequest

CARRIED, TRANSLATED, REFUSED, IGNORED = "carried", "translated", "refused", "ignored"


def _always(value: Any) -> bool:
    return True


def _true(value: Any) -> bool:
    return bool(value)


def _above_one(value: Any) -> bool:
    return value is not None and value != 1


def _audio(value: Any) -> bool:
    return isinstance(value, list) and "audio" in value


def _json(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") != "text"


def _forcing(value: Any) -> bool:
    return value == "required" or isinstance(value, dict)


@dataclass(frozen=True, slots=True)
class Rule:
    how: str
    # Where the value lands in the upstream's request, dotted ("options.seed"); "" when the
    # translation is not a value at one place (the README says how in `note`). Tests check it.
    upstream: str = ""
    refuses: Callable[[Any], bool] | None = None  # None: every value (refused) or none (otherwise)
    refused_values: str = ""  # which values `refuses` refuses, for the README and the 400
    note: str = ""

    def refused(self, value: Any) -> bool:
        if self.refuses is not None:
            return self.refuses(value)
        return self.how == REFUSED


def carried() -> Rule:
    return Rule(CARRIED)


def translated(
    upstream: str, *, note: str = "", refuses: Callable[[Any], bool] | None = None, values: str = ""
) -> Rule:
    return Rule(TRANSLATED, upstream, refuses, values, note)


def refused(*, when: Callable[[Any], bool] = _always, values: str = "") -> Rule:
    return Rule(REFUSED, refuses=when, refused_values=values)


IGNORE = Rule(IGNORED)
OPENAI = carried()

# field → kind → rule. The OpenAI-compatible kind carries everything (its upstream validates).
FIELDS: dict[str, dict[str, Rule]] = {
    "temperature": {
        "anthropic": carried(),
        "ollama": translated("options.temperature"),
        "simulated": IGNORE,
    },
    "top_p": {"anthropic": carried(), "ollama": translated("options.top_p"), "simulated": IGNORE},
    "top_k": {"anthropic": carried(), "ollama": translated("options.top_k"), "simulated": IGNORE},
    "presence_penalty": {
        "anthropic": refused(),
        "ollama": translated("options.presence_penalty"),
        "simulated": IGNORE,
    },
    "frequency_penalty": {
        "anthropic": refused(),
        "ollama": translated("options.frequency_penalty"),
        "simulated": IGNORE,
    },
    "max_tokens": {
        "anthropic": carried(),
        "ollama": translated("options.num_predict"),
        "simulated": carried(),
    },
    "max_completion_tokens": {
        "anthropic": translated("max_tokens"),
        "ollama": translated("options.num_predict"),
        "simulated": carried(),
    },
    "n": {
        "anthropic": refused(when=_above_one, values="n > 1"),
        "ollama": refused(when=_above_one, values="n > 1"),
        "simulated": refused(when=_above_one, values="n > 1"),
    },
    "stop": {
        "anthropic": translated("stop_sequences"),
        "ollama": translated("options.stop"),
        "simulated": IGNORE,
    },
    "seed": {"anthropic": refused(), "ollama": translated("options.seed"), "simulated": carried()},
    "logit_bias": {"anthropic": refused(), "ollama": refused(), "simulated": IGNORE},
    "logprobs": {
        "anthropic": refused(when=_true, values="true"),
        "ollama": refused(when=_true, values="true"),
        "simulated": carried(),
    },
    "top_logprobs": {
        "anthropic": refused(when=_true, values="> 0"),
        "ollama": refused(when=_true, values="> 0"),
        "simulated": IGNORE,
    },
    "user": {"anthropic": translated("metadata.user_id"), "ollama": IGNORE, "simulated": IGNORE},
    "tools": {"anthropic": translated("tools"), "ollama": carried(), "simulated": refused()},
    "tool_choice": {
        "anthropic": translated("tool_choice"),
        # Ollama cannot be made to call a tool.
        "ollama": translated(
            "", note="none leaves the tools out", refuses=_forcing, values="required, a named function"
        ),
        "simulated": refused(),
    },
    "parallel_tool_calls": {
        "anthropic": translated("tool_choice.disable_parallel_tool_use"),
        "ollama": translated("", note="false keeps the first tool call only"),
        "simulated": IGNORE,
    },
    "response_format": {
        "anthropic": translated("tool_choice", note="a forced tool; its input is the content"),
        "ollama": translated("format"),
        "simulated": refused(when=_json, values="a JSON format"),
    },
    "reasoning_effort": {
        "anthropic": translated("thinking.budget_tokens", note="thinking comes back as reasoning_content"),
        "ollama": translated("think", note="thinking comes back as reasoning_content"),
        "simulated": IGNORE,
    },
    # Ollama's own switch, sent as an extension field.
    "think": {"anthropic": refused(), "ollama": carried(), "simulated": IGNORE},
    "modalities": {
        "anthropic": refused(when=_audio, values="audio"),
        "ollama": refused(when=_audio, values="audio"),
        "simulated": refused(when=_audio, values="audio"),
    },
    "audio": {"anthropic": refused(), "ollama": refused(), "simulated": refused()},
    "prediction": {"anthropic": refused(), "ollama": refused(), "simulated": IGNORE},
    "web_search_options": {"anthropic": refused(), "ollama": refused(), "simulated": refused()},
    "service_tier": {"anthropic": refused(), "ollama": refused(), "simulated": IGNORE},
    "store": {
        "anthropic": refused(when=_true, values="true"),
        "ollama": refused(when=_true, values="true"),
        "simulated": IGNORE,
    },
}


def rule(field: str, kind: str) -> Rule | None:
    """The rule for `field` on `kind`; None for a field the table does not know (passed on as is,
    which only an OpenAI-compatible upstream reads)."""
    if kind == "openai":
        return OPENAI if field in FIELDS else None
    return FIELDS.get(field, {}).get(kind)


def fit(
    request: ChatRequest, *, kind: str, deployment: str, drop: bool
) -> tuple[ChatRequest, tuple[str, ...]]:
    """The request as deployment `deployment` of `kind` may receive it, and the fields dropped.

    Raise UnsupportedParamError for the first field the deployment refuses, unless `drop` (the
    model's or the request's `drop_params`) says to leave such fields out instead; fields the
    router added itself (`request.droppable`) are always left out.
    """
    refusals = [
        name
        for name, value in request.params.items()
        if value is not None and (r := rule(name, kind)) is not None and r.refused(value)
    ]
    if not refusals:
        return request, ()
    if not drop and (asked := [name for name in refusals if name not in request.droppable]):
        name = asked[0]
        raise errors.UnsupportedParamError(
            f"'{name}' is not supported by deployment '{deployment}' ({kind} provider)"
            f"{_values(FIELDS[name][kind])}; "
            "send drop_params: true to have it dropped",
            param=name,
        )
    params = {k: v for k, v in request.params.items() if k not in refusals}
    return dataclasses.replace(request, params=params), tuple(refusals)


def _values(r: Rule) -> str:
    return f" (refused: {r.refused_values})" if r.refused_values else ""


def markdown_table() -> str:
    """The README's compatibility table: one row per field, one column per kind."""

    def cell(r: Rule) -> str:
        text = r.how
        if r.how == TRANSLATED and r.upstream:
            text += f" → `{r.upstream}`"
        notes = [r.note] if r.note else []
        if r.refused_values:
            notes.append(r.refused_values if r.how == REFUSED else f"refused: {r.refused_values}")
        return text + (f" ({'; '.join(notes)})" if notes else "")

    lines = [
        "| field | " + " | ".join(KINDS) + " |",
        "|---" * (len(KINDS) + 1) + "|",
    ]
    for name in FIELDS:
        cells = [cell(rule(name, kind) or IGNORE) for kind in KINDS]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
