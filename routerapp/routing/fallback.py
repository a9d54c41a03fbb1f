"""Candidates, retries with backoff, and fallbacks: one Attempt row per upstream call.

The `Attempter` walks a plan: the requested model's deployments in the order its strategy chose,
then each model named in `fallbacks`. Deployments that are cooling down, out of rate-limit
headroom, or too small for the prompt are skipped (and the reason recorded); a prompt too long for
a deployment puts the group's `context_window_fallbacks` next in the plan, before anything is sent.
A deployment whose cooldown just ended goes first for the one request that won its half-open probe.
Retryable failures are retried on the same deployment with exponential backoff (factor 2, jitter,
cap, Retry-After honoured), each retry taking its own rate-limit reservation, until the retry
budget is spent or the breaker opens; then the plan moves on. Context-window and content-policy
rejections from the upstream skip retries and jump to their own fallback lists.

One deadline covers the whole walk (retries, backoff and fallbacks): the client's `timeout`, or
ROUTER["REQUEST_DEADLINE_S"]. Each attempt gets the smaller of its own timeout and the time left;
a timeout at the deadline is the request's (DeadlineExceededError, 504), not the deployment's.
Only upstream faults feed the breaker: a request the client got wrong, a deadline the client
chose, or a bug of ours never cools a deployment down for everyone else.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from typing import TypeVar

from routerapp import errors
from routerapp.conf import router_settings
from routerapp.observability.drafts import AttemptDraft, RecordDraft
from routerapp.observability.tracing import record_span, span
from routerapp.optimizer import plan as optimizer
from routerapp.providers import adapter_for, fields
from routerapp.providers.base import (
    Adapter,
    ChatRequest,
    RoutedRequest,
    Timeouts,
    estimate_prompt_tokens,
    forwarded_headers,
)
from routerapp.providers.redact import redact
from routerapp.routing import breaker, limits
from routerapp.routing.clock import clock
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
    # The request as this deployment receives it: fields it refuses dropped (providers.fields).
    request: RoutedRequest
    # Set once the upstream answered (streams: sent their first chunk).
    begin: float = 0.0
    latency_ms: float | None = None
    # Streams: set by Attempter.stream_ended(), so a stream's end is accounted exactly once.
    ended: bool = False

    @property
    def chat(self) -> ChatRequest:
        """`request`, for the chat callers (an Attempter routes one kind of request at a time)."""
        assert isinstance(self.request, ChatRequest)
        return self.request

    async def within_timeout(self, answer: Awaitable[T]) -> T:
        """The upstream's answer within this deployment's total timeout, or UpstreamTimeoutError
        (a cap over httpx's per-read timeouts: an upstream trickling bytes cannot outlast it)."""
        try:
            async with asyncio.timeout(self.timeouts.total):
                return await answer
        except TimeoutError:
            raise errors.UpstreamTimeoutError(
                f"{self.deployment.label}: no answer within {self.timeouts.total:g}s"
            ) from None


# One step of the plan: a deployment to try, with the rate-limit reservation taken for it.
Step = tuple[GroupInfo, DeploymentInfo, limits.Reservation]


def backoff_delay(retry: int, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number `retry + 1`: base × 2^retry capped, then jittered down
    to as little as half ("equal jitter"): the cap stays a true maximum, and retries that reached it
    still spread out instead of firing in step."""
    base, cap = router_settings()["BACKOFF_BASE_S"], router_settings()["BACKOFF_MAX_S"]
    delay = min(cap, base * BACKOFF_FACTOR**retry) * random.uniform(0.5, 1.0)
    if retry_after:
        delay = max(delay, retry_after)
    return delay


def timeouts_for(group: GroupInfo, deployment: DeploymentInfo, remaining: float) -> Timeouts:
    """One attempt's timeouts: the model's (or its provider's), none longer than the time left."""
    own = group.timeout_s or deployment.provider.timeout_s
    total = min(own, remaining)
    return Timeouts(
        connect=min(total, router_settings()["CONNECT_TIMEOUT_S"]),
        total=total,
        first_token=min(total, group.first_token_timeout_s or own),
        between_chunks=min(own, group.chunk_timeout_s or own),
    )


def deadline_s(request: RoutedRequest) -> float:
    """Seconds the whole request may take: the client's `timeout`, else the router's default."""
    return request.timeout_s or router_settings()["REQUEST_DEADLINE_S"]


class Attempter:
    def __init__(
        self,
        table: RoutingTable,
        group: GroupInfo,
        request: RoutedRequest,
        draft: RecordDraft,
        *,
        started: float,
        prompt_tokens: int,
    ) -> None:
        self.table = table
        self.requested = group
        self.request = request
        self.draft = draft
        self.started = started
        self.prompt_tokens = prompt_tokens
        # perf_counter() time by which the request must be answered, retries and fallbacks included.
        self.deadline = started + deadline_s(request)
        # Time spent waiting on upstreams or backoff: subtracted from wall time to get overhead.
        self.upstream_s = 0.0
        self.last_error: errors.RouterError | None = None
        self._tried_groups: set[str] = set()
        # The client's own `fallbacks` come after the model's (route() checked the key may use them).
        self._plan = self._walk([group, *self._groups(group.fallbacks), *self._groups(request.fallbacks)])
        self._skip_reasons: set[str] = set()
        self._min_cooldown: float | None = None
        # The reservation of each deployment that answered, settled once its real usage is known.
        self._reservations: dict[int, limits.Reservation] = {}
        # The first deployment that refused a field of the request, if none could take it.
        self._refusal: errors.UnsupportedParamError | None = None
        # The prompt's estimated size per context window it was trimmed to (compress on).
        self._fitted_tokens: dict[int | None, int] = {}

    # The plan: which deployment to try next.

    def _walk(self, groups: list[GroupInfo]) -> Iterator[Step]:
        queue = deque(groups)
        while queue:
            group = queue.popleft()
            if group.name in self._tried_groups:
                continue
            self._tried_groups.add(group.name)
            too_long = yield from self._deployments_of(group)
            if too_long:
                # Decided before sending: the prompt is known not to fit some of this group's
                # deployments, so its larger context_window_fallbacks come before anything else.
                queue.extendleft(reversed(self._groups(group.context_window_fallbacks)))

    def _groups(self, names: tuple[str, ...]) -> list[GroupInfo]:
        return [self.table.groups[n] for n in names if n in self.table.groups]

    def _deployments_of(self, group: GroupInfo) -> Generator[Step, None, bool]:
        """Yield the group's usable deployments in strategy order; return True if the prompt was
        too long for any of them."""
        eligible = []
        too_long = False
        # A single deployment is never cooled down (see breaker.record_failure): nothing to look up.
        cooling, probe = breaker.check(group.deployments) if len(group.deployments) > 1 else ({}, None)
        for d in group.deployments:
            if d.id in cooling:
                self._skip(d, "cooldown")
                remaining = cooling[d.id]
                self._min_cooldown = (
                    remaining if self._min_cooldown is None else min(self._min_cooldown, remaining)
                )
            elif d.settings.context_window and self._prompt_tokens_for(d) > d.settings.context_window:
                too_long = True
                self._skip(d, "context_window")
            else:
                eligible.append(d)
        if not eligible:
            if probe is not None:
                breaker.release_probe(probe)
            return too_long
        strategy = get_strategy(group.strategy)
        with span("select", model=group.name, strategy=group.strategy, eligible=len(eligible)):
            ordered = strategy.order(Selection(self.request, group, eligible, self.prompt_tokens))
        if probe is not None:
            if any(d.id == probe for d in ordered):
                # This request won the half-open probe: it tries that deployment first, or the slot
                # would sit unused and keep a recovered deployment out of rotation until it expires.
                ordered = sorted(ordered, key=lambda d: d.id != probe)
            else:
                breaker.release_probe(probe)
        for d in ordered:
            reservation = self._reserve(d)
            if reservation is None:
                self._skip(d, "rate_limited")
                if d.id == probe:
                    breaker.release_probe(probe)
                continue
            yield group, d, reservation
        return too_long

    def _prompt_tokens_for(self, deployment: DeploymentInfo) -> int:
        """The prompt's size as this deployment would get it: trimmed to its window when the
        optimizer's `compress` is on (optimizer.plan.fit_context), else as sent."""
        window = deployment.settings.context_window
        if not isinstance(self.request, ChatRequest):
            return self.prompt_tokens
        if window not in self._fitted_tokens:
            fitted, dropped = optimizer.fit_context(self.request, window)
            self._fitted_tokens[window] = (
                estimate_prompt_tokens(fitted.messages) if dropped else self.prompt_tokens
            )
        return self._fitted_tokens[window]

    def _reserve(self, deployment: DeploymentInfo) -> limits.Reservation | None:
        params = self.request.params
        expected_out = int(params.get("max_tokens") or params.get("max_completion_tokens") or 0)
        return limits.reserve(deployment, self.prompt_tokens + expected_out)

    def _skip(self, deployment: DeploymentInfo, reason: str) -> None:
        self._skip_reasons.add(reason)
        self.draft.skipped.append({"deployment": deployment.id, "reason": reason})

    def jump(self, fallback_names: tuple[str, ...]) -> None:
        """Abandon the rest of the plan for a special fallback list (context window, content policy)."""
        self._plan = self._walk(self._groups(fallback_names))

    # Running attempts.

    def remaining(self) -> float:
        return self.deadline - time.perf_counter()

    def _deadline_error(self) -> errors.DeadlineExceededError:
        message = f"the request's deadline of {deadline_s(self.request):g}s passed"
        if self.last_error is not None:
            message += f"; last upstream error: {self.last_error.message}"
        return errors.DeadlineExceededError(message)

    async def run(
        self, call: Callable[[Call], Awaitable[T]], request: RoutedRequest | None = None
    ) -> tuple[T, Call]:
        """Try deployments in plan order until `call` succeeds; raise the decisive error otherwise.

        `request` (default: the attempter's) is fitted to each deployment and given to `call` as
        `Call.request`; a stream's continuation passes its own."""
        request = request or self.request
        # next() on self._plan at every step rather than a for loop over it: jump() replaces the
        # plan mid-walk, and a for loop would go on with the old one.
        while (step := next(self._plan, None)) is not None:
            group, deployment, reservation = step
            if self.remaining() <= 0:
                limits.settle(deployment, reservation, 0)  # nothing will be sent: give the room back
                raise self._deadline_error()
            result = await self._try_deployment(group, deployment, reservation, call, request)
            if result is not None:
                return result
        raise self._exhausted()

    async def _try_deployment(
        self,
        group: GroupInfo,
        deployment: DeploymentInfo,
        reservation: limits.Reservation,
        call: Callable[[Call], Awaitable[T]],
        request: RoutedRequest,
    ) -> tuple[T, Call] | None:
        fitted: RoutedRequest = request
        dropped: tuple[str, ...] = ()
        # Embeddings: neither the chat fields table nor the optimizer's trimming applies to them.
        if isinstance(request, ChatRequest):
            try:
                fitted, dropped = fields.fit(
                    request,
                    kind=deployment.provider.kind,
                    deployment=deployment.label,
                    drop=request.drop_params or group.drop_params,
                )
            except errors.UnsupportedParamError as exc:
                # Another deployment (another kind) may honour the field: skip this one, blamelessly.
                self._skip(deployment, "unsupported_param")
                self._refusal = self._refusal or exc
                limits.settle(deployment, reservation, 0)
                breaker.release_probe(deployment.id)
                return None
            fitted, turns_dropped = optimizer.fit_context(fitted, deployment.settings.context_window)
            # The record says what the deployment tried last (the one that answered) was sent.
            compress = self.draft.optimizations.get("compress")
            if turns_dropped:
                self.draft.optimizations.setdefault("compress", {})["turns_dropped"] = turns_dropped
            elif compress and compress.pop("turns_dropped", None) is not None and not compress:
                del self.draft.optimizations["compress"]
        adapter = adapter_for(deployment.provider)
        num_retries = self.request.num_retries if self.request.num_retries is not None else group.num_retries
        strategy = get_strategy(group.strategy)
        for retry in range(num_retries + 1):
            if retry:
                if self.remaining() <= 0:
                    raise self._deadline_error()
                # A retry is one more upstream request: it needs room under the limits like the first.
                room = self._reserve(deployment)
                if room is None:
                    self._skip(deployment, "rate_limited")
                    return None
                reservation = room
            timeouts = timeouts_for(group, deployment, self.remaining())
            attempt = Call(deployment, group, adapter, timeouts, retry, fitted)
            if isinstance(fitted, ChatRequest):
                adapter.forwarded = forwarded_headers(fitted.client_headers, deployment.provider)
            begin = time.perf_counter()
            breaker.record_attempt(deployment)
            strategy.started(deployment)
            try:
                result = await _invoke(call, attempt)
            except errors.RouterError as exc:
                elapsed = time.perf_counter() - begin
                if isinstance(exc, errors.UpstreamTimeoutError) and self.remaining() <= DEADLINE_SLACK_S:
                    # Cut short by the request's deadline, not by the deployment's own timeout.
                    exc = self._deadline_error()
                self.upstream_s += elapsed
                self._record(attempt, begin, elapsed, exc)
                # A failed call used no tokens; it still counts as a request against rpm.
                limits.settle(deployment, reservation, 0)
                fault = _is_deployment_fault(exc)
                feeds_breaker = fault and exc.upstream_fault
                # A deployment that answered "this request is wrong" is up and was not slow: the
                # strategy must not learn to avoid it, and a half-open probe has its answer. An
                # attempt cut by the client's deadline (or failed by a bug of ours) teaches nothing.
                blameless = fault and not exc.upstream_fault
                strategy.finished(
                    deployment, latency_ms=None if blameless else elapsed * 1000, ok=not feeds_breaker
                )
                if isinstance(exc, errors.DeadlineExceededError):
                    breaker.release_probe(deployment.id)  # a probe cut short proved nothing
                    raise exc from None
                self.last_error = exc
                opened = breaker.record_failure(deployment, group, exc) if feeds_breaker else False
                if not fault:
                    breaker.record_success(deployment)
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
                if delay > router_settings()["BACKOFF_MAX_S"] * 2:
                    return None  # the upstream wants a long pause: better another deployment now
                if delay >= self.remaining():
                    return None  # no time to wait and retry: another deployment may answer at once
                await clock.sleep(delay)
                self.upstream_s += delay
                continue
            except BaseException:
                # Cancelled (the client went away): the call is no longer in flight.
                strategy.finished(deployment, latency_ms=None, ok=False)
                raise
            elapsed = time.perf_counter() - begin
            self.upstream_s += elapsed
            attempt.begin, attempt.latency_ms = begin, elapsed * 1000
            self._reservations[deployment.id] = reservation
            breaker.record_success(deployment)
            if group is not self.requested:
                self.draft.fallback_used = True
            self.draft.dropped_params = dropped
            self.draft.upstream_headers = adapter.rate_limit_headers
            if not self.request.stream:
                self._record(attempt, begin, elapsed, None)
                strategy.finished(deployment, latency_ms=attempt.latency_ms, ok=True)
            # A stream is still in flight (least-busy must keep counting it) and its attempt is not
            # over: StreamSession reports the end through stream_ended().
            return result, attempt
        return None

    def _record(
        self,
        attempt: Call,
        begin: float,
        elapsed: float,
        error: errors.RouterError | None,
        *,
        status: str | None = None,
    ) -> None:
        draft = AttemptDraft(
            deployment_id=attempt.deployment.id,
            retry=attempt.retry,
            status=status or ("ok" if error is None else "error"),
            start_ms=(begin - self.started) * 1000,
            latency_ms=elapsed * 1000,
        )
        if error is not None:
            draft.http_status = error.status
            draft.error_type = error.error_type
            draft.error_message = error.message[:500]
        self.draft.attempts.append(draft)
        record_span(
            self.draft.trace,
            "attempt",
            begin,
            begin + elapsed,
            error=error,
            deployment=attempt.deployment.label,
            retry=attempt.retry,
        )

    def stream_ended(
        self, call: Call, *, tokens: int, error: errors.RouterError | None = None, cancelled: bool = False
    ) -> None:
        """Close the books on a stream run() opened: its Attempt row (whole stream), the strategy's
        in-flight count, the breaker on a failure, and its token reservation. Once per stream."""
        if call.ended:
            return
        call.ended = True
        elapsed = time.perf_counter() - call.begin
        self._record(call, call.begin, elapsed, error, status="cancelled" if cancelled else None)
        self.settle(call.deployment, tokens)
        strategy = get_strategy(call.group.strategy)
        if error is None:
            # Latency-based learns time to first token for streams, not their length.
            strategy.finished(call.deployment, latency_ms=call.latency_ms, ok=True)
            return
        self.last_error = error
        strategy.finished(call.deployment, latency_ms=elapsed * 1000, ok=False)
        if _is_deployment_fault(error) and error.upstream_fault:
            breaker.record_failure(call.deployment, call.group, error)

    def settle(self, deployment: DeploymentInfo, tokens: int) -> None:
        """Replace the deployment's reserved token estimate by what the answer really used."""
        limits.settle(deployment, self._reservations.pop(deployment.id, None), tokens)

    def _exhausted(self) -> errors.RouterError:
        if self.last_error is not None:
            return self.last_error
        if self._refusal is not None:
            return self._refusal
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


# An upstream timeout this close to the deadline was the deadline's: the attempt's own timeouts
# were cut to the time left, so whichever fired (asyncio's or httpx's), it fired at the deadline.
DEADLINE_SLACK_S = 0.01


async def _invoke(call: Callable[[Call], Awaitable[T]], attempt: Call) -> T:
    """Run one attempt; an unexpected exception (an adapter bug, an upstream shape nobody foresaw)
    lets the request fall back to another deployment, but does not count against this one: it is
    not proven to be the upstream's fault, and might be the request's."""
    try:
        return await call(attempt)
    except errors.RouterError as exc:
        sanitize(exc, attempt.deployment)
        raise
    except Exception as exc:
        logger.exception("unexpected error calling %s", attempt.deployment.label)
        raise errors.ProviderUnavailableError(
            f"{attempt.deployment.label}: unexpected {type(exc).__name__} while calling the upstream",
            upstream_fault=False,
        ) from exc


def sanitize(exc: errors.RouterError, deployment: DeploymentInfo) -> None:
    """Make the error's upstream text safe to show: the provider's secrets and anything key-shaped
    masked; an upstream auth failure named after the deployment, for the operator to fix."""
    if isinstance(exc, errors.UpstreamAuthError):
        exc.message = f"deployment '{deployment.label}': {exc.message}"
    exc.message = redact(exc.message, deployment.provider.secrets)
    exc.args = (exc.message,)


def _is_deployment_fault(exc: errors.RouterError) -> bool:
    """True when another deployment might succeed where this one failed."""
    # Context-window / content-policy are handled by their own fallback lists; other 4xx mean
    # the request itself is wrong.
    return isinstance(
        exc,
        errors.RateLimitError | errors.UpstreamTimeoutError | errors.ProviderUnavailableError,
    )
