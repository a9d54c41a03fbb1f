"""An offline provider for demos, tests and benchmarks: plausible answers, real latency, chosen failures.

No network. Everything comes from seeded RNGs so runs are reproducible:

- the answer, whether it is "good" and the latency depend on (options `seed`, upstream model, the
  messages' text): the same request to the same simulated model gets the same answer at the same speed;
- the failure decision also depends on the attempt number of the request's `request_id`, counted in a
  small bounded per-process dict. A router retrying a failed request therefore gets a fresh draw and can
  succeed, a test replaying fixed request ids sees the same sequence, and over many distinct prompts
  the failure fraction follows `fail_rate`. Identical prompts sent under fresh request ids share their
  first-attempt decision; `fail_per_request: true` adds the request id to the draw for load tests that
  repeat one prompt.

Options (ProviderConfig.options, all optional; any of them can be overridden per upstream model under
`models: {upstream_model: {...}}`, so one provider can host models of different character; a per-model
value replaces the provider-wide one rather than merging with it):
  latency_ms 40        mean latency of a whole answer, or time to first token of a stream
  jitter_ms 10         latency is drawn uniformly from latency_ms ± jitter_ms
  chunk_delay_ms 5     pause between streamed chunks
  tokens_per_s         if set, longer answers take longer (and stream chunks are paced by it)
  fail_rate 0          fraction of attempts that fail (after half the latency: failing costs time too)
  fail_kinds           weights or a list of "unavailable" (503), "rate_limit" (429 with `retry_after_s`,
                       default 1) and "timeout"; default {"unavailable": 1.0}
  fail_per_request     see above
  stream_fail_after    cut streams after this many content chunks (or at the end if shorter) ...
  stream_fail_rate     ... with this probability per attempt (default 1 when stream_fail_after is set)
  seed 0               (the request's own `seed` parameter, when given, is part of every draw too)
  quality 0.8          a float or {task_type: q, "cluster:<n>": q, "default": q}: the chance that an
                       answer is "good" (task types and prompt clusters as routerapp.optimizer.detect
                       names them; a cluster's entry wins over its type's; route() detects the
                       request's, a request built without route() counts as "qa")
  context_window 8192  prompts estimated above it raise ContextWindowExceededError
  content_filter []    words that make a request raise ContentPolicyError

A request with `logprobs: true` gets per-piece `logprobs` (non-streamed answers only), higher on
average for good answers than for degraded ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from routerapp import errors
from routerapp.providers import simulated_answers
from routerapp.providers.base import (
    Adapter,
    ChatChunk,
    ChatRequest,
    ChatResult,
    EmbeddingRequest,
    EmbeddingResult,
    Timeouts,
    Usage,
    chat_completion,
    chunk_dict,
    completion_id,
    estimate_prompt_tokens,
    estimate_tokens,
    message_text,
    usage_chunk,
)

# Attempts per (provider, model, request_id). Module-level because the router may build a fresh adapter
# for every call; bounded so a long-running process does not grow without limit.
_ATTEMPTS: OrderedDict[tuple[str, str, str], int] = OrderedDict()
_MAX_TRACKED_REQUESTS = 4096

# Word-sized stream pieces whose concatenation is exactly the answer.
_PIECES = re.compile(r"\S+\s*|\s+")

_FAIL_KINDS = ("unavailable", "rate_limit", "timeout")

# The length of a simulated embedding when the request names no `dimensions`.
EMBEDDING_DIMENSIONS = 256


@dataclass(slots=True)
class _Plan:
    content: str
    finish_reason: str
    usage: Usage
    latency_s: float
    simulated: dict[str, Any]
    conversation: str  # the messages' text, part of every seed


class SimulatedAdapter(Adapter):
    OPTIONS = frozenset(
        {
            "latency_ms", "jitter_ms", "chunk_delay_ms", "tokens_per_s", "fail_rate", "fail_kinds",
            "retry_after_s", "fail_per_request", "stream_fail_after", "stream_fail_rate", "seed",
            "quality", "context_window", "content_filter", "models",
        }
    )  # fmt: skip
    kind = "simulated"

    async def complete(self, request: ChatRequest, upstream_model: str, timeouts: Timeouts) -> ChatResult:
        options, plan, _ = await self._begin(request, upstream_model, timeouts.total)
        duration = plan.latency_s
        if options.get("tokens_per_s"):
            duration += plan.usage.completion_tokens / float(options["tokens_per_s"])
        await self._wait(duration, timeouts.total)
        body = chat_completion(
            id=completion_id(),
            model=upstream_model,
            content=plan.content,
            finish_reason=plan.finish_reason,
            usage=plan.usage,
        )
        body["system_fingerprint"] = f"sim-{upstream_model}"
        body["x_simulated"] = plan.simulated
        if request.params.get("logprobs"):
            body["choices"][0]["logprobs"] = {"content": self._logprobs(plan, upstream_model, options)}
        return ChatResult(body=body, usage=plan.usage)

    def _logprobs(self, plan: _Plan, upstream_model: str, options: dict[str, Any]) -> list[dict[str, Any]]:
        """Per-piece log-probabilities, as a real model's are: on average higher (less negative) when
        the answer is good, with much overlap: each answer draws its own mean, uniformly from
        0.1–0.5 for a good answer and 0.25–0.75 for a degraded one, and each piece draws -Exp(mean)."""
        rng = _rng(options.get("seed", 0), upstream_model, plan.conversation, "logprobs")
        mean = rng.uniform(0.1, 0.5) if plan.simulated["good"] else rng.uniform(0.25, 0.75)
        return [
            {
                "token": piece,
                "logprob": round(-rng.expovariate(1 / mean), 4),
                "bytes": None,
                "top_logprobs": [],
            }
            for piece in _PIECES.findall(plan.content)
        ]

    async def stream(
        self, request: ChatRequest, upstream_model: str, timeouts: Timeouts
    ) -> AsyncIterator[ChatChunk]:
        options, plan, cut_after = await self._begin(request, upstream_model, timeouts.first_token)
        id_, created, fingerprint = completion_id(), int(time.time()), f"sim-{upstream_model}"

        def chunk(delta: dict[str, Any] | None = None, finish_reason: str | None = None) -> ChatChunk:
            data = chunk_dict(
                id=id_, model=upstream_model, created=created, delta=delta, finish_reason=finish_reason
            )
            data["system_fingerprint"] = fingerprint
            return ChatChunk(data=data)

        await self._wait(plan.latency_s, timeouts.first_token)
        yield chunk({"role": "assistant", "content": ""})
        tokens_per_s = float(options.get("tokens_per_s") or 0)
        chunk_delay_s = float(options.get("chunk_delay_ms", 5)) / 1000
        pieces = _PIECES.findall(plan.content)
        for index, piece in enumerate(pieces):
            if index == cut_after:
                raise self._stream_cut(index)
            if index:
                await self._wait(
                    estimate_tokens(piece) / tokens_per_s if tokens_per_s else chunk_delay_s,
                    timeouts.between_chunks,
                )
            yield chunk({"content": piece})
        if cut_after is not None:  # the answer was shorter than stream_fail_after: cut before the finish
            raise self._stream_cut(len(pieces))
        finish = chunk(finish_reason=plan.finish_reason)
        finish.data["x_simulated"] = plan.simulated
        yield finish
        yield usage_chunk(id=id_, model=upstream_model, created=created, usage=plan.usage)

    async def embed(
        self, request: EmbeddingRequest, upstream_model: str, timeouts: Timeouts
    ) -> EmbeddingResult:
        """Deterministic unit vectors: the same text to the same model and seed, the same vector
        (of `dimensions`, default EMBEDDING_DIMENSIONS), after the simulated latency."""
        options = self._options(upstream_model)
        size = int(request.params.get("dimensions") or EMBEDDING_DIMENSIONS)
        vectors = []
        for item in request.input:
            rng = _rng(options.get("seed", 0), upstream_model, "embed", item)
            vector = [rng.gauss(0.0, 1.0) for _ in range(size)]
            norm = math.sqrt(sum(x * x for x in vector)) or 1.0
            vectors.append([x / norm for x in vector])
        await self._wait(float(options.get("latency_ms", 40)) / 1000, timeouts.total)
        tokens = sum(estimate_tokens(item) if isinstance(item, str) else len(item) for item in request.input)
        return EmbeddingResult(vectors=vectors, usage=Usage(tokens, 0))

    async def probe(self, upstream_model: str, timeouts: Timeouts) -> None:
        # Quick on purpose: health checks should not pay the simulated latency.
        if float(self._options(upstream_model).get("fail_rate", 0)) >= 1.0:
            raise errors.ProviderUnavailableError(f"{self.provider.name}: simulated outage", status=503)

    async def _begin(
        self, request: ChatRequest, upstream_model: str, limit: float
    ) -> tuple[dict[str, Any], _Plan, int | None]:
        """Plan the answer and draw this attempt's failure, raised half a latency in (within `limit`,
        the timeout that applies before the first byte): (options, plan, stream cut position)."""
        options = self._options(upstream_model)
        plan = self._plan(request, upstream_model, options)
        failure, cut_after = self._draw_failure(request, upstream_model, options, plan)
        if failure is not None:
            await self._wait(plan.latency_s / 2, limit)
            raise failure
        return options, plan, cut_after

    def _options(self, upstream_model: str) -> dict[str, Any]:
        options = dict(self.provider.options)
        options.update((options.pop("models", None) or {}).get(upstream_model) or {})
        return options

    def _plan(self, request: ChatRequest, upstream_model: str, options: dict[str, Any]) -> _Plan:
        """Validate the request and decide the answer, its quality and its latency (no side effects)."""
        name = self.provider.name
        prompt_tokens = estimate_prompt_tokens(request.messages)
        context_window = int(options.get("context_window", 8192))
        if prompt_tokens > context_window:
            raise errors.ContextWindowExceededError(
                f"{name}: this model's maximum context length is {context_window} tokens, "
                f"the messages take about {prompt_tokens}"
            )
        texts = [message_text(m) for m in request.messages]
        if banned := [str(word) for word in options.get("content_filter") or () if str(word).strip()]:
            pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in banned) + r")\b", re.IGNORECASE)
            if any(pattern.search(text) for text in texts):
                raise errors.ContentPolicyError(
                    f"{name}: the request was rejected by the content policy (simulated)"
                )

        seed = options.get("seed", 0)
        conversation = "\x1e".join(
            f"{m.get('role')}:{text}" for m, text in zip(request.messages, texts, strict=True)
        )
        # The request's sampling `seed` is a fresh draw, as for a real model at temperature > 0: an
        # ensemble sampling one model several times (each with its own seed) gets independent answers.
        if request.params.get("seed") is not None:
            conversation += f"\x1dseed={request.params['seed']}"
        # The simulated model is better at some task types (and clusters) than others; a request
        # that did not come through route() (an adapter's test) has no task type: a question.
        detected = request.task
        task, cluster = (detected.task_type, detected.cluster) if detected is not None else ("qa", None)
        quality = _quality(options.get("quality"), task, cluster)
        good = _rng(seed, upstream_model, conversation, "quality").random() < quality
        prompt = _last_user_text(request.messages)
        system = " ".join(
            t for m, t in zip(request.messages, texts, strict=True) if m.get("role") == "system"
        )
        content = simulated_answers.answer(
            task, prompt, system, _rng(seed, upstream_model, conversation, "answer"), good=good
        )

        finish_reason = "stop"
        limit = request.params.get("max_completion_tokens") or request.params.get("max_tokens")
        if limit is not None and estimate_tokens(content) > int(limit):
            content, finish_reason = _truncate(content, int(limit)), "length"

        jitter = float(options.get("jitter_ms", 10))
        latency_ms = float(options.get("latency_ms", 40))
        latency_ms += (
            _rng(seed, upstream_model, conversation, "latency").uniform(-jitter, jitter) if jitter else 0
        )
        return _Plan(
            content=content,
            finish_reason=finish_reason,
            usage=Usage(prompt_tokens, estimate_tokens(content), estimated=False),
            latency_s=max(0.0, latency_ms) / 1000,
            simulated={"task_type": task, "quality": quality, "good": good},
            conversation=conversation,
        )

    def _draw_failure(
        self, request: ChatRequest, upstream_model: str, options: dict[str, Any], plan: _Plan
    ) -> tuple[errors.RouterError | None, int | None]:
        """Count this attempt and decide whether it fails: (error to raise now, stream cut position)."""
        key = (self.provider.name, upstream_model, request.request_id)
        attempt = _ATTEMPTS.pop(key, 0)
        _ATTEMPTS[key] = attempt + 1
        while len(_ATTEMPTS) > _MAX_TRACKED_REQUESTS:
            _ATTEMPTS.popitem(last=False)
        plan.simulated["attempt"] = attempt

        per_request = request.request_id if options.get("fail_per_request") else ""
        rng = _rng(options.get("seed", 0), upstream_model, plan.conversation, "fail", attempt, per_request)
        # Draw both numbers always so changing one rate does not reshuffle the other decision.
        fail_draw, cut_draw = rng.random(), rng.random()
        if fail_draw < float(options.get("fail_rate", 0)):
            return self._failure(options, rng), None
        cut_after = options.get("stream_fail_after")
        if cut_after is not None and cut_draw < float(options.get("stream_fail_rate", 1.0)):
            return None, max(0, int(cut_after))
        return None, None

    def _failure(self, options: dict[str, Any], rng: random.Random) -> errors.RouterError:
        kinds = options.get("fail_kinds") or {"unavailable": 1.0}
        if isinstance(kinds, str):
            kinds = [kinds]
        weights = kinds if isinstance(kinds, dict) else dict.fromkeys(kinds, 1.0)
        weights = {kind: float(w) for kind, w in weights.items() if kind in _FAIL_KINDS and float(w) > 0}
        kind = rng.choices(list(weights), weights=list(weights.values()))[0] if weights else "unavailable"
        name = self.provider.name
        if kind == "rate_limit":
            retry_after = float(options.get("retry_after_s", 1.0))
            return errors.RateLimitError(f"{name}: simulated rate limit", retry_after=retry_after)
        if kind == "timeout":
            return errors.UpstreamTimeoutError(f"{name}: simulated upstream timeout")
        return errors.ProviderUnavailableError(f"{name}: simulated upstream failure (503)", status=503)

    def _stream_cut(self, chunks: int) -> errors.ProviderUnavailableError:
        return errors.ProviderUnavailableError(
            f"{self.provider.name}: simulated stream cut after {chunks} chunks"
        )

    async def _wait(self, seconds: float, limit: float) -> None:
        """Sleep like a slow upstream; past the caller's timeout, give up as an httpx read timeout would."""
        if seconds > limit:
            await self._sleep(limit)
            raise errors.UpstreamTimeoutError(
                f"{self.provider.name}: upstream timed out (simulated, {seconds:.2f}s > {limit:.2f}s)"
            )
        if seconds > 0:
            await self._sleep(seconds)

    async def _sleep(self, seconds: float) -> None:
        # The one place the simulator spends time: its tests note the waits here instead of timing them.
        await asyncio.sleep(seconds)


def _rng(*parts: object) -> random.Random:
    # blake2b rather than hash(): str hashes are salted per process, these draws must not be.
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _quality(option: Any, task: str, cluster: int | None = None) -> float:
    if isinstance(option, dict):
        value = option.get(f"cluster:{cluster}", option.get(task, option.get("default", 0.8)))
    else:
        value = option
    return min(1.0, max(0.0, float(0.8 if value is None else value)))


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return message_text(messages[-1]) if messages else ""


def _truncate(text: str, max_tokens: int) -> str:
    """Cut at a word boundary so the estimated tokens fit in max_tokens."""
    out = ""
    for piece in _PIECES.findall(text):
        if estimate_tokens((out + piece).rstrip()) > max_tokens:
            break
        out += piece
    # A first word longer than the budget: cut it by characters (~4 per estimated token).
    return out.rstrip() or text[: max(0, max_tokens) * 4]
