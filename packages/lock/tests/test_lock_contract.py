"""The contract every mutual-exclusion primitive of greensync.lock keeps.

Written once and run against Lock, RLock, and the semaphores used with one permit (after
CPython's Lib/test/lock_tests.py and trio's generic lock tests, in spirit).  Marked
``contract``: the nox ``chaos`` session runs it under the seeded chaos scheduler, where the
order of unrelated greenlets changes but the promises (FIFO among waiters, hand-off, nothing
lost) must not.  Exact schedules are asserted only on a deterministic hub.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

import pytest
from greenlet import GreenletExit

from greensync.hub import Task, get_hub, joinall, sleep, spawn
from greensync.hub.testing import (
    ChaosHub,
    Trace,
    assert_no_links,
    run_in_threads,
    run_until_blocked,
)
from greensync.hub.testing import existing_hub as _peek_hub
from greensync.lock import BoundedSemaphore, CappedSemaphore, Lock, RLock, Semaphore

pytestmark = pytest.mark.contract


class Mutex(Protocol):
    def acquire(self, blocking: bool = ..., timeout: float | None = ...) -> bool: ...
    def release(self) -> object: ...
    def linkcount(self) -> int: ...
    def __enter__(self) -> bool: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def _semaphore() -> Mutex:
    return Semaphore(1)


def _bounded() -> Mutex:
    return BoundedSemaphore(1)


def _capped() -> Mutex:
    return CappedSemaphore(1)


MUTEXES: dict[str, Callable[[], Mutex]] = {
    "Lock": Lock,
    "RLock": RLock,
    "Semaphore": _semaphore,
    "BoundedSemaphore": _bounded,
    "CappedSemaphore": _capped,
}


@pytest.fixture(params=sorted(MUTEXES))
def make(request: pytest.FixtureRequest) -> Callable[[], Mutex]:
    factory: Callable[[], Mutex] = MUTEXES[request.param]
    return factory


class Boom(Exception):
    pass


def deterministic() -> bool:
    """True unless the hub is the chaos scheduler, which reorders each turn's callbacks."""
    return not isinstance(get_hub(), ChaosHub)


def in_greenlet(fn: Callable[[], bool]) -> bool:
    """Run ``fn`` in a fresh greenlet until it finishes; return its result."""
    task = spawn(fn)
    run_until_blocked()
    assert task.ready(), "the greenlet blocked"
    return task.get()


def finished(*tasks: Task[Any]) -> None:
    run_until_blocked()
    assert all(task.ready() for task in tasks), tasks


# -- basics ----------------------------------------------------------------------------------


def test_uncontended_acquire_and_release_round_trip(make: Callable[[], Mutex]) -> None:
    m = make()
    assert m.acquire() is True
    assert in_greenlet(lambda: m.acquire(blocking=False)) is False
    assert in_greenlet(lambda: m.acquire(timeout=0)) is False
    m.release()
    assert in_greenlet(lambda: m.acquire(blocking=False)) is True
    assert m.linkcount() == 0


def test_context_manager_acquires_and_releases(make: Callable[[], Mutex]) -> None:
    m = make()
    with m as entered:
        assert entered is True
        assert in_greenlet(lambda: m.acquire(blocking=False)) is False
    assert m.acquire(blocking=False) is True
    m.release()


def test_context_manager_releases_on_exception(make: Callable[[], Mutex]) -> None:
    m = make()
    with pytest.raises(Boom), m:
        raise Boom
    assert in_greenlet(lambda: m.acquire(blocking=False)) is True


def test_mutual_exclusion_under_contention(make: Callable[[], Mutex]) -> None:
    m = make()
    inside = 0
    most = 0
    rounds = 0

    def worker(_: int) -> None:
        nonlocal inside, most, rounds
        for _ in range(4):
            with m:
                inside += 1
                most = max(most, inside)
                sleep(0)
                inside -= 1
                rounds += 1

    tasks = [spawn(worker, i) for i in range(6)]
    joinall(tasks)
    assert (most, rounds, inside) == (1, 24, 0)
    assert m.linkcount() == 0


# -- FIFO hand-off ---------------------------------------------------------------------------


def test_waiters_acquire_in_fifo_order(make: Callable[[], Mutex]) -> None:
    m = make()
    trace = Trace()

    def waiter(name: str) -> None:
        trace(f"{name} waits")
        with m:
            trace(f"{name} got")

    m.acquire()
    tasks = []
    for name in "abc":  # one at a time, so the arrival order is known even under chaos
        tasks.append(spawn(waiter, name))
        run_until_blocked()
    assert trace == ["a waits", "b waits", "c waits"]
    m.release()
    finished(*tasks)
    assert trace[3:] == ["a got", "b got", "c got"]
    assert m.linkcount() == 0


def test_wake_order_follows_wait_order_whoever_came_first(make: Callable[[], Mutex]) -> None:
    m = make()
    trace = Trace()

    def waiter(name: str) -> None:
        trace(f"{name} waits")  # nothing switches between this and queueing in acquire()
        with m:
            trace(f"{name} got")

    m.acquire()
    tasks = [spawn(waiter, name) for name in "abcde"]  # they start in any order
    run_until_blocked()
    m.release()
    finished(*tasks)
    waited = [label.split()[0] for label in trace[:5]]
    got = [label.split()[0] for label in trace[5:]]
    assert sorted(waited) == list("abcde")
    assert got == waited


def test_release_hands_off_so_the_releaser_queues_behind(make: Callable[[], Mutex]) -> None:
    m = make()
    trace = Trace()

    def waiter(name: str) -> None:
        with m:
            trace(f"{name} got")
            sleep(0)
            trace(f"{name} releases")

    m.acquire()
    first = spawn(waiter, "w")
    run_until_blocked()
    m.release()
    # The lock is reserved for the waiter, which has not run yet.
    assert m.acquire(blocking=False) is False
    assert trace == []
    second = spawn(waiter, "late")
    assert m.acquire() is True  # parks behind "w" (and "late" is not yet queued)
    trace("main got")
    m.release()
    finished(first, second)
    assert trace == ["w got", "w releases", "main got", "late got", "late releases"]


def test_no_greenlet_starves_in_a_tight_loop(make: Callable[[], Mutex]) -> None:
    m = make()
    trace = Trace()

    def looper(name: str) -> None:
        for _ in range(4):
            with m:
                trace(name)
                sleep(0)

    tasks = [spawn(looper, name) for name in "abc"]
    finished(*tasks)
    # Strict rotation: whoever went first, each goes again only after the other two.
    first_round = trace[:3]
    assert sorted(first_round) == ["a", "b", "c"]
    assert trace == first_round * 4
    if deterministic():
        assert first_round == ["a", "b", "c"]


def test_release_never_switches_away(make: Callable[[], Mutex]) -> None:
    m = make()
    trace = Trace()

    def waiter() -> None:
        with m:
            trace("waiter got")

    m.acquire()
    task = spawn(waiter)
    run_until_blocked()
    m.release()
    trace("release returned")
    finished(task)
    assert trace == ["release returned", "waiter got"]


# -- leaving early ---------------------------------------------------------------------------


def test_timeout_returns_false_and_leaves_no_links(make: Callable[[], Mutex]) -> None:
    m = make()
    m.acquire()
    task = spawn(m.acquire, timeout=0.01)
    task.join()
    assert task.get() is False
    assert_no_links(m)
    m.release()
    assert in_greenlet(lambda: m.acquire(timeout=0.01)) is True


def test_timed_out_waiter_is_skipped_by_release(make: Callable[[], Mutex]) -> None:
    m = make()
    trace = Trace()

    def patient() -> None:
        with m:
            trace("patient got")

    m.acquire()
    impatient = spawn(m.acquire, timeout=0.01)
    run_until_blocked()
    task = spawn(patient)
    impatient.join()
    assert impatient.get() is False
    m.release()
    finished(task)
    assert trace == ["patient got"]
    assert_no_links(m)
    assert m.acquire(blocking=False) is True


def _race(m: Mutex, holder_sleeps: float, waiter_timeout: float) -> list[bool]:
    """Let the holder's release and the waiter's timeout land in the same hub turn."""
    results: list[bool] = []

    def holder() -> None:
        with m:
            sleep(holder_sleeps)

    def waiter() -> None:
        got = m.acquire(timeout=waiter_timeout)
        results.append(got)
        if got:
            m.release()

    tasks = [spawn(holder)]
    run_until_blocked()  # the holder has the lock before the waiter starts
    tasks.append(spawn(waiter))
    run_until_blocked()
    # Keep the hub busy past both deadlines so that both timers fire in one pass, in
    # deadline order.
    get_hub().run_callback(time.sleep, max(holder_sleeps, waiter_timeout) + 0.03)
    joinall(tasks)
    return results


def test_release_just_before_the_timeout_wins(make: Callable[[], Mutex]) -> None:
    m = make()
    assert _race(m, holder_sleeps=0.01, waiter_timeout=0.03) == [True]
    assert_no_links(m)
    assert m.acquire(blocking=False) is True


def test_timeout_just_before_the_release_wins(make: Callable[[], Mutex]) -> None:
    m = make()
    assert _race(m, holder_sleeps=0.03, waiter_timeout=0.01) == [False]
    assert_no_links(m)
    assert m.acquire(blocking=False) is True  # not lost...
    assert in_greenlet(lambda: m.acquire(blocking=False)) is False  # ...nor duplicated


def test_waiter_killed_after_hand_off_passes_it_on(make: Callable[[], Mutex]) -> None:
    m = make()
    trace = Trace()

    def waiter(name: str) -> None:
        with m:
            trace(f"{name} got")

    m.acquire()
    first = spawn(waiter, "first")
    run_until_blocked()
    second = spawn(waiter, "second")
    run_until_blocked()
    first.kill(block=False)  # delivered on the next turn, before the hand-off runs
    m.release()
    finished(first, second)
    if deterministic():
        assert trace == ["second got"]
        assert isinstance(first.value, GreenletExit)
    else:  # the kill may come after "first" ran with the lock
        assert trace in (["second got"], ["first got", "second got"])
    assert_no_links(m)
    assert m.acquire(blocking=False) is True
    assert in_greenlet(lambda: m.acquire(blocking=False)) is False


def test_exception_thrown_after_hand_off_passes_it_on(make: Callable[[], Mutex]) -> None:
    m = make()
    trace = Trace()

    def waiter(name: str) -> None:
        try:
            with m:
                trace(f"{name} got")
        except Boom:
            trace(f"{name} interrupted")

    m.acquire()
    first = spawn(waiter, "first")
    run_until_blocked()
    second = spawn(waiter, "second")
    run_until_blocked()
    hub = get_hub()
    hub.run_callback(hub.throw_into, first, Boom())
    m.release()
    finished(first, second)
    if deterministic():
        assert trace == ["first interrupted", "second got"]
    else:
        assert trace in (["first interrupted", "second got"], ["first got", "second got"])
    assert_no_links(m)
    assert m.acquire(blocking=False) is True


def test_last_waiter_killed_after_hand_off_gives_it_back(make: Callable[[], Mutex]) -> None:
    m = make()

    def waiter() -> None:
        with m:
            pass

    m.acquire()
    task = spawn(waiter)
    run_until_blocked()
    task.kill(block=False)
    m.release()
    finished(task)
    if deterministic():
        assert isinstance(task.value, GreenletExit)
    assert_no_links(m)
    assert m.acquire(blocking=False) is True
    assert in_greenlet(lambda: m.acquire(blocking=False)) is False


def test_waiter_killed_while_waiting_leaves_no_links(make: Callable[[], Mutex]) -> None:
    m = make()
    m.acquire()
    task = spawn(m.acquire)
    run_until_blocked()
    task.kill()
    assert_no_links(m)
    m.release()
    assert m.acquire(blocking=False) is True


# -- bad input -------------------------------------------------------------------------------


def test_bad_arguments_raise_and_leave_it_working(make: Callable[[], Mutex]) -> None:
    m = make()
    with pytest.raises(TypeError, match="`timeout`"):
        m.acquire(timeout="soon")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`timeout`"):
        m.acquire(timeout=-1)
    with pytest.raises(ValueError, match="`blocking` is False"):
        m.acquire(blocking=False, timeout=1.0)
    assert m.acquire() is True
    assert in_greenlet(lambda: m.acquire(blocking=False)) is False
    m.release()
    assert m.linkcount() == 0


def test_blocking_in_the_hub_is_refused(make: Callable[[], Mutex]) -> None:
    m = make()
    m.acquire()
    errors: list[BaseException] = []

    def callback() -> None:
        try:
            m.acquire()
        except RuntimeError as exc:
            errors.append(exc)

    get_hub().run_callback(callback)
    run_until_blocked()
    assert len(errors) == 1
    assert "cannot block inside the hub" in str(errors[0])
    assert m.linkcount() == 0
    m.release()


# -- threads and the hub ---------------------------------------------------------------------


def test_uncontended_use_creates_no_hub(make: Callable[[], Mutex]) -> None:
    seen: list[object] = []

    def body() -> None:
        m = make()
        m.acquire()
        m.release()
        with m:
            pass
        assert m.acquire(blocking=False) is True
        m.release()
        assert m.acquire(timeout=5) is True
        m.release()
        seen.append(_peek_hub())

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [None]


def test_shared_between_threads_keeps_exclusion_and_counts(make: Callable[[], Mutex]) -> None:
    m = make()
    stats = threading.Lock()
    inside = 0
    most = 0
    rounds = 0

    def worker(_: int) -> None:
        nonlocal inside, most, rounds
        for _ in range(5):
            with m:
                with stats:
                    inside += 1
                    most = max(most, inside)
                sleep(0)
                with stats:
                    inside -= 1
                    rounds += 1

    def thread(_: int) -> int:
        tasks = [spawn(worker, i) for i in range(20)]
        joinall(tasks)
        return sum(1 for task in tasks if task.successful())

    assert run_in_threads(thread, 4, what="mutex stress") == [20, 20, 20, 20]
    assert (most, rounds, inside) == (1, 4 * 20 * 5, 0)
    assert m.linkcount() == 0
    assert m.acquire(blocking=False) is True
