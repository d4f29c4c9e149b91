"""The public wait line, driven directly: what a primitive author builds on."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import threading
import weakref
from typing import Any

import pytest

from greensync.hub import NOTHING, TIMED_OUT, WaitLine, get_hub, sleep, spawn
from greensync.hub.testing import Trace, run_in_threads, run_until_blocked, spawn_all


class Owner:
    """Something for a line to wait on (held weakly by the line)."""

    def __repr__(self) -> str:
        return "<Owner>"


def test_an_empty_line_is_false_and_a_line_with_waiters_is_true() -> None:
    owner = Owner()
    line = WaitLine(owner)
    assert not line
    assert line.takers() == 0
    assert line.listeners() == 0
    task = spawn(line.park)
    run_until_blocked()
    assert line
    assert (line.takers(), line.listeners()) == (1, 0)
    with line.mutex:
        assert line.handoff("x")
    assert not line  # the taker left the line when it was handed the value
    assert task.get(timeout=1) == "x"
    assert line.owner is owner
    assert repr(line) == "<WaitLine takers=0 listeners=0>"


def test_handoff_serves_takers_in_order_and_passes_listeners_by() -> None:
    line = WaitLine()
    trace = Trace()

    def taker(name: str) -> None:
        trace(f"{name} got {line.park()}")

    def listener(name: str) -> None:
        trace(f"{name} notified {line.listen()}")

    spawn(listener, "l1")
    spawn_all(taker, ["t1", "t2"])
    spawn(listener, "l2")
    run_until_blocked()
    assert (line.takers(), line.listeners()) == (2, 2)
    with line.mutex:
        assert line.handoff(1)
        assert line.handoff(2)
        assert not line.handoff(3)  # no taker left: listeners are not handed values
    run_until_blocked()
    assert trace == ["t1 got 1", "t2 got 2"]
    with line.mutex:
        assert line.notify() == 2
    run_until_blocked()
    assert trace[2:] == ["l1 notified True", "l2 notified True"]
    assert not line


def test_notify_keeps_takers_in_their_order() -> None:
    line = WaitLine()
    trace = Trace()

    def taker(name: str) -> None:
        trace(f"{name} {line.park()}")

    spawn(taker, "a")
    spawn(line.listen)
    spawn(taker, "b")
    run_until_blocked()
    with line.mutex:
        assert line.notify() == 1
        assert line.takers() == 2
        line.handoff(1)
        line.handoff(2)
    run_until_blocked()
    assert trace == ["a 1", "b 2"]


def test_retry_that_takes_something_ends_the_wait_without_parking() -> None:
    line = WaitLine()
    assert line.park(retry=lambda: "taken") == "taken"
    assert not line
    assert line.listen(ready=lambda: True) is True
    assert not line


def test_retry_that_raises_leaves_no_waiter_behind() -> None:
    line = WaitLine()

    def broken() -> object:
        raise KeyError("retry failed")

    with pytest.raises(KeyError):
        line.park(retry=broken)
    with pytest.raises(KeyError):
        line.listen(ready=broken)
    assert not line
    with line.mutex:
        assert not line.handoff("nobody")  # no half-joined waiter to switch into


def test_a_value_handed_while_retry_also_took_one_is_given_back() -> None:
    given_back: list[object] = []

    class Line(WaitLine):
        __slots__ = ()

        def give_back(self, value: object) -> None:
            given_back.append(value)

    line = Line()

    def retry() -> object:
        with line.mutex:
            assert line.handoff("handed")  # a releaser in between: the waiter is in the line
        return "retried"

    assert line.park(retry=retry) == "retried"
    assert given_back == ["handed"]
    assert not line


def test_timeout_returns_timed_out_and_leaves_the_line_empty() -> None:
    line = WaitLine()
    assert line.park(0.001) is TIMED_OUT
    assert line.listen(0.001) is False
    assert not line
    assert len(line) == 0


def test_waiters_that_time_out_in_order_leave_no_records() -> None:
    line = WaitLine()
    spawn(line.park)  # a long-lived waiter at the head
    run_until_blocked()
    for task in spawn_all(line.park, [0.0] * 200):
        task.join()
    assert line.takers() == 1
    assert len(line) < 40  # records at either end go at once, the rest are compacted
    with line.mutex:
        line.handoff(None)


def test_a_killed_taker_that_was_handed_a_value_gives_it_back() -> None:
    given_back: list[object] = []

    class Line(WaitLine):
        __slots__ = ()

        def give_back(self, value: object) -> None:
            given_back.append(value)
            super().give_back(value)  # the default: to the next taker

    line = Line()
    first = spawn(line.park)
    second = spawn(line.park)
    run_until_blocked()
    hub = get_hub()
    hub.run_callback(hub.throw_into, first, KeyError("killed"))  # runs before the wake-up
    with line.mutex:
        line.handoff("permit")
    first.join(timeout=1)
    assert isinstance(first.exception, KeyError)
    assert given_back == ["permit"]
    assert second.get(timeout=1) == "permit"
    assert not line


def test_move_to_moves_takers_onto_another_line_without_their_timeouts() -> None:
    source, target = WaitLine(), WaitLine()
    results: list[object] = []

    def wait(timeout: float | None) -> None:
        results.append(source.park(timeout))

    spawn(wait, 0.01)
    spawn(wait, None)
    spawn(source.listen)
    run_until_blocked()
    with source.mutex, target.mutex:
        assert source.move_to(target, 5) == 2
    assert (source.takers(), source.listeners()) == (0, 1)
    assert target.takers() == 2
    sleep(0.05)  # the first waiter's own timeout has passed: it was disarmed by the move
    assert results == []
    with target.mutex:
        target.handoff("a")
        target.handoff("b")
    run_until_blocked()
    assert results == ["a", "b"]


def test_lines_can_share_one_mutex() -> None:
    first = WaitLine()
    second = WaitLine(mutex=first.mutex)
    assert second.mutex is first.mutex
    assert WaitLine().mutex is not first.mutex


def test_link_and_unlink_callbacks() -> None:
    owner = Owner()
    line = WaitLine(owner)
    seen: list[object] = []
    line.link(seen.append)
    line.link(seen.append)
    line.unlink(seen.append)
    assert line.listeners() == 0
    line.link(seen.append)
    with line.mutex:
        assert line.notify() == 1
    assert seen == []  # deferred to the hub's next turn
    sleep(0)
    assert seen == [owner]
    with pytest.raises(TypeError, match="callable"):
        line.link(3)  # type: ignore[arg-type]


def test_the_line_holds_its_owner_weakly() -> None:
    owner = Owner()
    line = WaitLine(owner)
    ref = weakref.ref(owner)
    del owner
    gc.collect()
    assert ref() is None
    assert line.owner is None


def test_lines_compare_by_identity_and_cannot_be_copied() -> None:
    a, b = WaitLine(), WaitLine()
    assert a != b
    assert a == a
    assert len({a, b}) == 2
    import copy

    with pytest.raises(TypeError, match="cannot be pickled or copied"):
        copy.copy(a)


def test_handoff_from_another_thread_wakes_the_taker_in_its_own_hub() -> None:
    line = WaitLine()
    woke_in: list[int] = []

    def taker() -> None:
        line.park()
        woke_in.append(threading.get_ident())

    task = spawn(taker)
    run_until_blocked()

    def release(_: int) -> None:
        with line.mutex:
            assert line.handoff(True)

    run_in_threads(release, 1)
    task.join(timeout=5)
    assert woke_in == [threading.get_ident()]


def test_asyncio_tasks_wait_in_the_same_line_as_greenlets() -> None:
    line = WaitLine()
    order: list[str] = []

    async def main() -> None:
        async def task(name: str) -> None:
            order.append(f"{name} {await line.async_park()}")

        waiting = [asyncio.ensure_future(task(n)) for n in ("t1", "t2")]
        await asyncio.sleep(0)
        assert line.takers() == 2

        def hand(_: int) -> None:  # from another thread: woken through the loop
            with line.mutex:
                line.handoff(1)
                line.handoff(2)

        await asyncio.get_running_loop().run_in_executor(None, hand, 0)
        await asyncio.gather(*waiting)
        assert await line.async_park(0.001) is TIMED_OUT
        assert await line.async_listen(0.001) is False
        assert await line.async_park(retry=lambda: "now") == "now"

    asyncio.run(main())
    assert order == ["t1 1", "t2 2"]
    assert not line


def test_a_cancelled_task_gives_back_what_it_was_handed() -> None:
    given_back: list[Any] = []

    class Line(WaitLine):
        __slots__ = ()

        def give_back(self, value: object) -> None:
            given_back.append(value)

    line = Line()

    async def main() -> None:
        task = asyncio.ensure_future(line.async_park())
        await asyncio.sleep(0)
        with line.mutex:
            line.handoff("item")
        task.cancel()  # after the hand-off, before the task ran
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert given_back == ["item"]
    assert not line


def test_retry_returning_nothing_parks() -> None:
    line = WaitLine()
    calls = Trace()

    def retry() -> object:
        calls("retry")
        return NOTHING

    task = spawn(line.park, None, retry)
    run_until_blocked()
    assert calls == ["retry"]
    assert line.takers() == 1
    with line.mutex:
        line.handoff("late")
    assert task.get(timeout=1) == "late"
    assert get_hub() is not None


def test_one_shot_objects_let_their_line_go_and_unlink_still_stops_a_due_call() -> None:
    from greensync.hub import Waiter

    waiter: Waiter[int] = Waiter()
    seen: list[object] = []
    waiter.rawlink(seen.append)
    assert waiter.linkcount() == 1
    waiter.switch(1)
    assert waiter.waitline is None  # one-shot: the line went with its last notify
    waiter.unlink(seen.append)  # the call is due, queued in this hub: it must not run
    sleep(0)
    assert seen == []
    assert waiter.get() == 1

    task = spawn(lambda: 7)
    task.rawlink(seen.append)
    task.kill()  # not started: it finishes here, and its callback is due on the next turn
    assert task.ready()
    assert task.waitline is None
    task.unlink(seen.append)
    sleep(0)
    assert seen == []
    task.rawlink(seen.append)  # linking a finished task still calls back, on the next turn
    sleep(0)
    assert seen == [task]


# -- leaving, dead records and counts -----------------------------------------------------


def test_an_async_listen_whose_ready_raises_leaves_no_waiter_behind() -> None:
    line = WaitLine()

    def broken() -> object:
        raise KeyError("ready failed")

    async def main() -> tuple[int, int, int]:
        with pytest.raises(KeyError):
            await line.async_listen(ready=broken)
        with pytest.raises(KeyError):
            await line.async_park(retry=broken)
        return len(line), line.takers(), line.listeners()

    assert asyncio.run(main()) == (0, 0, 0)
    assert not line


def test_notify_passes_over_a_listener_whose_thread_ended_and_wakes_the_rest() -> None:
    line = WaitLine()

    def body(_: int) -> int:
        spawn(line.listen)  # parks, and is still parked when its thread ends
        run_until_blocked()
        return line.listeners()

    assert run_in_threads(body, 1) == [1]
    gc.collect()
    mine = spawn(line.listen, 30)  # behind the dead thread's listener
    run_until_blocked()
    assert line.listeners() == 2
    with line.mutex:
        assert line.notify() == 1  # only the live one is woken: nobody runs the other
    assert mine.get(timeout=30) is True
    assert not line
    assert line.listeners() == 0


def test_move_to_drops_dead_records_in_front_and_keeps_the_counts_exact() -> None:
    source, target = WaitLine(), WaitLine()
    first, middle, last = spawn_all(source.park, [None] * 3)
    run_until_blocked()
    middle.kill()  # leaves from the middle: its record stays, counted as dead
    first.kill()  # leaves from the front: the dead record is now first in the line
    assert (len(source), source.takers()) == (2, 1)
    with source.mutex, target.mutex:
        assert source.move_to(target, 5) == 1
    assert (len(source), source.takers(), source.listeners()) == (0, 0, 0)
    assert not source
    with target.mutex:
        assert target.takers() == 1
        assert target.handoff("moved")
    assert last.get(timeout=5) == "moved"
    with source.mutex:
        assert not source.handoff("nobody")
    spawn(source.park)  # the line still counts right for the next waiter
    run_until_blocked()
    assert source.takers() == 1
    with source.mutex:
        assert source.handoff(None)


def test_a_callback_unlinked_from_the_middle_of_the_line_is_let_go_at_once() -> None:
    owner = Owner()
    line = WaitLine(owner)
    seen: list[object] = []

    def middle(owner: object) -> None:
        seen.append("middle")

    ref = weakref.ref(middle)
    line.link(seen.append)
    line.link(middle)
    line.link(seen.append)
    line.unlink(middle)  # its record stays in the line (dropped lazily), without the callback
    assert (len(line), line.listeners()) == (3, 2)
    del middle
    gc.collect()
    assert ref() is None
    line.unlink(seen.append)
    assert (line.takers(), line.listeners()) == (0, 0)


class _MoveOnAcquire:
    """A mutex that runs ``before()`` once, just before its next acquire: a line that moves a
    waiter away while the waiter, leaving, waits for the mutex of the line it was in."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.before: Any = None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        before, self.before = self.before, None
        if before is not None:
            before()
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def test_a_waiter_that_leaves_while_it_is_moved_leaves_the_line_it_was_moved_to() -> None:
    mutex = _MoveOnAcquire()
    source: WaitLine = WaitLine(mutex=mutex)  # type: ignore[arg-type]
    target = WaitLine()
    task = spawn(source.park)
    run_until_blocked()

    def move() -> None:
        with mutex, target.mutex:
            assert source.move_to(target, 1) == 1

    mutex.before = move  # runs inside the leaver's _leave, before it holds the mutex
    task.kill()
    assert task.dead
    assert not source
    assert (len(target), target.takers()) == (0, 0)
    with target.mutex:
        assert not target.handoff("nobody")  # no record left behind for a dead greenlet


def test_a_waiter_woken_then_killed_before_it_ran_has_its_wake_up_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = get_hub()
    errors: list[BaseException] = []
    monkeypatch.setattr(hub, "handle_error", lambda context, exc: errors.append(exc))
    line = WaitLine()
    listener = spawn(line.listen)
    taker = spawn(line.park)
    survivor = spawn(line.park)
    run_until_blocked()
    hub.run_callback(hub.throw_into, listener, KeyError("killed"))  # run before the wake-ups
    hub.run_callback(hub.throw_into, taker, KeyError("killed"))
    with line.mutex:
        assert line.notify() == 1
        assert line.handoff("permit")
    listener.join(timeout=5)
    taker.join(timeout=5)
    assert isinstance(listener.exception, KeyError)
    assert isinstance(taker.exception, KeyError)
    assert survivor.get(timeout=5) == "permit"  # given back by the killed taker
    run_until_blocked()
    assert [e for e in errors if not isinstance(e, KeyError)] == []  # no stale wake-up ran
    assert not line


def test_the_first_wait_of_a_process_that_imported_asyncio_makes_its_hub() -> None:
    code = (
        "import asyncio\n"
        "from greensync.hub import WaitLine, Waiter\n"
        "print(WaitLine().listen(0.001))\n"
        "waiter = Waiter()\n"
        "try:\n"
        "    waiter.get(timeout=0.001)\n"
        "except TimeoutError:\n"
        "    print('timed out')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert (done.returncode, done.stdout.split(), done.stderr) == (
        0,
        ["False", "timed", "out"],
        "",
    )
