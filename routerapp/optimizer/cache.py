"""The response cache: an exact-match cache of answers in the shared Django cache (Redis when set).

The key is a hash of the request as sent upstream (model name, messages after rewriting, every
parameter), so two requests share an answer only when an upstream would have seen the same thing.
Only deterministic requests are cached (temperature 0, one choice) unless the model opts in with
`cache_any_temperature`, and only plain text answers (no tool calls).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from routerapp.conf import router_settings
from routerapp.providers.base import ChatRequest
from routerapp.sharedcache import cache

PREFIX = "optimizer:answer:"
# Parameters that do not change the answer.
_IGNORED = frozenset({"user", "stream", "stream_options", "optimize"})


@dataclass(slots=True, frozen=True)
class CachedAnswer:
    content: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    deployment: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "finish_reason": self.finish_reason,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "deployment": self.deployment,
        }


def cacheable(request: ChatRequest, *, any_temperature: bool) -> bool:
    params = request.params
    if params.get("n", 1) != 1:
        return False
    return any_temperature or params.get("temperature") == 0


def key_for(request: ChatRequest) -> str:
    params = {k: v for k, v in request.params.items() if k not in _IGNORED}
    payload = orjson.dumps([request.model, request.messages, params], option=orjson.OPT_SORT_KEYS)
    return PREFIX + hashlib.sha256(payload).hexdigest()


def lookup(key: str) -> CachedAnswer | None:
    value = cache().get(key)
    if not isinstance(value, dict):
        return None
    try:
        return CachedAnswer(**value)
    except TypeError:
        return None  # written by another version of the router


def store(key: str, answer: CachedAnswer, ttl_s: float | None) -> None:
    cache().set(
        key, answer.to_dict(), timeout=ttl_s if ttl_s is not None else router_settings()["CACHE_TTL_S"]
    )
