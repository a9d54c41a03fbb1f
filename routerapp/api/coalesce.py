"""Relay an async iterator's parts, joining those that are ready together into one write.

An upstream usually delivers a stream's events in a few network reads, so most chunks are ready the
moment the one before them has been passed on; written one by one, each costs the ASGI server a
`transport.write`, which is a socket send() of its own (~10 % of the event loop's samples for
streams at 8 in flight, bench/README.md). `relay` takes every part the iterator can give without
waiting, writes them as one, and only then waits for the next: nothing is held back that is ready,
so every byte leaves as early as it did one write per part. The first part is the exception: it is
written alone, before the next is asked for. An upstream that answers at once delivers the whole
stream in one read, and gathering it would hold the first token back until the last had been
relayed; the reader waits on the first token, the rest can share a write.

Knowing whether the next part is ready means starting `__anext__()` and seeing whether it finishes
without suspending. When it suspends, `_resume` finishes it exactly as `await` would have: the
future it is waiting on goes to the task, and whatever the task sends or throws (a cancellation
when the client leaves) goes on into it. An exception that reaches `relay` while a step is half run
(the write of the ready parts being cancelled) is thrown into that step first, so the iterator sees
it where it was waiting, as it would have without the join.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any


async def relay(parts: AsyncIterator[bytes], write: Callable[[bytes, bool], Awaitable[None]]) -> None:
    """`write(data, more)` every part of `parts`: the first alone, then each run of parts that were
    ready together as one; the last write has more=False and carries the last run (b"" when the end
    came after a wait or right after the first part)."""
    ready: list[bytes] = []
    first = True
    while True:
        step = parts.__anext__()
        try:
            waiting = step.send(None)  # type: ignore[attr-defined]  # a coroutine-like awaitable
        except StopIteration as done:
            part = done.value  # there without waiting
        except StopAsyncIteration:
            break
        else:
            if ready:
                try:
                    await write(b"".join(ready), True)
                except BaseException as exc:
                    # An iterator that ends on it: what was being written still failed.
                    with contextlib.suppress(StopAsyncIteration):
                        await _resume(step, waiting, throw=exc)
                    raise
                ready = []
            try:
                part = await _resume(step, waiting)
            except StopAsyncIteration:
                break
        if first:
            first = False
            await write(part, True)
        else:
            ready.append(part)
    await write(b"".join(ready), False)


@types.coroutine
def _resume(step: Any, waiting: Any, *, throw: BaseException | None = None) -> Generator[Any, Any, Any]:
    """Finish `step`, which suspended on `waiting` when first sent None, as `await step` would."""
    if throw is not None:
        try:
            waiting = step.throw(throw)
        except StopIteration as done:
            return done.value
    while True:
        try:
            value = yield waiting
        except BaseException as exc:
            try:
                waiting = step.throw(exc)
            except StopIteration as done:
                return done.value
        else:
            try:
                waiting = step.send(value)
            except StopIteration as done:
                return done.value
