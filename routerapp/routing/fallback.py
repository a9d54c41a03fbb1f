"""Candidates, retries with backoff, and fallbacks: one Attempt row per upstream call.

The `Attempter` walks a plan: the requested model's deployments in the order its strategy chose,
then each model named in `fallbacks`. Deployments that are cooling down, out of rate-limit
headroom, or too small for the prompt are skipped (and the reason recorded). Retryable failures are
retried on the same deployment with exponential backoff (factor 2, jitter, cap, Retry-After
honoured) until the retry budget is spent or the breaker opens; then the plan moves on.
Context-window and content-policy rejections skip retries and jump to their own fallback lists.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings

from routerapp import errors
from routerapp.history import AttemptDraft, RecordDraft
from routerapp.providers import adapter_for
from routerapp.providers.base import Adapter, ChatRequest, Timeouts
from routerapp.routing import breaker, limits
from routerapp.routing.strategies import Selection, get_strategy
from routerapp.routing.table import DeploymentInfo, GroupInfo, RoutingTable

T = TypeVar("T")
logger = logging.getLogger(__name__)

BACKOFF_FACTOR = 2.0


@dataclass(slots=True)
class Call:
    """One upstream attempt as the caller's function receives it."""

    deployment: DeploymentInfo
    group: GroupInfo
    adapter: Adapter
    timeouts: Timeouts
    retry: int


def backoff_delay(retry: int, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number `retry + 1`: base × 2^retry, jittered ±50 %, capped."""
    base, cap = settings.ROUTER["BACKOFF_BASE_S"], settings.ROUTER["BACKOFF_MAX_S"]
    delay = min(cap, base * BACKOFF_FACTOR**retry) * random.uniform(0.5, 1.5)
    if retry_after:
        delay = max(delay, retry_after)
    return delay


def timeouts_for(request: ChatRequest, group: GroupInfo, deployment: DeploymentInfo) -> Timeouts:
    total = request.timeout_s or group.timeout_s or deployment.provider.timeout_s
    return Timeouts(
        connect=min(total, settings.ROUTER["CONNECT_TIMEOUT_S"]),
        total=total,
        first_token=min(total, group.first_token_timeout_s or total),
        between_chunks=min(total, group.chunk_timeout_s or total),
    )


class Attempter:
    def __init__(
        self,
        table: RoutingTable,
        group: GroupInfo,
        request: ChatRequest,
        draft: RecordDraft,
        *,
        started: float,
        prompt_tokens: int,
        hints: dict | None = None,
    ) -> None:
        self.table = table
        self.requested = group
        self.request = request
        self.draft = draft
        self.started = started
        self.prompt_tokens = prompt_tokens
        self.hints = hints or {}
        # Time spent waiting on upstreams or backoff: subtracted from wall time to get overhead.
        self.upstream_s = 0.0
        self.last_error: errors.RouterError | None = None
        self._tried_groups: set[str] = set()
        self._plan = self._walk([group, *self._groups(group.fallbacks)])
        self._skip_reasons: set[str] = set()
        self._min_cooldown: float | None = None
        self._reservation: limits.Reservation | None = None

    # The plan: which deployment to try next.

    def _walk(self, groups: list[GroupInfo]) -> Iterator[tuple[GroupInfo, DeploymentInfo]]:
        for group in groups:
            if group.name in self._tried_groups:
                continue
            self._tried_groups.add(group.name)
            yield from self._deployments_of(group)

    def _groups(self, names: tuple[str, ...]) -> list[GroupInfo]:
        return [self.table.groups[n] for n in names if n in self.table.groups]

    def _deployments_of(self, group: GroupInfo) -> Iterator[tuple[GroupInfo, DeploymentInfo]]:
        eligible = []
        cooling = breaker.cooled_down(group.deployments) if len(group.deployments) > 1 else {}
        for d in group.deployments:
            if d.id in cooling:
                self._skip(d, "cooldown")
                remaining = cooling[d.id]
                self._min_cooldown = (
                    remaining if self._min_cooldown is None else min(self._min_cooldown, remaining)
                )
            elif d.context_window and self.prompt_tokens > d.context_window:
                self._skip(d, "context_window")
            else:
                eligible.append(d)
        if not eligible:
            return
        strategy = get_strategy(group.strategy)
        ordered = strategy.order(Selection(self.request, group, eligible, self.prompt_tokens, self.hints))
        for d in ordered:
            reservation = limits.reserve(
                d, self.prompt_tokens + int(self.request.params.get("max_tokens") or 0)
            )
            if reservation is None:
                self._skip(d, "rate_limited")
                continue
            self._reservation = reservation
            yield group, d

    def _skip(self, deployment: DeploymentInfo, reason: str) -> None:
        self._skip_reasons.add(reason)
        self.draft.skipped.append({"deployment": deployment.id, "reason": reason})

    def jump(self, fallback_names: tuple[str, ...]) -> None:
        """Abandon the rest of the plan for a special fallback list (context window, content policy)."""
        self._plan = self._walk(self._groups(fallback_names))

    # Running attempts.

    async def run(self, call: Callable[[Call], Awaitable[T]]) -> tuple[T, Call]:
        """Try deployments in plan order until `call` succeeds; raise the decisive error otherwise."""
        for group, deployment in self._plan:
            result = await self._try_deployment(group, deployment, call)
            if result is not None:
                return result
        raise self._exhausted()

    async def _try_deployment(
        self, group: GroupInfo, deployment: DeploymentInfo, call: Callable[[Call], Awaitable[T]]
    ) -> tuple[T, Call] | None:
        adapter = adapter_for(deployment.provider)
        timeouts = timeouts_for(self.request, group, deployment)
        num_retries = self.request.num_retries if self.request.num_retries is not None else group.num_retries
        strategy = get_strategy(group.strategy)
        for retry in range(num_retries + 1):
            attempt = Call(deployment, group, adapter, timeouts, retry)
            begin = time.perf_counter()
            breaker.record_attempt(deployment)
            strategy.started(deployment)
            try:
                result = await _invoke(call, attempt)
            except errors.RouterError as exc:
                elapsed = time.perf_counter() - begin
                self._record(attempt, begin, elapsed, exc)
                strategy.finished(deployment, latency_ms=elapsed * 1000, ok=False)
                self.last_error = exc
                opened = (
                    breaker.record_failure(deployment, group, exc) if _is_deployment_fault(exc) else False
                )
                if isinstance(exc, errors.ContextWindowExceededError):
                    self.jump(group.context_window_fallbacks)
                    return None
                if isinstance(exc, errors.ContentPolicyError):
                    self.jump(group.content_policy_fallbacks)
                    return None
                if not _is_deployment_fault(exc):
                    raise  # the request itself is bad: no other deployment will take it
                if not exc.retryable or opened or retry == num_retries:
                    return None
                delay = backoff_delay(retry, exc.retry_after)
                if delay > settings.ROUTER["BACKOFF_MAX_S"] * 2:
                    return None  # the upstream wants a long pause: better another deployment now
                await asyncio.sleep(delay)
                self.upstream_s += delay
                continue
            elapsed = time.perf_counter() - begin
            self._record(attempt, begin, elapsed, None)
            strategy.finished(deployment, latency_ms=elapsed * 1000, ok=True)
            breaker.record_success(deployment)
            if group is not self.requested:
                self.draft.fallback_used = True
            return result, attempt
        return None

    def _record(self, attempt: Call, begin: float, elapsed: float, error: errors.RouterError | None) -> None:
        self.upstream_s += elapsed
        draft = AttemptDraft(
            deployment_id=attempt.deployment.id,
            retry=attempt.retry,
            status="ok" if error is None else "error",
            start_ms=(begin - self.started) * 1000,
            latency_ms=elapsed * 1000,
        )
        if error is not None:
            draft.http_status = error.status
            draft.error_type = error.error_type
            draft.error_message = error.message[:500]
        self.draft.attempts.append(draft)

    def record_stream_failure(self, call: Call, begin: float, error: errors.RouterError) -> None:
        """A stream that broke after its first chunk: one failed attempt, counted by the breaker."""
        elapsed = time.perf_counter() - begin
        self._record(call, begin, elapsed, error)
        self.last_error = error
        get_strategy(call.group.strategy).finished(call.deployment, latency_ms=elapsed * 1000, ok=False)
        breaker.record_failure(call.deployment, call.group, error)

    def settle(self, deployment: DeploymentInfo, tokens: int) -> None:
        limits.settle(deployment, self._reservation, tokens)

    def _exhausted(self) -> errors.RouterError:
        if self.last_error is not None:
            return self.last_error
        name = self.requested.name
        if not self.requested.deployments:
            return errors.ProviderUnavailableError(f"model '{name}' has no enabled deployments", status=503)
        if "cooldown" in self._skip_reasons:
            return errors.ProviderUnavailableError(
                f"every deployment of '{name}' is cooling down after failures; retry shortly",
                status=503,
                retry_after=self._min_cooldown or 1.0,
            )
        if "rate_limited" in self._skip_reasons:
            _, left = limits.minute_window()
            return errors.RateLimitError(
                f"every deployment of '{name}' is at its rate limit", retry_after=left
            )
        if "context_window" in self._skip_reasons:
            return errors.ContextWindowExceededError(
                f"the prompt (~{self.prompt_tokens} tokens) exceeds the context window of every deployment of '{name}'"
            )
        return errors.ProviderUnavailableError(
            f"no deployment of '{name}' could take the request", status=503
        )


async def _invoke(call: Callable[[Call], Awaitable[T]], attempt: Call) -> T:
    """Run one attempt; an unexpected exception (an adapter bug, an upstream shape nobody foresaw)
    counts as that deployment failing, so the request can still be served by another."""
    try:
        return await call(attempt)
    except errors.RouterError:
        raise
    except Exception as exc:
        logger.exception("unexpected error calling %s", attempt.deployment.label)
        raise errors.ProviderUnavailableError(
            f"{attempt.deployment.label}: unexpected {type(exc).__name__} while calling the upstream"
        ) from exc


def _is_deployment_fault(exc: errors.RouterError) -> bool:
    """True when another deployment might succeed where this one failed."""
    # Context-window / content-policy are handled by their own fallback lists; other 4xx mean
    # the request itself is wrong.
    return isinstance(
        exc,
        errors.AuthenticationError
        | errors.RateLimitError
        | errors.TimeoutError
        | errors.ProviderUnavailableError,
    )
