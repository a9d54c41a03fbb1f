"""A routed stream: primed before the client sees a byte, continued across deployments after.

Until the first chunk arrives, a failing stream falls back like any request (the Attempter does
that while priming). After it, a failure mid-stream (cut connection, stall, malformed chunk,
missing end marker) continues on the next deployment in the plan, with the text streamed so far
given as an assistant prefix, so the client reads one uninterrupted answer under one id. Only text
can be continued so: once a tool call or reasoning has reached the client, a break ends the stream
with an error event instead of a tool call another model finishes (or restarts) differently. When
no deployment is left, iteration raises the error: the interface ends the stream with an error
event, never with a clean [DONE].
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from routerapp import errors
from routerapp.observability.tracing import record_span
from routerapp.pricing import add_parts, cost_parts
from routerapp.providers.base import ChatChunk, ChatRequest, Usage, estimate_tokens, usage_chunk
from routerapp.routing.fallback import Attempter, Call, sanitize

logger = logging.getLogger(__name__)


class StreamOpen:
    """The upstream iterator of the deployment currently serving, with its first chunk."""

    def __init__(
        self, call: Call, iterator: AsyncIterator[ChatChunk], first: ChatChunk, began: float
    ) -> None:
        self.call = call
        self.iterator = iterator
        self.first = first
        self.began = began


async def open_stream(call: Call, request: ChatRequest) -> StreamOpen:
    """Start a stream and wait for its first chunk within the first-token timeout."""
    began = time.perf_counter()
    iterator = call.adapter.stream(request, call.deployment.upstream_model, call.timeouts)
    try:
        async with asyncio.timeout(call.timeouts.first_token):
            first = await anext(iterator)
    except StopAsyncIteration:
        await _close(iterator)
        raise errors.ProviderUnavailableError(
            f"{call.deployment.label}: stream ended before any chunk"
        ) from None
    except TimeoutError:
        await _close(iterator)
        raise errors.UpstreamTimeoutError(
            f"{call.deployment.label}: no first token within {call.timeouts.first_token:g}s"
        ) from None
    except BaseException:
        await _close(iterator)
        raise
    return StreamOpen(call, iterator, first, began)


async def _close(iterator: AsyncIterator[Any]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        # A broken upstream may fail to close; it is being dropped anyway.
        with contextlib.suppress(Exception):
            await aclose()


class StallGuard:
    """`asyncio.timeout(seconds)` around each wait for the next chunk, with one timer per stall
    window instead of one per chunk.

    asyncio.timeout arms a timer on entry and cancels it on exit; a stream of a few hundred chunks
    a second then leaves thousands of cancelled timers in the loop's heap (they stay until their
    deadline, seconds later) and costs a handle, a heap push and a context object per chunk. Here
    entering only notes the time. The one timer fires at the earliest moment a wait could have
    lasted `seconds`; if the wait under way began later (chunks kept coming), it moves to that
    wait's deadline, and with no wait under way it stops until the next one. So a timeout is
    raised exactly when one wait for a chunk lasted `seconds`, as asyncio.timeout would raise it:
    the task is cancelled and the cancellation turned into TimeoutError on the way out.

    Time spent outside the `with` (the client reading what was passed on) never counts.
    """

    __slots__ = ("seconds", "_loop", "_task", "_since", "_handle", "_fired", "_cancelling")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task | None = None
        self._since: float | None = None  # when the wait under way began
        self._handle: asyncio.TimerHandle | None = None
        self._fired = False
        self._cancelling = 0

    def __enter__(self) -> None:
        self._since = now = self._loop.time()
        self._task = task = asyncio.current_task()
        self._cancelling = task.cancelling() if task is not None else 0
        if self._handle is None:
            self._handle = self._loop.call_at(now + self.seconds, self._check)

    def __exit__(self, exc_type, exc, tb) -> None:
        self._since = None
        if self._fired:  # as asyncio.timeout's exit: our cancel taken back, theirs kept
            self._fired = False
            assert self._task is not None
            if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
                raise TimeoutError from exc

    def _check(self) -> None:
        self._handle = None
        since = self._since
        if since is None or self._task is None:
            return  # no wait under way: the next one arms the timer again
        deadline = since + self.seconds
        if self._loop.time() >= deadline:
            self._fired = True
            self._task.cancel()
        else:
            self._handle = self._loop.call_at(deadline, self._check)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class StreamSession:
    """What route() returns for `stream: true`; iterate it for client-ready chunks."""

    def __init__(
        self,
        *,
        attempter: Attempter,
        opened: StreamOpen,
        on_finish,
    ) -> None:
        self.attempter = attempter
        self.opened = opened
        # The attempter's, so that a mid-stream failover continues the same request and record.
        assert isinstance(attempter.request, ChatRequest)  # only chat streams
        self.request = attempter.request
        self.draft = attempter.draft
        self.started = attempter.started
        self.on_finish = on_finish
        self.id = "chatcmpl-" + self.request.request_id[:24]
        self.created = int(time.time())
        self.model = self.request.model
        self.overhead_ms = (time.perf_counter() - self.started - attempter.upstream_s) * 1000
        self.text: list[str] = []
        # Set once the client got a tool call or reasoning delta: a continuation, fed only the
        # text so far, could not carry on from inside those exactly (see __aiter__).
        self.structured = False
        self.finished = False
        # How the answer ended, as the deployment that finished it said ("length": cut at max_tokens).
        self.finish_reason: str | None = None
        self._reported = False
        self._guard: StallGuard | None = None

    @property
    def deployment_label(self) -> str:
        return self.opened.call.deployment.label

    def _client_chunk(self, chunk: ChatChunk) -> dict[str, Any]:
        data = chunk.data
        data["id"] = self.id
        data["model"] = self.model
        data["created"] = self.created
        return data

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        began = time.perf_counter()
        opened = self.opened
        usage_total = Usage()
        cost: dict[str, float] = {}
        segment_text: list[str] = []
        segment_usage: Usage | None = None
        # Chunks from the first finish_reason on, passed on only once the upstream ends cleanly:
        # if it breaks after its finish (no [DONE]), the answer continues elsewhere and the client
        # must not have seen it end.
        held: list[ChatChunk] = []
        first_segment = True
        error: errors.RouterError | None = None
        try:
            pending: ChatChunk | None = opened.first
            while True:
                try:
                    while True:
                        chunk = pending if pending is not None else await self._next(opened)
                        pending = None
                        if chunk is None:
                            break
                        if chunk.usage is not None and not chunk.data.get("choices"):
                            segment_usage = chunk.usage
                            continue
                        if chunk.usage is not None:
                            segment_usage = chunk.usage
                        if held or chunk.finish_reason:
                            held.append(chunk)
                            continue
                        text = chunk.text
                        if (
                            not first_segment
                            and not text
                            and not chunk.finish_reason
                            and not _structured(chunk)
                        ):
                            continue  # the continuation's role chunk: the client already has one
                        if text:
                            segment_text.append(text)
                            self.text.append(text)
                        if self.draft.ttft_ms is None and text:
                            self.draft.ttft_ms = (time.perf_counter() - self.started) * 1000
                        self.structured = self.structured or _structured(chunk)
                        yield self._client_chunk(chunk)
                    break  # upstream finished cleanly
                except errors.RouterError as exc:
                    # Usage the upstream reported before breaking (a missing [DONE]) beats an estimate.
                    partial = self._segment_usage(opened, segment_text, segment_usage)
                    self.attempter.stream_ended(opened.call, tokens=partial.total_tokens, error=exc)
                    usage_total, cost = _add(usage_total, cost, opened, partial)
                    segment_text, segment_usage, held, first_segment = [], None, [], False
                    if self.structured:
                        raise errors.ProviderUnavailableError(
                            f"{opened.call.deployment.label}: the stream broke after a tool call or "
                            "reasoning had begun, which another deployment cannot continue exactly; "
                            f"retry the request ({exc.message})"
                        ) from exc
                    opened = await self._continue()
                    self.opened = opened
                    pending = opened.first
            for chunk in held:
                self.finish_reason = chunk.finish_reason or self.finish_reason
                if chunk.text:
                    segment_text.append(chunk.text)
                    self.text.append(chunk.text)
                yield self._client_chunk(chunk)
            final = self._segment_usage(opened, segment_text, segment_usage)
            usage_total, cost = _add(usage_total, cost, opened, final)
            self.attempter.stream_ended(opened.call, tokens=final.total_tokens)
            self.finished = True
            if self.request.include_usage:
                yield usage_chunk(id=self.id, model=self.model, created=self.created, usage=usage_total).data
        except errors.RouterError as exc:
            error = exc
            raise
        finally:
            if not self.finished and error is None:
                # The client went away: keep what was streamed, with estimated usage.
                if not opened.call.ended:  # else it was counted when it broke, before the client left
                    partial = self._segment_usage(opened, segment_text, segment_usage)
                    usage_total, cost = _add(usage_total, cost, opened, partial)
                    self.attempter.stream_ended(opened.call, tokens=partial.total_tokens, cancelled=True)
                self.draft.status = "cancelled"
                self.draft.http_status = 499
            if self._guard is not None:
                self._guard.close()
            await _close(opened.iterator)
            self.draft.deployment_id = opened.call.deployment.id
            self.draft.spent(usage_total, cost)
            status = None if error is not None else self.draft.status
            record_span(self.draft.trace, "stream", began, error=error, status=status, chunks=len(self.text))
            self._reported = True
            self.on_finish(self, error)

    def __del__(self) -> None:
        # Safety net for a client that left after route() returned but before the first byte
        # was sent: iteration never started, so no `finally` above ran. Every request that
        # reached the router must still leave its record.
        if not self._reported:
            self._reported = True
            self.draft.status = "cancelled"
            self.draft.http_status = 499
            self.draft.deployment_id = self.opened.call.deployment.id
            self.on_finish(self, None)

    async def _next(self, opened: StreamOpen) -> ChatChunk | None:
        guard = self._guard
        if guard is None or guard.seconds != opened.call.timeouts.between_chunks:
            # A continuation on a deployment with another chunk timeout: its timer may not be
            # later than the old one's, so the old one goes rather than being re-aimed.
            if guard is not None:
                guard.close()
            guard = self._guard = StallGuard(opened.call.timeouts.between_chunks)
        try:
            with guard:
                return await anext(opened.iterator)
        except StopAsyncIteration:
            return None
        except TimeoutError:
            raise errors.UpstreamTimeoutError(
                f"{opened.call.deployment.label}: stream stalled for {opened.call.timeouts.between_chunks:g}s"
            ) from None
        except errors.RouterError as exc:
            sanitize(exc, opened.call.deployment)
            raise
        except Exception as exc:
            logger.exception("unexpected error reading the stream of %s", opened.call.deployment.label)
            raise errors.ProviderUnavailableError(
                f"{opened.call.deployment.label}: unexpected {type(exc).__name__} in the stream",
                upstream_fault=False,
            ) from exc

    async def _continue(self) -> StreamOpen:
        """Resume on the next deployment with the answer so far as an assistant prefix."""
        prefix = "".join(self.text)
        messages = list(self.request.messages)
        if prefix:
            messages.append({"role": "assistant", "content": prefix})
        continuation = self.request.with_messages(messages)
        opened, _ = await self.attempter.run(lambda call: open_stream(call, call.chat), continuation)
        return opened

    def _segment_usage(self, opened: StreamOpen, text: list[str], reported: Usage | None) -> Usage:
        if reported is not None:
            return reported
        return Usage(self.attempter.prompt_tokens, estimate_tokens("".join(text)), estimated=True)


def _structured(chunk: ChatChunk) -> bool:
    for choice in chunk.data.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("tool_calls") or delta.get("reasoning_content") or delta.get("function_call"):
            return True
    return False


def _add(
    total: Usage, cost: dict[str, float], opened: StreamOpen, usage: Usage
) -> tuple[Usage, dict[str, float]]:
    """Usage and cost so far plus one segment's (a stream that failed over has several)."""
    return total + usage, add_parts(cost, cost_parts(opened.call.deployment, usage))
