"""StallGuard: asyncio.timeout's behaviour per wait for a chunk, with one timer per stall window."""

from __future__ import annotations

import asyncio

import pytest

from routerapp.routing.streaming import StallGuard


def run(coro):
    return asyncio.run(coro)


def test_one_wait_longer_than_the_window_times_out():
    async def main():
        guard = StallGuard(0.05)
        with pytest.raises(TimeoutError), guard:
            await asyncio.sleep(1)
        guard.close()

    run(main())


def test_many_short_waits_adding_up_to_more_than_the_window_do_not():
    async def main():
        guard = StallGuard(0.05)
        for _ in range(20):  # 0.2 s in all, 10 ms per wait
            with guard:
                await asyncio.sleep(0.01)
        guard.close()
        assert asyncio.current_task().cancelling() == 0

    run(main())


def test_time_outside_the_guard_does_not_count():
    async def main():
        guard = StallGuard(0.05)
        with guard:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.15)  # the client reading slowly: the timer fires with no wait under way
        with guard:
            await asyncio.sleep(0.03)
        # and it still catches the next real stall
        with pytest.raises(TimeoutError), guard:
            await asyncio.sleep(1)
        guard.close()

    run(main())


@pytest.mark.parametrize("stalled_too", [False, True], ids=["cancel alone", "cancel and stall at once"])
def test_a_cancel_from_outside_stays_a_cancel(stalled_too):
    """Also when the guard's own cancel lands right behind it: the outer one wins, as with
    asyncio.timeout."""

    async def reader(guard):
        with guard:
            await asyncio.sleep(1)

    async def main():
        guard = StallGuard(10)
        task = asyncio.get_running_loop().create_task(reader(guard))
        await asyncio.sleep(0.01)
        task.cancel()
        if stalled_too:
            guard._fired = True
            task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        guard.close()

    run(main())
