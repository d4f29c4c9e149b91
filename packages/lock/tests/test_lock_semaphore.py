"""Semaphore, BoundedSemaphore and DummySemaphore: counting, wait(), balance, links, errors."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

import pytest

from greensync.hub import Linkable, get_hub, joinall, sleep, spawn, wait
from greensync.hub.testing import (
    ChaosHub,
    Trace,
    assert_no_links,
    run_in_threads,
    run_until_blocked,
)
from greensync.hub.testing import existing_hub as _peek_hub
from greensync.lock import BoundedSemaphore, CappedSemaphore, DummySemaphore, Semaphore

Counting = Semaphore | CappedSemaphore


def _semaphore(n: int) -> Counting:
    return Semaphore(n)


def _bounded(n: int) -> Counting:
    return BoundedSemaphore(n)


def _capped(n: int) -> Counting:
    return CappedSemaphore(n)


COUNTING: dict[str, Callable[[int], Counting]] = {
    "Semaphore": _semaphore,
    "BoundedSemaphore": _bounded,
    "CappedSemaphore": _capped,
}


@pytest.fixture(params=sorted(COUNTING))
def make(request: pytest.FixtureRequest) -> Callable[[int], Counting]:
    factory: Callable[[int], Counting] = COUNTING[request.param]
    return factory


class Boom(Exception):
    pass


def deterministic() -> bool:
    """True unless the hub is the chaos scheduler, which reorders each turn's callbacks."""
    return not isinstance(get_hub(), ChaosHub)


# -- the counting contract ------------------------------------------------------------------


@pytest.mark.contract
def test_counter_goes_down_and_up(make: Callable[[int], Counting]) -> None:
    sem = make(3)
    assert (sem.counter, sem.balance, sem.ready(), sem.locked()) == (3, 3, True, False)
    assert [sem.acquire(blocking=False) for _ in range(4)] == [True, True, True, False]
    assert (sem.counter, sem.ready(), sem.locked()) == (0, False, True)
    sem.release()
    assert sem.counter == 1


@pytest.mark.contract
def test_at_most_value_holders_at_once(make: Callable[[int], Counting]) -> None:
    sem = make(3)
    inside = 0
    most = 0
    trace = Trace()

    def worker(i: int) -> None:
        nonlocal inside, most
        with sem:
            inside += 1
            most = max(most, inside)
            trace(f"in {i}")
            sleep(0)
            inside -= 1

    joinall([spawn(worker, i) for i in range(7)])
    assert most == 3
    assert sorted(trace) == [f"in {i}" for i in range(7)]
    if deterministic():
        assert trace == [f"in {i}" for i in range(7)]
    assert sem.counter == 3
    assert_no_links(sem)


@pytest.mark.contract
def test_counts_are_conserved_across_threads(make: Callable[[int], Counting]) -> None:
    sem = make(3)
    stats = threading.Lock()
    inside = 0
    most = 0
    rounds = 0

    def worker(_: int) -> None:
        nonlocal inside, most, rounds
        for _ in range(5):
            with sem:
                with stats:
                    inside += 1
                    most = max(most, inside)
                sleep(0)
                with stats:
                    inside -= 1
                    rounds += 1

    def thread(_: int) -> None:
        joinall([spawn(worker, i) for i in range(20)])

    run_in_threads(thread, 4, what="semaphore stress")
    assert most <= 3
    assert (rounds, inside, sem.counter, sem.balance) == (400, 0, 3, 3)
    assert_no_links(sem)


@pytest.mark.contract
def test_balance_counts_blocked_acquirers(make: Callable[[int], Counting]) -> None:
    sem = make(3)
    for _ in range(3):
        sem.acquire()
    tasks = [spawn(sem.acquire) for _ in range(3)]
    run_until_blocked()
    assert (sem.counter, sem.balance) == (0, -3)
    for _ in range(3):
        sem.release()
    run_until_blocked()
    assert all(task.get() for task in tasks)
    assert (sem.counter, sem.balance) == (0, 0)
    sem.release()
    assert (sem.counter, sem.balance) == (1, 1)


@pytest.mark.contract
def test_wait_returns_the_counter_without_acquiring(make: Callable[[int], Counting]) -> None:
    sem = make(2)
    assert sem.wait() == 2
    assert sem.counter == 2
    sem.acquire()
    sem.acquire()
    assert sem.wait(timeout=0) == 0
    trace = Trace()

    def waiter() -> None:
        trace(f"woke with {sem.wait()}")

    task = spawn(waiter)
    run_until_blocked()
    assert trace == []
    sem.release()
    run_until_blocked()
    assert task.ready()
    assert trace == ["woke with 1"]
    assert sem.counter == 1
    assert_no_links(sem)


@pytest.mark.contract
def test_wait_times_out_with_the_counter(make: Callable[[int], Counting]) -> None:
    sem = make(1)
    sem.acquire()
    task = spawn(sem.wait, 0.01)
    task.join()
    assert task.get() == 0
    assert_no_links(sem)


@pytest.mark.contract
def test_wait_does_not_wake_while_permits_go_to_acquirers(
    make: Callable[[int], Counting],
) -> None:
    sem = make(1)
    sem.acquire()
    trace = Trace()

    def acquirer() -> None:
        sem.acquire()
        trace("acquired")

    def waiter() -> None:
        trace(f"wait returned {sem.wait()}")

    tasks = [spawn(acquirer), spawn(waiter)]
    run_until_blocked()
    sem.release()  # handed to the acquirer: the semaphore never becomes free
    run_until_blocked()
    assert trace == ["acquired"]
    sem.release()
    run_until_blocked()
    assert trace == ["acquired", "wait returned 1"]
    assert all(task.ready() for task in tasks)


@pytest.mark.contract
def test_rawlink_fires_once_when_a_permit_is_free(make: Callable[[int], Counting]) -> None:
    sem = make(1)
    sem.acquire()
    fired: list[object] = []
    sem.rawlink(fired.append)
    run_until_blocked()
    assert fired == []
    sem.release()
    assert fired == []  # deferred to the hub
    run_until_blocked()
    assert fired == [sem]
    sem.acquire()
    sem.release()
    run_until_blocked()
    assert fired == [sem]  # one-shot
    assert_no_links(sem)


@pytest.mark.contract
def test_unlink_removes_a_callback(make: Callable[[int], Counting]) -> None:
    sem = make(1)
    sem.acquire()
    fired: list[object] = []
    sem.rawlink(fired.append)
    sem.unlink(fired.append)
    assert sem.linkcount() == 0
    sem.release()
    run_until_blocked()
    assert fired == []


@pytest.mark.contract
def test_hub_wait_on_a_semaphore(make: Callable[[int], Counting]) -> None:
    sem = make(1)
    sem.acquire()
    get_hub().call_later(0.01, sem.release)
    assert wait([sem], timeout=5) == [sem]
    assert sem.counter == 1


@pytest.mark.contract
def test_negative_value_is_rejected(make: Callable[[int], Counting]) -> None:
    with pytest.raises(ValueError, match="-1"):
        make(-1)
    with pytest.raises(TypeError):
        make("2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`(value|balance)` must be .*, got float 1\.5"):
        make(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`(value|balance)`"):
        make(float("nan"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`(value|balance)`"):
        make(float("inf"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`(value|balance)`"):
        make(-2.0)  # type: ignore[arg-type]


def test_a_whole_float_counts_as_its_int(make: Callable[[int], Counting]) -> None:
    """``Semaphore(2.0)`` is ``Semaphore(2)``, as threading, asyncio, gevent and eventlet
    accept it (issue 15); the counter is an int."""
    sem = make(2.0)  # type: ignore[arg-type]
    assert sem.counter == 2
    assert type(sem.counter) is int
    assert sem.acquire(blocking=False) is True
    assert sem.acquire(blocking=False) is True
    assert sem.acquire(blocking=False) is False


@pytest.mark.contract
def test_bad_wait_timeout_raises_and_leaves_it_working(make: Callable[[int], Counting]) -> None:
    sem = make(1)
    with pytest.raises(TypeError, match="`timeout`"):
        sem.wait("x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`timeout`"):
        sem.wait(-0.5)
    assert sem.wait() == 1
    assert sem.acquire() is True


# -- Semaphore and BoundedSemaphore -----------------------------------------------------------


@pytest.mark.parametrize("cls", [Semaphore, BoundedSemaphore])
def test_release_n_hands_to_waiters_then_the_counter(cls: type[Semaphore]) -> None:
    sem = cls(3)
    for _ in range(3):
        sem.acquire()
    trace = Trace()

    def waiter(i: int) -> None:
        sem.acquire()
        trace(f"w{i}")

    tasks = []
    for i in range(2):
        tasks.append(spawn(waiter, i))
        run_until_blocked()
    sem.release(3)
    assert sem.counter == 1  # two handed on, one to the counter
    run_until_blocked()
    assert trace == ["w0", "w1"]
    assert all(task.ready() for task in tasks)
    assert sem.balance == 1


@pytest.mark.parametrize("cls", [Semaphore, BoundedSemaphore])
def test_release_n_rejects_bad_counts(cls: type[Semaphore]) -> None:
    sem = cls(1)
    sem.acquire()
    with pytest.raises(ValueError, match="`n` must be a positive int, got 0"):
        sem.release(0)
    with pytest.raises(ValueError, match="`n`"):
        sem.release(-2)
    with pytest.raises(TypeError, match="`n`"):
        sem.release(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`n`"):
        sem.release(True)
    assert sem.counter == 0
    sem.release()
    assert sem.counter == 1


def test_semaphore_may_be_over_released() -> None:
    sem = Semaphore(1)
    sem.release()
    sem.release(2)
    assert sem.counter == 4


def test_semaphore_with_zero_blocks_until_released() -> None:
    sem = Semaphore(0)
    task = spawn(sem.acquire)
    run_until_blocked()
    assert not task.ready()
    sem.release()
    run_until_blocked()
    assert task.get() is True


def test_main_greenlet_blocking_forever_gets_loop_exit() -> None:
    from greensync.hub import LoopExit

    sem = Semaphore(0)
    with pytest.raises(LoopExit, match="Semaphore"):
        sem.acquire()
    assert_no_links(sem)
    sem.release()
    assert sem.acquire(blocking=False) is True


def test_bounded_semaphore_refuses_over_release_and_stays_intact() -> None:
    sem = BoundedSemaphore(2)
    with pytest.raises(ValueError, match="initial value 2"):
        sem.release()
    assert sem.counter == 2
    sem.acquire()
    with pytest.raises(ValueError, match="released too many times"):
        sem.release(2)
    assert sem.counter == 1
    sem.release()
    assert sem.counter == 2
    assert [sem.acquire(blocking=False) for _ in range(3)] == [True, True, False]


def test_bounded_semaphore_refuses_to_release_more_than_were_acquired_to_waiters() -> None:
    sem = BoundedSemaphore(2)
    sem.acquire()
    sem.acquire()
    tasks = [spawn(sem.acquire) for _ in range(2)]
    run_until_blocked()
    # Two permits out and two greenlets waiting: releasing 3 is one too many, as in
    # threading, even though two of them would go straight to the waiters.
    with pytest.raises(ValueError, match="releasing 3 with counter 0 would exceed"):
        sem.release(3)
    assert (sem.counter, sem.balance, sem.linkcount()) == (0, -2, 2)
    sem.release(2)
    # Both permits are on their way to the waiters, which have not run yet: they still
    # count, so one more release is refused.
    with pytest.raises(ValueError, match="2 permits handed to waiters that have not run yet"):
        sem.release()
    run_until_blocked()
    assert all(task.get() for task in tasks)
    assert (sem.counter, sem.balance) == (0, 0)


def test_bounded_semaphore_counter_never_passes_the_bound_when_a_waiter_leaves() -> None:
    # Found by the property tests: a permit handed to a waiter that then left came back into
    # the counter after an over-release had been let through, leaving BoundedSemaphore(1)
    # with a counter of 2.
    sem = BoundedSemaphore(1)
    sem.acquire()
    waiter = spawn(sem.acquire)
    run_until_blocked()
    waiter.kill(block=False)  # lands before the waiter runs with its permit
    sem.release()  # handed to the waiter
    with pytest.raises(ValueError, match="1 permit handed to waiters that have not run yet"):
        sem.release()
    run_until_blocked()
    assert waiter.dead
    assert (sem.counter, sem.balance) == (1, 1)  # the permit came back, once
    with pytest.raises(ValueError, match="released too many times"):
        sem.release()
    assert [sem.acquire(blocking=False), sem.acquire(blocking=False)] == [True, False]


def test_bounded_semaphore_permit_reclaimed_from_a_killed_waiter() -> None:
    sem = BoundedSemaphore(1)
    sem.acquire()

    def user() -> None:
        with sem:
            pass

    task = spawn(user)
    run_until_blocked()
    task.kill(block=False)
    sem.release()
    run_until_blocked()
    assert task.ready()
    assert sem.counter == 1
    with pytest.raises(ValueError, match="released too many times"):
        sem.release()


def test_release_n_to_waiters_in_other_threads() -> None:
    sem = Semaphore(0)
    parked = threading.Semaphore(0)
    got: list[int] = []
    lock = threading.Lock()

    def thread(i: int) -> None:
        def acquirer() -> None:
            sem.acquire()
            with lock:
                got.append(i)

        if i == 0:
            for _ in range(3):
                parked.acquire()
            # Wait until the three acquirers are really parked on the semaphore.
            while sem.balance != -3:
                sleep(0.001)
            sem.release(3)
            return
        task = spawn(acquirer)
        get_hub().run_callback(parked.release)
        task.join()

    run_in_threads(thread, 4, what="release(n) across threads")
    assert sorted(got) == [1, 2, 3]
    assert sem.counter == 0
    assert_no_links(sem)


def test_semaphore_repr() -> None:
    sem = Semaphore(0)
    assert repr(sem) == "<Semaphore value=0 waiters=0>"
    tasks = [spawn(sem.acquire) for _ in range(3)]
    run_until_blocked()
    assert repr(sem) == "<Semaphore value=0 waiters=3>"
    sem.release(3)
    run_until_blocked()
    assert all(task.ready() for task in tasks)
    assert repr(BoundedSemaphore(2)) == "<BoundedSemaphore value=2 initial=2 waiters=0>"


def test_uncontended_semaphores_create_no_hub() -> None:
    seen: list[object] = []

    def body() -> None:
        for sem in (Semaphore(2), BoundedSemaphore(2), CappedSemaphore(2), DummySemaphore()):
            sem.acquire()
            sem.release()
            assert sem.wait() >= 1
            assert sem.wait(timeout=1) >= 1
            str(sem.balance)
        sem0 = Semaphore(0)
        assert sem0.acquire(blocking=False) is False
        assert sem0.acquire(timeout=0) is False
        assert sem0.wait(timeout=0) == 0
        seen.append(_peek_hub())

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [None]


def test_semaphores_are_linkables_with_slots() -> None:
    for sem in (Semaphore(), BoundedSemaphore(), DummySemaphore(), CappedSemaphore(1)):
        assert isinstance(sem, Linkable)
        with pytest.raises(AttributeError):
            sem.extra = 1  # type: ignore[union-attr]


# -- DummySemaphore ---------------------------------------------------------------------------


def test_dummy_semaphore_never_blocks() -> None:
    sem = DummySemaphore()
    assert all(sem.acquire() for _ in range(1000))
    assert sem.acquire(blocking=False) is True
    assert sem.acquire(timeout=0.5) is True
    with sem as entered:
        assert entered is True
    sem.release()
    sem.release(5)
    assert (sem.locked(), sem.ready()) == (False, True)
    assert sem.counter == sem.balance == sem.wait() == sem.wait(0.1) == sys.maxsize
    assert repr(sem) == "<DummySemaphore>"


def test_dummy_semaphore_checks_arguments_like_a_semaphore() -> None:
    with pytest.raises(ValueError, match="`value`"):
        DummySemaphore(-1)
    DummySemaphore(7)
    sem = DummySemaphore()
    with pytest.raises(ValueError, match="`blocking` is False"):
        sem.acquire(False, 1.0)
    with pytest.raises(TypeError, match="`timeout`"):
        sem.wait("x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`n`"):
        sem.release(0)
    assert sem.acquire() is True


def test_dummy_semaphore_rawlink_fires_on_the_next_turn() -> None:
    sem = DummySemaphore()
    fired: list[object] = []
    sem.rawlink(fired.append)
    assert fired == []
    run_until_blocked()
    assert fired == [sem]
    assert_no_links(sem)


def test_dummy_semaphore_can_stand_in_for_a_semaphore() -> None:
    def guarded(limit: Semaphore | DummySemaphore) -> int:
        most = inside = 0

        def work() -> None:
            nonlocal most, inside
            with limit:
                inside += 1
                most = max(most, inside)
                sleep(0)
                inside -= 1

        joinall([spawn(work) for _ in range(5)])
        return most

    assert guarded(Semaphore(2)) == 2
    assert guarded(DummySemaphore()) == 5


@pytest.mark.contract
def test_exception_thrown_into_waiter_keeps_count(make: Callable[[int], Counting]) -> None:
    sem = make(2)
    sem.acquire()
    sem.acquire()
    trace = Trace()

    def waiter(name: str) -> None:
        try:
            sem.acquire()
            trace(f"{name} got")
        except Boom:
            trace(f"{name} interrupted")

    tasks = []
    for name in ("a", "b", "c"):
        tasks.append(spawn(waiter, name))
        run_until_blocked()
    hub = get_hub()
    hub.run_callback(hub.throw_into, tasks[0], Boom())
    hub.run_callback(hub.throw_into, tasks[2], Boom())
    sem.release()
    sem.release()
    run_until_blocked()
    got = [label for label in trace if label.endswith("got")]
    if deterministic():
        assert trace == ["a interrupted", "c interrupted", "b got"]
    assert "b got" in got
    # Two permits released: each went to a greenlet that kept it, or back to the counter.
    assert len(got) + sem.counter == 2
    assert all(task.ready() for task in tasks)
    assert_no_links(sem)
