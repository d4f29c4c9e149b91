"""Lock and RLock: what they add to the shared contract (ownership, recursion, misuse)."""

from __future__ import annotations

import threading

import pytest
from greenlet import getcurrent, greenlet

from greensync.hub import get_hub, joinall, sleep, spawn
from greensync.hub.testing import (
    ChaosHub,
    Trace,
    assert_no_links,
    run_in_threads,
    run_until_blocked,
)
from greensync.lock import Lock, RLock


def deterministic() -> bool:
    """True unless the hub is the chaos scheduler, which reorders each turn's callbacks."""
    return not isinstance(get_hub(), ChaosHub)


# -- Lock ------------------------------------------------------------------------------------


def test_lock_release_when_unlocked_is_a_runtime_error() -> None:
    lock = Lock()
    with pytest.raises(RuntimeError, match="cannot release an unlocked Lock"):
        lock.release()
    assert lock.locked() is False
    with lock:
        assert lock.locked() is True
    with pytest.raises(RuntimeError):
        lock.release()
    assert lock.acquire(blocking=False) is True


def test_lock_is_not_reentrant() -> None:
    lock = Lock()
    lock.acquire()
    assert lock.acquire(blocking=False) is False
    assert lock.acquire(timeout=0.01) is False
    lock.release()
    assert_no_links(lock)


def test_lock_may_be_released_by_another_greenlet() -> None:
    lock = Lock()
    lock.acquire()
    task = spawn(lock.release)
    run_until_blocked()
    assert task.successful()
    assert lock.locked() is False


def test_lock_rawlink_fires_when_unlocked() -> None:
    lock = Lock()
    lock.acquire()
    fired: list[object] = []
    lock.rawlink(fired.append)
    task = spawn(lock.acquire)
    run_until_blocked()
    lock.release()  # handed to the waiter: the lock never becomes free
    run_until_blocked()
    assert task.get() is True
    assert fired == []
    lock.release()
    run_until_blocked()
    assert fired == [lock]


def test_lock_repr() -> None:
    lock = Lock()
    assert repr(lock) == "<Lock unlocked waiters=0>"
    lock.acquire()
    task = spawn(lock.acquire)
    run_until_blocked()
    assert repr(lock) == "<Lock locked waiters=1>"
    lock.release()
    run_until_blocked()
    lock.release()
    assert task.ready()


# -- RLock -----------------------------------------------------------------------------------


def test_rlock_counts_recursion_per_greenlet() -> None:
    rlock = RLock()
    trace = Trace()

    def other() -> None:
        with rlock:
            trace("other got")

    for _ in range(3):
        assert rlock.acquire() is True
    task = spawn(other)
    run_until_blocked()
    rlock.release()
    rlock.release()
    run_until_blocked()
    assert trace == []  # still held once
    assert rlock._is_owned()
    rlock.release()
    run_until_blocked()
    assert trace == ["other got"]
    assert task.ready()
    assert rlock.locked() is False


def test_rlock_owner_may_acquire_without_blocking() -> None:
    rlock = RLock()
    with rlock:
        assert rlock.acquire(blocking=False) is True
        assert rlock.acquire(timeout=0) is True
        rlock.release()
        rlock.release()
        assert rlock.locked() is True
    assert rlock.locked() is False


def test_rlock_release_by_a_non_owner_names_both_greenlets() -> None:
    rlock = RLock()
    rlock.acquire()
    main = getcurrent()
    errors: list[RuntimeError] = []
    intruder: list[greenlet] = []

    def release() -> None:
        intruder.append(getcurrent())
        try:
            rlock.release()
        except RuntimeError as exc:
            errors.append(exc)

    task = spawn(release)
    run_until_blocked()
    assert task.ready()
    message = str(errors[0])
    assert message.startswith("cannot release an RLock owned by ")
    owner_part, intruder_part = message.split(": ")
    assert f"{id(main):#x}" in owner_part  # the owner (its repr changes with its state)
    assert intruder_part.startswith("<Task ")  # the releasing greenlet, as it was then
    assert intruder_part.endswith(".release running> does not hold it")
    assert isinstance(intruder[0], greenlet)
    assert rlock._is_owned()
    rlock.release()
    assert rlock.locked() is False


def test_rlock_release_when_not_held_is_a_runtime_error() -> None:
    rlock = RLock()
    with pytest.raises(RuntimeError, match="cannot release an RLock that is not held"):
        rlock.release()
    with rlock:
        pass
    with pytest.raises(RuntimeError):
        rlock.release()
    assert rlock.acquire(blocking=False) is True
    rlock.release()


def test_rlock_with_block_whose_body_released_it_raises_on_exit_and_stays_usable() -> None:
    # Leaving a ``with`` block checks ownership as release() does (threading.RLock raises
    # RuntimeError too): the body gave the lock up, so the exit has nothing to release.
    rlock = RLock()
    with pytest.raises(RuntimeError, match="cannot release an RLock that is not held"), rlock:
        rlock.release()
    assert rlock.locked() is False
    assert "unlocked" in repr(rlock)
    # Another greenlet's exit of a block it never entered is refused the same way, and the
    # owner's count is left as it was.
    rlock.acquire()
    rlock.acquire()
    errors: list[RuntimeError] = []

    def exit_without_entering() -> None:
        try:
            rlock.__exit__(None, None, None)
        except RuntimeError as exc:
            errors.append(exc)

    spawn(exit_without_entering)
    run_until_blocked()
    assert len(errors) == 1
    assert "does not hold it" in str(errors[0])
    assert "count=2" in repr(rlock)
    rlock.release()
    rlock.release()
    assert rlock.locked() is False
    assert rlock.acquire(blocking=False) is True
    assert "count=1" in repr(rlock)
    rlock.release()


def test_rlock_hand_off_makes_the_waiter_the_owner() -> None:
    rlock = RLock()
    owners: list[bool] = []

    def waiter() -> None:
        rlock.acquire()
        owners.append(rlock._is_owned())
        rlock.acquire()  # recursion works for the new owner
        rlock.release()
        rlock.release()

    rlock.acquire()
    task = spawn(waiter)
    run_until_blocked()
    rlock.release()
    assert rlock.locked() is True  # reserved for the waiter
    assert rlock._is_owned() is False
    assert rlock.acquire(blocking=False) is False
    run_until_blocked()
    assert task.successful()
    assert owners == [True]
    assert rlock.locked() is False


def test_rlock_ownership_skips_a_killed_waiter() -> None:
    rlock = RLock()
    trace = Trace()

    def waiter(name: str) -> None:
        with rlock:
            trace(f"{name} owns it: {rlock._is_owned()}")

    rlock.acquire()
    first = spawn(waiter, "first")
    run_until_blocked()
    second = spawn(waiter, "second")
    run_until_blocked()
    first.kill(block=False)
    rlock.release()
    run_until_blocked()
    if deterministic():
        assert trace == ["second owns it: True"]
    else:  # the kill may come after "first" ran with the lock
        assert trace in (["second owns it: True"], ["first owns it: True", "second owns it: True"])
    assert first.ready()
    assert second.ready()
    assert rlock.locked() is False
    assert_no_links(rlock)


def test_rlock_timed_out_waiter_does_not_become_owner() -> None:
    rlock = RLock()
    rlock.acquire()
    task = spawn(rlock.acquire, timeout=0.01)
    task.join()
    assert task.get() is False
    rlock.release()
    assert rlock.locked() is False
    assert_no_links(rlock)


def test_rlock_repr_names_the_owner() -> None:
    rlock = RLock()
    assert repr(rlock) == "<RLock unlocked waiters=0>"
    rlock.acquire()
    rlock.acquire()
    assert repr(rlock) == f"<RLock owner={getcurrent()!r} count=2 waiters=0>"
    rlock.release()
    rlock.release()


def test_rlock_recursion_across_threads() -> None:
    rlock = RLock()
    stats = threading.Lock()
    inside = 0
    most = 0
    rounds = 0

    def worker(_: int) -> None:
        nonlocal inside, most, rounds
        for _ in range(3):
            with rlock:
                with stats:
                    inside += 1
                    most = max(most, inside)
                with rlock:
                    sleep(0)
                with stats:
                    inside -= 1
                    rounds += 1

    def thread(_: int) -> None:
        joinall([spawn(worker, i) for i in range(20)])

    run_in_threads(thread, 4, what="rlock stress")
    assert (most, rounds, inside) == (1, 240, 0)
    assert rlock.locked() is False
    assert_no_links(rlock)


def test_lock_handed_to_a_waiter_in_another_thread() -> None:
    lock = Lock()
    lock.acquire()
    parked = threading.Event()
    trace = Trace()

    def thread(i: int) -> None:
        if i == 0:
            parked.wait(10)
            while lock.linkcount() != 1:
                sleep(0.001)
            trace("releasing")
            lock.release()
            return
        hub = get_hub()

        def waiter() -> None:
            with lock:
                trace("waiter got")

        task = spawn(waiter)
        hub.run_callback(parked.set)
        task.join()

    run_in_threads(thread, 2, what="cross-thread hand-off")
    assert trace == ["releasing", "waiter got"]
    assert lock.locked() is False


@pytest.mark.parametrize("lock_type", [Lock, RLock])
def test_main_greenlet_blocking_forever_gets_loop_exit(lock_type: type[Lock | RLock]) -> None:
    from greensync.hub import LoopExit

    lock = lock_type()
    holder = spawn(lock.acquire)  # takes it and finishes: nobody will ever release it
    run_until_blocked()
    assert holder.get() is True
    with pytest.raises(LoopExit, match=lock_type.__name__):
        lock.acquire()
    assert_no_links(lock)
    assert lock.locked() is True
