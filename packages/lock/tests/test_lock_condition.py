"""Condition: notify moves waiters to the lock's queue; wait re-acquires however it ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

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
from greensync.lock import Condition, Lock, RLock, Semaphore


def _rlock_condition() -> Condition:
    return Condition()


def _lock_condition() -> Condition:
    return Condition(Lock())


def _foreign_condition() -> Condition:
    return Condition(Semaphore(1))  # not a lock of ours: the plain, wake-and-acquire way


CONDITIONS: dict[str, Callable[[], Condition]] = {
    "RLock": _rlock_condition,
    "Lock": _lock_condition,
    "foreign": _foreign_condition,
}


@pytest.fixture(params=sorted(CONDITIONS))
def make(request: pytest.FixtureRequest) -> Callable[[], Condition]:
    factory: Callable[[], Condition] = CONDITIONS[request.param]
    return factory


def _held(cond: Condition) -> bool:
    return cond.locked()


def deterministic() -> bool:
    """True unless the hub is the chaos scheduler, which reorders each turn's callbacks."""
    return not isinstance(get_hub(), ChaosHub)


def _racing(cond: Condition) -> bool:
    """True if the woken waiters race for the lock in an order the hub may shuffle.

    With a foreign lock the notified waiters are woken together and each re-acquires the
    lock itself: they do so in the order they run, which the chaos scheduler shuffles.  (With
    our locks they are moved onto the lock's line and handed it one at a time, in order.)
    """
    return not deterministic() and not isinstance(cond._lock, (Lock, RLock))


def spawn_in_turn(fn: Callable[[str], None], names: Iterable[str]) -> list[Task[None]]:
    """Spawn ``fn(name)`` for each name, letting each block before the next starts."""
    tasks = []
    for name in names:
        tasks.append(spawn(fn, name))
        run_until_blocked()
    return tasks


# -- the contract, for every kind of lock -----------------------------------------------------


@pytest.mark.contract
def test_notify_wakes_waiters_in_fifo_order(make: Callable[[], Condition]) -> None:
    cond = make()
    trace = Trace()

    def waiter(name: str) -> None:
        with cond:
            trace(f"{name} waits")
            assert cond.wait() is True
            trace(f"{name} woke")

    tasks = spawn_in_turn(waiter, "abc")
    with cond:
        cond.notify()
        trace("notified 1")
    run_until_blocked()
    with cond:
        cond.notify(2)
        trace("notified 2")
    run_until_blocked()
    observed = trace[:6] + sorted(trace[6:]) if _racing(cond) else list(trace)
    assert observed == [
        "a waits",
        "b waits",
        "c waits",
        "notified 1",
        "a woke",
        "notified 2",
        "b woke",
        "c woke",
    ]
    assert all(task.successful() for task in tasks)
    assert_no_links(cond._line)


@pytest.mark.contract
def test_notify_all_wakes_everyone_one_at_a_time(make: Callable[[], Condition]) -> None:
    cond = make()
    trace = Trace()
    inside = 0

    def waiter(name: str) -> None:
        nonlocal inside
        with cond:
            cond.wait()
            inside += 1
            trace(f"{name} woke alone: {inside == 1}")
            sleep(0)
            inside -= 1

    tasks = spawn_in_turn(waiter, "abc")
    with cond:
        cond.notify_all()
    joinall(tasks)
    expected = ["a woke alone: True", "b woke alone: True", "c woke alone: True"]
    assert (sorted(trace) if _racing(cond) else trace) == expected


@pytest.mark.contract
def test_notify_without_waiters_is_a_no_op(make: Callable[[], Condition]) -> None:
    cond = make()
    with cond:
        cond.notify()
        cond.notify(5)
        cond.notify(0)
        cond.notify_all()
    assert not _held(cond)


@pytest.mark.contract
def test_wait_and_notify_without_the_lock_are_runtime_errors(
    make: Callable[[], Condition],
) -> None:
    cond = make()
    with pytest.raises(RuntimeError, match="without holding its lock"):
        cond.wait()
    with pytest.raises(RuntimeError, match="cannot wait on a Condition"):
        cond.wait(0.01)
    with pytest.raises(RuntimeError, match="cannot wait on a Condition"):
        cond.wait_for(lambda: True)
    with pytest.raises(RuntimeError, match="cannot notify a Condition"):
        cond.notify()
    with pytest.raises(RuntimeError, match="cannot notify a Condition"):
        cond.notify_all()
    assert_no_links(cond._line)
    # Still works afterwards.

    def waiter() -> bool:
        with cond:
            return cond.wait()

    task = spawn(waiter)
    run_until_blocked()
    with cond:
        cond.notify()
    run_until_blocked()
    assert task.get() is True
    assert not _held(cond)


@pytest.mark.contract
def test_wait_timeout_returns_false_holding_the_lock(make: Callable[[], Condition]) -> None:
    cond = make()
    trace = Trace()

    def waiter() -> None:
        with cond:
            result = cond.wait(0.01)
            trace(f"wait returned {result}, lock held: {_held(cond)}")

    task = spawn(waiter)
    run_until_blocked()
    with cond:
        sleep(0.03)  # hold the lock past the waiter's timeout
        trace("main releases")
    task.join()
    assert trace == ["main releases", "wait returned False, lock held: True"]
    assert_no_links(cond._line)
    assert not _held(cond)


@pytest.mark.contract
def test_wait_for_returns_the_predicate_value(make: Callable[[], Condition]) -> None:
    cond = make()
    items: list[int] = []
    trace = Trace()

    def consumer() -> None:
        with cond:
            got = cond.wait_for(lambda: len(items) >= 2)
            trace(f"got {got} with {items}")

    task = spawn(consumer)
    for i in range(3):
        run_until_blocked()
        with cond:
            items.append(i)
            cond.notify()
            trace(f"put {i}")
    run_until_blocked()
    assert task.ready()
    assert trace == ["put 0", "put 1", "got True with [0, 1]", "put 2"]


@pytest.mark.contract
def test_wait_for_times_out_with_the_false_value(make: Callable[[], Condition]) -> None:
    cond = make()
    calls = 0

    def predicate() -> int:
        nonlocal calls
        calls += 1
        return 0

    with cond:
        assert cond.wait_for(predicate, timeout=0.02) == 0
        assert cond.wait_for(predicate, timeout=0) == 0
    assert calls >= 3
    assert_no_links(cond._line)


@pytest.mark.contract
def test_wait_for_true_at_once_does_not_wait(make: Callable[[], Condition]) -> None:
    cond = make()
    with cond:
        assert cond.wait_for(lambda: "yes") == "yes"
    with pytest.raises(TypeError, match="`predicate`"), cond:
        cond.wait_for(None)  # type: ignore[arg-type]
    assert not _held(cond)


@pytest.mark.contract
def test_timed_out_waiter_is_not_woken_by_notify(make: Callable[[], Condition]) -> None:
    cond = make()
    trace = Trace()

    def waiter(name: str, timeout: float | None) -> None:
        with cond:
            trace(f"{name}: {cond.wait(timeout)}")

    impatient = spawn(waiter, "impatient", 0.01)
    patient = spawn(waiter, "patient", None)
    impatient.join()
    with cond:
        cond.notify()
    patient.join()
    assert trace == ["impatient: False", "patient: True"]
    assert_no_links(cond._line)


@pytest.mark.contract
def test_bad_arguments_raise_and_leave_it_working(make: Callable[[], Condition]) -> None:
    cond = make()
    with cond:
        with pytest.raises(TypeError, match="`timeout`"):
            cond.wait("1")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="`timeout`"):
            cond.wait(-1)
        with pytest.raises(ValueError, match="`n` must be a non-negative int, got -1"):
            cond.notify(-1)
        with pytest.raises(TypeError, match="`n`"):
            cond.notify(1.0)  # type: ignore[arg-type]
        assert cond.wait(0.001) is False
        assert _held(cond)
    assert not _held(cond)
    assert_no_links(cond._line)


@pytest.mark.contract
def test_exception_thrown_into_waiter_re_acquires_the_lock(
    make: Callable[[], Condition],
) -> None:
    cond = make()
    trace = Trace()

    class Stop(Exception):
        pass

    def waiter() -> None:
        with cond:
            try:
                cond.wait()
            except Stop:
                trace(f"interrupted holding the lock: {_held(cond)}")

    task = spawn(waiter)
    run_until_blocked()
    hub = get_hub()
    hub.run_callback(hub.throw_into, task, Stop())
    run_until_blocked()
    assert task.successful()
    assert trace == ["interrupted holding the lock: True"]
    assert not _held(cond)
    assert_no_links(cond._line)


@pytest.mark.contract
def test_notified_waiter_killed_passes_the_turn_on(make: Callable[[], Condition]) -> None:
    cond = make()
    trace = Trace()

    def waiter(name: str) -> None:
        with cond:
            try:
                cond.wait()
            except GreenletExit:
                trace(f"{name} killed, lock held: {_held(cond)}")
                raise
            trace(f"{name} woke")

    first, second = spawn_in_turn(waiter, ("first", "second"))
    with cond:
        first.kill(block=False)  # arrives before the lock is handed over
        cond.notify_all()
    run_until_blocked()
    if not deterministic():  # the kill may come after "first" ran
        assert "second woke" in trace
        assert len(trace) == 2
    elif isinstance(cond._lock, (Lock, RLock)):
        # The lock was handed to "first", which passed it to "second" as it left, then
        # waited for it again.
        assert trace == ["second woke", "first killed, lock held: True"]
    else:
        # A foreign lock is free when the kill arrives: "first" takes it back at once.
        assert trace == ["first killed, lock held: True", "second woke"]
    assert first.ready()
    assert second.ready()
    assert not _held(cond)
    assert_no_links(cond._line)


def _race(cond: Condition, notifier_sleeps: float, waiter_timeout: float) -> list[bool]:
    """Let the notify and the wait's timeout land in the same hub turn.

    The hub is kept busy (a blocking ``time.sleep`` in a callback) until both deadlines have
    passed, so both are due in one turn and run in deadline order.  The deadlines are far
    apart (0.3 s) so that a loaded machine stalling between the two ``sleep``/``wait`` calls
    that arm them cannot swap their order.
    """
    results: list[bool] = []

    def notifier() -> None:
        sleep(notifier_sleeps)
        with cond:
            cond.notify()

    def waiter() -> None:
        with cond:
            results.append(cond.wait(waiter_timeout))

    tasks = [spawn(waiter), spawn(notifier)]
    run_until_blocked()
    get_hub().run_callback(time.sleep, max(notifier_sleeps, waiter_timeout) + 0.03)
    joinall(tasks)
    return results


@pytest.mark.contract
def test_notify_just_before_the_timeout_wins(make: Callable[[], Condition]) -> None:
    cond = make()
    assert _race(cond, notifier_sleeps=0.02, waiter_timeout=0.32) == [True]
    assert_no_links(cond._line)
    assert not _held(cond)


@pytest.mark.contract
def test_timeout_just_before_the_notify_wins(make: Callable[[], Condition]) -> None:
    cond = make()
    assert _race(cond, notifier_sleeps=0.32, waiter_timeout=0.02) == [False]
    assert_no_links(cond._line)
    assert not _held(cond)


@pytest.mark.contract
def test_blocking_wait_in_the_hub_is_refused(make: Callable[[], Condition]) -> None:
    cond = make()
    errors: list[RuntimeError] = []

    def callback() -> None:
        with cond:
            try:
                cond.wait()
            except RuntimeError as exc:
                errors.append(exc)

    get_hub().run_callback(callback)
    run_until_blocked()
    assert len(errors) == 1
    assert not _held(cond)
    assert_no_links(cond._line)


@pytest.mark.contract
def test_producers_and_consumers_across_threads(make: Callable[[], Condition]) -> None:
    cond = make()
    items: list[int] = []
    taken: list[int] = []
    guard = threading.Lock()

    def thread(i: int) -> None:
        def producer(base: int) -> None:
            for k in range(5):
                with cond:
                    items.append(base + k)
                    cond.notify()
                sleep(0)

        def consumer() -> None:
            for _ in range(5):
                with cond:
                    cond.wait_for(lambda: items)
                    item = items.pop(0)
                with guard:
                    taken.append(item)

        if i % 2:
            tasks = [spawn(producer, (i * 10 + j) * 100) for j in range(10)]
        else:
            tasks = [spawn(consumer) for _ in range(10)]
        joinall(tasks)
        assert all(task.successful() for task in tasks)

    run_in_threads(thread, 4, what="condition stress")
    assert len(taken) == 100
    assert len(set(taken)) == 100
    assert items == []
    assert_no_links(cond._line)


# -- our own locks: no thundering herd, recursion restored ------------------------------------


@pytest.mark.parametrize("lock_type", [Lock, RLock])
def test_notify_moves_waiters_to_the_lock_queue(lock_type: type[Lock | RLock]) -> None:
    lock = lock_type()
    cond = Condition(lock)
    switches = 0

    def waiter() -> None:
        nonlocal switches
        with cond:
            cond.wait()
            switches += 1

    tasks = [spawn(waiter) for _ in range(3)]
    run_until_blocked()
    with cond:
        cond.notify_all()
        # Nobody woke: the three records now wait for the lock itself.
        assert cond._line.linkcount() == 0
        assert lock.linkcount() == 3
    run_until_blocked()
    assert switches == 3
    assert all(task.successful() for task in tasks)
    assert_no_links(lock, cond._line)


def test_rlock_recursion_count_is_restored_after_wait() -> None:
    rlock = RLock()
    cond = Condition(rlock)
    counts: list[int] = []

    def waiter(timeout: float | None) -> None:
        with cond, cond, cond:
            cond.wait(timeout)
            counts.append(rlock._count)
            assert rlock._is_owned()

    task = spawn(waiter, None)
    run_until_blocked()
    assert rlock.locked() is False  # wait released every level
    with cond:
        cond.notify()
    run_until_blocked()
    timed = spawn(waiter, 0.01)
    timed.join()
    assert counts == [3, 3]
    assert task.successful()
    assert timed.successful()
    assert rlock.locked() is False


def test_condition_with_a_lock_only_checks_that_it_is_locked() -> None:
    lock = Lock()
    cond = Condition(lock)
    lock.acquire()
    task = spawn(cond.notify)  # another greenlet may notify while the lock is locked
    run_until_blocked()
    assert task.successful()
    lock.release()


def test_notify_requires_the_rlock_to_be_held_by_the_caller() -> None:
    cond = Condition()
    cond.acquire()
    task = spawn(cond.notify)
    run_until_blocked()
    assert isinstance(task.exception, RuntimeError)
    cond.release()


def test_condition_works_with_a_threading_lock() -> None:
    lock = threading.Lock()
    cond = Condition(lock)
    trace = Trace()

    def waiter() -> None:
        with cond:
            trace(f"woke: {cond.wait()}")

    task = spawn(waiter)
    run_until_blocked()
    with cond:
        cond.notify()
    task.join()
    assert trace == ["woke: True"]
    assert not lock.locked()


def test_condition_rejects_a_non_lock() -> None:
    with pytest.raises(TypeError, match="`lock` must have acquire\\(\\) and release\\(\\)"):
        Condition(object())  # type: ignore[arg-type]


def test_default_lock_is_an_rlock_and_acquire_delegates() -> None:
    cond = Condition()
    assert isinstance(cond._lock, RLock)
    assert cond.acquire() is True
    assert cond.acquire(blocking=False) is True  # reentrant
    assert cond.locked()
    cond.release()
    cond.release()
    assert not cond.locked()
    assert cond.acquire(timeout=1) is True
    cond.release()


def test_repr() -> None:
    cond = Condition(Lock())
    assert repr(cond) == "<Condition lock=<Lock unlocked waiters=0> waiters=0>"
    task = spawn(lambda: cond.acquire() and cond.wait())
    run_until_blocked()
    assert repr(cond) == "<Condition lock=<Lock unlocked waiters=0> waiters=1>"
    with cond:
        cond.notify()
    run_until_blocked()
    assert task.ready()
    cond.release()


def test_uncontended_use_creates_no_hub() -> None:
    seen: list[object] = []

    def body() -> None:
        for cond in (Condition(), Condition(Lock())):
            with cond:
                cond.notify()
                cond.notify_all()
                assert cond.wait_for(lambda: True) is True
        seen.append(_peek_hub())

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [None]


def test_main_greenlet_waiting_forever_gets_loop_exit_holding_the_lock() -> None:
    from greensync.hub import LoopExit

    cond = Condition()
    with cond:
        with pytest.raises(LoopExit, match="Condition") as info:
            cond.wait()
        assert info.value.waiting_on is cond
        assert cond._lock._is_owned()
    assert not cond.locked()
    assert_no_links(cond._line)
