"""The waiter protocol: Waiter, and Linkable driven through a small semaphore built on it."""

from __future__ import annotations

import asyncio
import gc
import threading
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from greensync.hub import (
    Waiter,
    get_hub,
    iwait,
    sleep,
    spawn,
)
from greensync.hub.testing import (
    Permits,
    Trace,
    assert_no_links,
    pending_callbacks,
    run_in_threads,
    run_until_blocked,
    spawn_all,
)
from greensync.hub.testing import existing_hub as _peek_hub

# -- Waiter ---------------------------------------------------------------------------------


def test_waiter_value_before_get_is_kept() -> None:
    waiter: Waiter[int] = Waiter()
    waiter.switch(7)
    assert waiter.ready()
    assert waiter.get() == 7
    assert waiter.get() == 7


def test_waiter_value_after_get_wakes_the_getter() -> None:
    waiter: Waiter[str] = Waiter()
    get_hub().call_later(0.001, waiter.switch, "late")
    assert waiter.get() == "late"
    assert waiter.linkcount() == 0


def test_waiter_throw_raises_in_get() -> None:
    waiter: Waiter[int] = Waiter()
    get_hub().run_callback(waiter.throw, KeyError("k"))
    with pytest.raises(KeyError):
        waiter.get()
    other: Waiter[int] = Waiter()
    other.throw(ValueError)
    with pytest.raises(ValueError):
        other.get()


def _raised_in_origin() -> KeyError:
    """A KeyError raised (and caught) in a function named ``origin``: its traceback says so."""

    def origin() -> None:
        raise KeyError("k")

    try:
        origin()
    except KeyError as exc:
        return exc
    raise AssertionError("origin() did not raise")


def _frames(info: pytest.ExceptionInfo[BaseException]) -> list[str]:
    return [str(entry.name) for entry in info.traceback]


def test_waiter_throw_keeps_the_traceback_the_exception_was_raised_with() -> None:
    waiter: Waiter[int] = Waiter()
    waiter.throw(_raised_in_origin())
    with pytest.raises(KeyError) as info:
        waiter.get()
    assert "origin" in _frames(info)  # where it was raised, not only where get() raised it


def test_waiter_async_get_returns_the_value_raises_the_exception_and_times_out() -> None:
    async def main() -> list[object]:
        seen: list[object] = []
        late: Waiter[str] = Waiter()
        asyncio.get_running_loop().call_later(0.01, late.switch, "late")
        seen.append(await late.async_get(timeout=30))  # parks until the value arrives
        seen.append(late.linkcount())
        early: Waiter[int] = Waiter()
        early.switch(7)
        seen.append(await early.async_get())  # already there: returned at once
        seen.append(await early.async_get(timeout=0))
        empty: Waiter[int] = Waiter()
        with pytest.raises(TimeoutError):
            await empty.async_get(timeout=0.01)
        seen.append(empty.linkcount())
        thrown: Waiter[int] = Waiter()
        asyncio.get_running_loop().call_later(0.01, thrown.throw, _raised_in_origin())
        with pytest.raises(KeyError) as info:
            await thrown.async_get(timeout=30)
        seen.append("origin" in _frames(info))
        return seen

    assert asyncio.run(main()) == ["late", 0, 7, 7, 0, True]


def test_waiter_is_one_shot_and_rejects_non_exceptions() -> None:
    waiter: Waiter[int] = Waiter()
    with pytest.raises(TypeError, match="`exc` must be an exception"):
        waiter.throw(42)  # type: ignore[arg-type]
    waiter.switch(1)
    with pytest.raises(RuntimeError, match="one-shot"):
        waiter.switch(2)
    assert waiter.get() == 1


def test_waiter_timeout_raises_and_leaves_no_link() -> None:
    waiter: Waiter[int] = Waiter()
    with pytest.raises(TimeoutError):
        waiter.get(timeout=0.01)
    assert waiter.linkcount() == 0
    waiter.switch(3)  # still usable
    assert waiter.get() == 3


def test_waiter_switch_never_switches_away_from_the_caller() -> None:
    waiter: Waiter[int] = Waiter()
    trace = Trace()

    def getter() -> None:
        trace(f"got {waiter.get()}")

    spawn(getter)
    run_until_blocked()
    waiter.switch(1)
    trace("after switch")
    run_until_blocked()
    assert trace == ["after switch", "got 1"]


def test_waiter_switch_from_another_thread() -> None:
    waiter: Waiter[str] = Waiter()
    thread = threading.Thread(target=waiter.switch, args=("hello",))
    get_hub().run_callback(thread.start)
    assert waiter.get(timeout=30) == "hello"
    thread.join()


# -- hand-off, FIFO, batching ---------------------------------------------------------------


def test_handoff_serves_waiters_fifo_and_releaser_cannot_barge() -> None:
    permits = Permits(0)
    trace = Trace()

    def taker(name: str) -> None:
        permits.acquire()
        trace(f"{name} acquired")

    spawn_all(taker, ["a", "b", "c"])
    run_until_blocked()
    permits.release()
    # The permit is reserved for "a", which has not run yet: the releaser cannot take it back.
    assert permits.count == 0
    assert permits.acquire(timeout=0) is False
    barger = spawn(taker, "releaser")
    run_until_blocked()  # it queues behind b and c
    permits.release()
    permits.release()
    permits.release()
    run_until_blocked()
    assert trace == ["a acquired", "b acquired", "c acquired", "releaser acquired"]
    assert permits.count == 0
    assert barger.ready()
    assert_no_links(permits)


@pytest.mark.builtin_hub
def test_notify_wakes_a_whole_batch_without_a_callback_per_waiter() -> None:
    permits = Permits(0)
    trace = Trace()

    def listener(i: int) -> None:
        permits.wait_ready()
        trace(str(i))

    spawn_all(listener, range(100))
    run_until_blocked()
    hub = get_hub()
    calls: list[object] = []
    original = hub.run_callback

    def spy(fn: Callable[..., object], *args: Any) -> Any:
        calls.append(fn)
        return original(fn, *args)

    hub.run_callback = spy  # type: ignore[method-assign]
    try:
        line = permits.get_waitline()
        with line.mutex:
            permits.count = 1
            assert line.notify() == 100
    finally:
        del hub.run_callback
    assert calls == []  # no hub callback per waiter (nor one per batch: the loop wakes them)
    assert trace == []  # and nobody ran yet
    assert pending_callbacks() == 100  # each is one switch queued on the ready queue
    run_until_blocked()
    assert trace == [str(i) for i in range(100)]


def test_rawlink_is_one_shot_and_called_with_the_object() -> None:
    permits = Permits(0)
    seen: list[object] = []
    permits.rawlink(seen.append)
    assert permits.linkcount() == 1
    permits.release()
    assert seen == []  # deferred to the hub
    sleep(0)
    assert seen == [permits]
    assert permits.linkcount() == 0
    permits.acquire()
    permits.release()
    sleep(0)
    assert seen == [permits]


def test_rawlink_on_a_ready_object_fires_next_turn() -> None:
    permits = Permits(1)
    seen: list[object] = []
    permits.rawlink(seen.append)
    assert seen == []
    sleep(0)
    assert seen == [permits]


def test_unlink_removes_the_callback() -> None:
    permits = Permits(0)
    seen: list[object] = []
    permits.rawlink(seen.append)
    permits.rawlink(seen.append)
    permits.unlink(seen.append)
    assert permits.linkcount() == 0
    permits.release()
    sleep(0)
    assert seen == []


def test_rawlink_rejects_non_callables() -> None:
    permits = Permits(0)
    with pytest.raises(TypeError, match="`callback` must be callable"):
        permits.rawlink(3)  # type: ignore[arg-type]
    assert permits.linkcount() == 0


def test_failing_rawlink_callback_is_reported_not_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    permits = Permits(0)
    seen: list[object] = []

    def bad(_obj: object) -> None:
        raise ValueError("bad link")

    permits.rawlink(bad)
    permits.rawlink(seen.append)
    permits.release()
    sleep(0)
    assert seen == [permits]
    assert [str(r.exc_info[1]) for r in caplog.records if r.exc_info] == ["bad link"]


# -- leaving early --------------------------------------------------------------------------


def test_timeout_returns_timed_out_and_leaves_no_link() -> None:
    permits = Permits(0)
    assert permits.acquire(timeout=0.01) is False
    assert permits.linkcount() == 0
    permits.release()
    assert permits.count == 1


def test_killed_waiter_handed_a_permit_passes_it_on() -> None:
    permits = Permits(0)
    trace = Trace()

    def taker(name: str) -> None:
        try:
            permits.acquire()
        except BaseException:
            trace(f"{name} killed")
            raise
        trace(f"{name} acquired")

    first, _second = spawn_all(taker, ["first", "second"])
    run_until_blocked()
    hub = get_hub()
    # The kill is queued before the release in the same turn, so it lands first...
    hub.run_callback(lambda: first.kill(block=False))
    sleep(0)  # run the kill callback: it queues the throw
    permits.release()  # ...and the permit was already handed to "first" by then
    run_until_blocked()
    assert trace == ["first killed", "second acquired"]
    assert permits.count == 0
    assert_no_links(permits)


def test_exception_thrown_after_handoff_gives_the_permit_back_when_nobody_waits() -> None:
    permits = Permits(0)
    outcome = Trace()

    def taker() -> None:
        try:
            permits.acquire()
            outcome("acquired")
        except ValueError:
            outcome("thrown")

    task = spawn(taker)
    run_until_blocked()
    hub = get_hub()
    hub.run_callback(hub.throw_into, task, ValueError())
    line = permits.get_waitline()
    with line.mutex:  # hand the permit in the same turn, before the throw runs
        assert line.handoff(True)
    run_until_blocked()
    assert outcome == ["thrown"]
    assert permits.count == 1  # exactly one outcome: the permit is back, not lost
    assert_no_links(permits)


def test_timeout_racing_a_handoff_resolves_to_one_outcome() -> None:
    hub = get_hub()
    for _ in range(20):
        permits = Permits(0)
        results: list[bool] = []

        def taker(p: Permits = permits, out: list[bool] = results) -> None:
            out.append(p.acquire(timeout=0.005))

        spawn(taker)
        run_until_blocked()
        hub.call_later(0.005, permits.release)
        sleep(0.03)
        got = results[0]
        # Either the waiter got the permit, or it timed out and the permit is in the counter.
        assert permits.count == (0 if got else 1)
        assert_no_links(permits)


def test_mass_timeouts_leave_no_records_and_memory_flat() -> None:
    permits = Permits(0)
    blocker = spawn(permits.acquire)  # a long-lived waiter at the head of the line
    run_until_blocked()

    def timed(_: int) -> None:
        permits.acquire(timeout=0.0)

    tracemalloc.start()
    try:
        for _ in range(3):
            for task in spawn_all(timed, range(300)):
                task.join()
        gc.collect()
        first, _ = tracemalloc.get_traced_memory()
        for _ in range(10):
            for task in spawn_all(timed, range(300)):
                task.join()
        gc.collect()
        second, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert permits.linkcount() == 1
    line = permits.waitline
    assert line is not None
    assert len(line) < 100  # dead records were compacted away
    assert second - first < 200_000
    permits.release()
    blocker.join()
    assert blocker.value is True
    assert_no_links(permits)


# -- threads --------------------------------------------------------------------------------


def test_release_from_another_thread_wakes_a_waiter_in_its_own_hub() -> None:
    permits = Permits(0)
    woke_in: list[int] = []

    def taker() -> None:
        permits.acquire()
        woke_in.append(threading.get_ident())

    task = spawn(taker)
    run_until_blocked()
    thread = threading.Thread(target=permits.release)
    thread.start()
    task.join(timeout=30)
    thread.join()
    assert woke_in == [threading.get_ident()]


def test_permits_conserved_across_threads() -> None:
    permits = Permits(3)
    inside = [0]
    peak = [0]
    done = [0]
    lock = threading.Lock()

    def body(_: int) -> None:
        def worker(_: int) -> None:
            for _ in range(50):
                permits.acquire()
                with lock:
                    inside[0] += 1
                    peak[0] = max(peak[0], inside[0])
                sleep(0)
                with lock:
                    inside[0] -= 1
                    done[0] += 1
                permits.release()

        for task in spawn_all(worker, range(10)):
            task.join()

    run_in_threads(body, 4, what="Permits")
    assert done[0] == 4 * 10 * 50
    assert peak[0] <= 3
    assert permits.count == 3
    assert_no_links(permits)


def test_uncontended_protocol_use_creates_no_hub() -> None:
    seen: list[object] = []

    def body() -> None:
        permits = Permits(1)
        permits.acquire()
        permits.release()
        seen.append(_peek_hub())

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [None]


def test_iwait_over_linkables_reports_in_readiness_order() -> None:
    a, b, c = Permits(0), Permits(0), Permits(0)
    hub = get_hub()
    hub.call_later(0.02, b.release)
    hub.call_later(0.01, c.release)
    got = list(iwait([a, b, c], count=2))
    assert got == [c, b]
    assert_no_links(a, b, c)


def test_unlink_after_ready_but_before_the_callback_ran_prevents_the_call() -> None:
    permits = Permits(0)
    seen: list[object] = []
    permits.rawlink(seen.append)
    permits.release()  # due now, queued in the hub's wake batch
    permits.unlink(seen.append)
    sleep(0)
    assert seen == []
    assert permits.linkcount() == 0


def test_dead_records_do_not_keep_their_greenlets() -> None:
    import weakref

    permits = Permits(0)
    blocker = spawn(permits.acquire)  # keeps the line alive, so dead records stay in it
    run_until_blocked()
    refs = []
    for _ in range(5):
        task = spawn(permits.acquire, 0.0)
        task.join()
        refs.append(weakref.ref(task))
        del task
    gc.collect()
    assert [ref() for ref in refs] == [None] * 5
    permits.release()
    blocker.join()


def test_a_waiter_whose_thread_ended_is_never_handed_a_value() -> None:
    permits = Permits(0)

    def body(_: int) -> int:
        spawn(permits.acquire)  # parks, and is still parked when its thread ends
        run_until_blocked()
        return permits.linkcount()

    assert run_in_threads(body, 1) == [1]
    gc.collect()
    permits.release()  # must not go to the greenlet of the dead thread
    assert permits.count == 1
    assert permits.acquire(timeout=0) is True
