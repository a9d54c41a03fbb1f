"""routerapp.api.coalesce.relay: the first part leaves alone, later parts that are ready together
leave in one write, nothing ready waits, and cancellation reaches the iterator where it was waiting, as with a plain `async for`."""

from __future__ import annotations

import asyncio

import pytest

from routerapp.api.coalesce import relay


class Recorder:
    def __init__(self) -> None:
        self.writes: list[tuple[bytes, bool]] = []

    async def __call__(self, data: bytes, more: bool) -> None:
        self.writes.append((data, more))


def run(coro):
    return asyncio.run(coro)


def test_parts_ready_together_are_one_write_and_a_wait_splits_them():
    async def parts():
        yield b"a"
        yield b"b"
        yield b"c"
        await asyncio.sleep(0.01)
        yield b"d"
        yield b"e"

    out = Recorder()
    run(relay(parts(), out))
    assert out.writes == [(b"a", True), (b"bc", True), (b"de", False)]


@pytest.mark.parametrize("wait_first", [False, True])
def test_the_first_part_is_written_before_the_next_is_asked_for(wait_first):
    """A whole stream ready at once (an upstream that answered in one read) still gets its first
    token out before the rest is relayed, whether or not the first part had to be waited for."""
    seen_when_second_asked: list[list[tuple[bytes, bool]]] = []
    out = Recorder()

    async def parts():
        if wait_first:
            await asyncio.sleep(0.001)
        yield b"first"
        seen_when_second_asked.append(list(out.writes))
        yield b"second"
        yield b"third"

    run(relay(parts(), out))
    assert seen_when_second_asked == [[(b"first", True)]]
    assert out.writes == [(b"first", True), (b"secondthird", False)]


def test_an_end_after_a_wait_is_an_empty_last_write():
    async def parts():
        yield b"a"
        await asyncio.sleep(0)
        yield b"b"
        await asyncio.sleep(0.001)

    out = Recorder()
    run(relay(parts(), out))
    assert out.writes == [(b"a", True), (b"b", True), (b"", False)]


def test_a_single_part_is_written_then_the_end():
    async def parts():
        yield b"only"

    out = Recorder()
    run(relay(parts(), out))
    assert out.writes == [(b"only", True), (b"", False)]


def test_an_empty_iterator_writes_only_the_end():
    async def parts():
        return
        yield b""  # an async generator

    out = Recorder()
    run(relay(parts(), out))
    assert out.writes == [(b"", False)]


def test_a_part_that_waits_is_written_as_soon_as_it_comes():
    """Nothing ready is held back: the first part is written before the second is even asked for."""
    seen_when_second_asked: list[list[tuple[bytes, bool]]] = []
    out = Recorder()

    async def parts():
        await asyncio.sleep(0.001)
        yield b"first"
        await asyncio.sleep(0)
        seen_when_second_asked.append(list(out.writes))
        yield b"second"

    run(relay(parts(), out))
    assert seen_when_second_asked == [[(b"first", True)]]
    assert out.writes == [(b"first", True), (b"second", False)]  # it ended without a wait


def test_an_error_in_the_iterator_reaches_the_caller():
    async def parts():
        yield b"a"
        await asyncio.sleep(0)
        raise ValueError("broken")

    out = Recorder()
    with pytest.raises(ValueError, match="broken"):
        run(relay(parts(), out))
    assert out.writes == [(b"a", True)]


async def one_part_then_a_long_wait(events: list[str]):
    """b"a" at once, then a wait the test cancels; notes where the cancellation arrived."""
    try:
        yield b"a"
        await asyncio.sleep(10)
        yield b"never"
    except asyncio.CancelledError:
        events.append("cancelled in the iterator")
        raise
    finally:
        await asyncio.sleep(0)  # cleanup that awaits still runs
        events.append("iterator cleaned up")


def test_cancelling_while_the_iterator_waits_cancels_it_there():
    events: list[str] = []

    async def main():
        out = Recorder()
        task = asyncio.ensure_future(relay(one_part_then_a_long_wait(events), out))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return out.writes

    assert run(main()) == [(b"a", True)]
    assert events == ["cancelled in the iterator", "iterator cleaned up"]


def test_cancelling_a_write_throws_the_cancellation_into_the_waiting_iterator():
    """The write of the ready parts is cancelled while the next step of the iterator is half run:
    the iterator gets the cancellation at its wait (its cleanup runs), and relay raises it."""
    events: list[str] = []

    async def two_parts_then_a_long_wait():
        try:
            yield b"a"
            yield b"b"
            await asyncio.sleep(10)
            yield b"never"
        except asyncio.CancelledError:
            events.append("cancelled in the iterator")
            raise
        finally:
            await asyncio.sleep(0)
            events.append("iterator cleaned up")

    async def main():
        never = asyncio.Event()

        async def write(data: bytes, more: bool) -> None:
            events.append(f"write {data!r}")
            if data != b"a":
                await never.wait()  # a client that stopped reading: this write never finishes

        task = asyncio.ensure_future(relay(two_parts_then_a_long_wait(), write))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert events == ["write b'a'", "write b'b'", "cancelled in the iterator", "iterator cleaned up"]
