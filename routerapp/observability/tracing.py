"""Spans and the @traced decorator: one trace per request, a span per stage.

A request handler calls `start_trace()`; from then on `with span("name"):`, `async with
span("name"):` and functions decorated with `@traced("name")` record a span (name, start offset,
duration, status, attributes, parent) into that trace. The active trace and span live in a
contextvar, so concurrent requests (each its own asyncio task) never mix, and tasks spawned inside a
span (an ensemble's fan-out) become its children. Stages measured after the fact (an upstream
attempt, a stream) are added with `record_span()`.

When no trace is active everything here is one contextvar lookup and a shared no-op object.
The history writer persists `RecordDraft.trace` as Span rows in the same batch as its QueryRecord.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(slots=True)
class SpanData:
    position: int
    name: str
    start_ms: float
    duration_ms: float | None = None
    status: str = "ok"
    parent: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def set(self, **attributes: Any) -> None:
        self.attributes.update(attributes)


class Trace:
    """The spans of one request; offsets are milliseconds from `started` (a perf_counter value)."""

    __slots__ = ("started", "spans")

    def __init__(self, started: float | None = None) -> None:
        self.started = time.perf_counter() if started is None else started
        self.spans: list[SpanData] = []

    def add(
        self,
        name: str,
        began: float,
        ended: float | None = None,
        *,
        status: str = "ok",
        parent: int | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> SpanData:
        data = SpanData(
            position=len(self.spans),
            name=name,
            start_ms=(began - self.started) * 1000,
            duration_ms=None if ended is None else (ended - began) * 1000,
            status=status,
            parent=parent,
            attributes=attributes or {},
        )
        self.spans.append(data)
        return data

    def children(self, parent: int | None) -> list[SpanData]:
        return [s for s in self.spans if s.parent == parent]


# (trace, position of the innermost open span or None) for the running task.
_active: ContextVar[tuple[Trace, int | None] | None] = ContextVar("router_trace", default=None)


def start_trace(started: float | None = None) -> Trace:
    """Begin the trace of the current request (task); spans opened after this belong to it."""
    trace = Trace(started)
    _active.set((trace, None))
    return trace


def current_trace() -> Trace | None:
    active = _active.get()
    return None if active is None else active[0]


def record_span(
    trace: Trace | None,
    name: str,
    began: float,
    ended: float | None = None,
    *,
    error: BaseException | None = None,
    status: str | None = None,
    **attributes: Any,
) -> None:
    """Add a span whose timing is already known (perf_counter values); a no-op without a trace."""
    if trace is None:
        return
    active = _active.get()
    parent = active[1] if active is not None and active[0] is trace else None
    if error is not None:
        attributes["error"] = type(error).__name__
    trace.add(
        name,
        began,
        time.perf_counter() if ended is None else ended,
        status=status or ("error" if error is not None else "ok"),
        parent=parent,
        attributes=attributes,
    )


class _NoSpan:
    """What `span()` returns when nothing is traced: every operation does nothing."""

    __slots__ = ()

    def __enter__(self) -> _NoSpan:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    async def __aenter__(self) -> _NoSpan:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        return None

    def set(self, **attributes: Any) -> None:
        return None


NO_SPAN = _NoSpan()


class _OpenSpan:
    __slots__ = ("_trace", "_parent", "_name", "_attributes", "_data", "_token")

    def __init__(self, trace: Trace, parent: int | None, name: str, attributes: dict[str, Any]) -> None:
        self._trace = trace
        self._parent = parent
        self._name = name
        self._attributes = attributes
        self._data: SpanData | None = None
        self._token: Token[tuple[Trace, int | None] | None] | None = None

    def __enter__(self) -> SpanData:
        self._data = self._trace.add(
            self._name, time.perf_counter(), parent=self._parent, attributes=self._attributes
        )
        self._token = _active.set((self._trace, self._data.position))
        return self._data

    def __exit__(self, exc_type, exc, tb) -> None:
        data, token = self._data, self._token
        assert data is not None and token is not None, "exited a span that was never entered"
        data.duration_ms = (time.perf_counter() - self._trace.started) * 1000 - data.start_ms
        if exc_type is not None:
            data.status = "error"
            data.attributes["error"] = exc_type.__name__
        # A ValueError means it exited in another context than the one it was entered in (a
        # generator finalised elsewhere): the span is complete and that context was never changed.
        with contextlib.suppress(ValueError):
            _active.reset(token)

    async def __aenter__(self) -> SpanData:
        return self.__enter__()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        self.__exit__(exc_type, exc, tb)


def span(name: str, **attributes: Any) -> _OpenSpan | _NoSpan:
    """A block measured as a child of the current span: `with span("x"):` or `async with span("x"):`."""
    active = _active.get()
    if active is None:
        return NO_SPAN
    return _OpenSpan(active[0], active[1], name, attributes)


def traced(name: str) -> Callable[[F], F]:
    """Record each call of the decorated function (sync or async) as a span called `name`."""

    def decorate(fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                active = _active.get()
                if active is None:
                    return await fn(*args, **kwargs)
                with _OpenSpan(active[0], active[1], name, {}):
                    return await fn(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            active = _active.get()
            if active is None:
                return fn(*args, **kwargs)
            with _OpenSpan(active[0], active[1], name, {}):
                return fn(*args, **kwargs)

        return run  # type: ignore[return-value]

    return decorate
