"""Spans: nesting for sync and async code, isolation between concurrent tasks, no trace no cost."""

from __future__ import annotations

import asyncio
import time

from routerapp.observability.tracing import NO_SPAN, current_trace, record_span, span, start_trace, traced


def run_in_fresh_context(fn):
    """Each test runs its trace in its own task so the contextvar never leaks into other tests."""

    async def main():
        return await asyncio.create_task(fn())

    return asyncio.run(main())


def test_spans_nest_in_sync_code_with_offsets_and_durations():
    async def scenario():
        trace = start_trace()
        with span("outer", model="m"):
            time.sleep(0.01)
            with span("inner") as inner:
                inner.set(rows=3)
                time.sleep(0.01)
        return trace

    trace = run_in_fresh_context(scenario)
    outer, inner = trace.spans
    assert (outer.name, outer.parent, outer.attributes) == ("outer", None, {"model": "m"})
    assert (inner.name, inner.parent, inner.attributes) == ("inner", outer.position, {"rows": 3})
    assert inner.start_ms >= outer.start_ms + 9
    assert outer.duration_ms >= inner.duration_ms + 9 >= 18
    assert outer.status == inner.status == "ok"


def test_decorated_sync_and_async_functions_become_child_spans():
    @traced("parse")
    def parse(value):
        return value * 2

    @traced("fetch")
    async def fetch(value):
        await asyncio.sleep(0.001)
        return parse(value) + 1

    async def scenario():
        trace = start_trace()
        async with span("request"):
            assert await fetch(20) == 41
        return trace

    trace = run_in_fresh_context(scenario)
    request, fetch_span, parse_span = trace.spans
    assert [s.name for s in trace.spans] == ["request", "fetch", "parse"]
    assert fetch_span.parent == request.position
    assert parse_span.parent == fetch_span.position


def test_an_exception_marks_the_span_failed_and_still_closes_it():
    async def scenario():
        trace = start_trace()
        try:
            with span("attempt"):
                raise KeyError("boom")
        except KeyError:
            pass
        with span("after"):
            pass
        return trace

    trace = run_in_fresh_context(scenario)
    failed, after = trace.spans
    assert failed.status == "error" and failed.attributes["error"] == "KeyError"
    assert failed.duration_ms is not None
    assert after.parent is None  # the failed span was closed: not the parent of what follows


def test_concurrent_requests_keep_their_own_traces():
    async def request(name: str, delay: float):
        trace = start_trace()
        with span(f"{name}-outer"):
            await asyncio.sleep(delay)
            with span(f"{name}-inner"):
                await asyncio.sleep(delay)
        return trace

    async def main():
        return await asyncio.gather(request("a", 0.01), request("b", 0.003), request("c", 0.006))

    traces = asyncio.run(main())
    for name, trace in zip("abc", traces, strict=True):
        assert [s.name for s in trace.spans] == [f"{name}-outer", f"{name}-inner"]
        assert trace.spans[1].parent == 0


def test_tasks_started_inside_a_span_are_its_children():
    async def member(i: int):
        async with span("member", index=i):
            await asyncio.sleep(0.001 * (3 - i))

    async def scenario():
        trace = start_trace()
        with span("ensemble"):
            await asyncio.gather(*(member(i) for i in range(3)))
        with span("merge"):
            pass
        return trace

    trace = run_in_fresh_context(scenario)
    ensemble = trace.spans[0]
    members = [s for s in trace.spans if s.name == "member"]
    assert len(members) == 3 and all(m.parent == ensemble.position for m in members)
    assert trace.spans[-1].name == "merge" and trace.spans[-1].parent is None


def test_record_span_adds_a_measured_stage_under_the_open_span():
    async def scenario():
        trace = start_trace()
        with span("route"):
            began = time.perf_counter()
            record_span(trace, "attempt", began, began + 0.005, error=TimeoutError(), deployment="up/x")
        return trace

    trace = run_in_fresh_context(scenario)
    attempt = trace.spans[1]
    assert attempt.parent == 0 and attempt.status == "error"
    assert attempt.attributes == {"deployment": "up/x", "error": "TimeoutError"}
    assert 4.9 < attempt.duration_ms < 5.1


def test_without_a_trace_spans_and_traced_functions_do_nothing():
    async def scenario():
        assert current_trace() is None
        assert span("x") is NO_SPAN
        record_span(None, "attempt", 0.0)  # no trace: nothing to do, no error

        @traced("hot")
        def hot():
            return 1

        with span("x"):
            assert hot() == 1
        return current_trace()

    assert run_in_fresh_context(scenario) is None  # nothing started a trace along the way
