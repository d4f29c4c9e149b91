"""Interleavings of OS threads forced at named steps of the fast paths (white-box guards).

The fast paths take no mutex, so a waiter of another thread can join a line between two of
their steps: a release that found the line empty and then unlocks must serve whoever joined
meanwhile, and a waiter that joined must take, on its retry, a unit freed meanwhile.  The
window is a few bytecodes wide, so a race left to the scheduler almost never hits it.  Here it
is forced: a profile hook (``sys.setprofile``, this thread only) stops the thread at one step
-- the call of a builtin such as ``list.append`` in a given function, or the call or return of
a given function -- and runs the other side there, to completion or until it is parked, before
the step goes on.  The steps are named by the lock package's own functions (``Semaphore``'s
``__exit__``, the waiters' retries ``_take`` and ``_give``): these tests know where the
windows are, and must follow the code if it moves them.

Each test then asserts who got what, in what state the primitive is left, and that nobody is
left waiting.  Nothing asserts how long anything took; every wait for another thread is
bounded (:data:`BOUND`) and a stop that was never reached fails the test by name.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from greensync.hub import WaitLine, spawn
from greensync.hub.testing import assert_no_links, run_until_blocked
from greensync.lock import CappedSemaphore, Lock, RLock, Semaphore

if TYPE_CHECKING:
    from packages.lock.tests.conftest import OtherThread

#: How long a test waits for another thread before it gives up (a waiter's timeout, too).
BOUND = 5.0


@dataclass(frozen=True)
class At:
    """A step of a function: its ``call`` or ``return``, or (``c_call``) its call of a builtin.

    ``nth`` counts the times the step is reached in this thread while the hook is on.
    """

    event: str
    code: CodeType
    nth: int = 1
    builtin: str | None = None


@contextmanager
def stopping_at(stops: dict[At, Callable[[], object]]) -> Iterator[set[At]]:
    """Run ``stops[at]()`` in this thread when it reaches ``at``, before the step goes on.

    Yields the set of the steps reached.  The actions run inside the profile hook (nothing
    they call is profiled); they must not raise (record a failure instead).
    """
    codes = {at.code for at in stops}
    seen: Counter[tuple[str, CodeType, str | None]] = Counter()
    reached: set[At] = set()

    def hook(frame: FrameType, event: str, arg: Any) -> None:
        code = frame.f_code
        if code not in codes:
            return
        builtin = getattr(arg, "__name__", None) if event == "c_call" else None
        key = (event, code, builtin)
        seen[key] += 1
        for at, action in stops.items():
            if (at.event, at.code, at.builtin) == key and at.nth == seen[key]:
                reached.add(at)
                action()

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        yield reached
    finally:
        sys.setprofile(previous)


def settle(until: Callable[[], bool]) -> bool:
    """Wait (in this OS thread, without the hub) until ``until()``; False after :data:`BOUND`."""
    deadline = time.monotonic() + BOUND
    while not until():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def held(event: threading.Event, go: threading.Event) -> Callable[[], object]:
    """An action that says it was reached, then holds its thread until ``go`` (bounded)."""

    def action() -> None:
        event.set()
        go.wait(BOUND)

    return action


# -- a release that unlocks serves a waiter that joined meanwhile -------------------------------


def test_with_block_exit_serves_a_waiter_that_joined_while_it_unlocked(
    other_thread: OtherThread,
) -> None:
    sem = Semaphore(1)
    waiter: list[Callable[[], Any]] = []
    parked: list[bool] = []

    def another_thread_waits() -> None:
        # ``__exit__`` found nobody waiting and is about to put the permit back in the list.
        waiter.append(other_thread.start(sem.acquire, True, BOUND))
        parked.append(settle(lambda: sem.linkcount() == 1))

    append = At("c_call", Semaphore.__exit__.__code__, builtin="append")
    with stopping_at({append: another_thread_waits}) as reached, sem:
        pass
    assert reached == {append}, "__exit__ never put the permit back in the list"
    assert parked == [True], "the other thread's acquire never parked"
    # The permit went to the waiter, reserved: the semaphore stays taken.
    assert sem.linkcount() == 0, "the waiter that joined meanwhile was not served"
    assert sem.counter == 0
    assert sem.acquire(blocking=False) is False
    assert waiter[0]() is True, "the other thread's acquire timed out"
    sem.release()  # for the other thread
    assert sem.counter == 1
    assert_no_links(sem)


def test_capped_release_splitting_room_serves_a_releaser_that_joined_meanwhile(
    other_thread: OtherThread,
) -> None:
    # Room for many releases is held as one bundle below single units; the release that takes
    # from the bundle puts the rest back, and a releaser that found the room empty in between
    # and blocked must then be served.
    sem = CappedSemaphore(0, upper_bound=200)
    releaser: list[Callable[[], Any]] = []
    parked: list[bool] = []

    def another_thread_releases() -> None:
        # The bundle is out of the list: the room looks empty to the other thread.
        releaser.append(other_thread.start(sem.release, True, BOUND))
        parked.append(settle(lambda: sem.linkcount() == 1))

    put_back = At("c_call", CappedSemaphore._give.__code__, builtin="append")
    released = 0
    with stopping_at({put_back: another_thread_releases}) as reached:
        while not reached and released < 200:
            assert sem.release(blocking=False) is True
            released += 1
    assert reached == {put_back}, "no release took its room from a bundle"
    assert parked == [True], "the other thread's release never blocked"
    assert sem.linkcount() == 0, "the releaser that blocked meanwhile was not served"
    assert releaser[0]() is True, "the other thread's release timed out"
    assert sem.counter == released + 1
    assert sem.balance == released + 1
    assert_no_links(sem)


def test_rlock_exit_serves_a_waiter_that_joined_while_it_unlocked(
    other_thread: OtherThread,
) -> None:
    # The last ``__exit__`` found nobody waiting and is about to put the token back: a waiter
    # of another thread that joins then must be served by that exit, and own the lock.
    rlock = RLock()
    waiter: list[Callable[[], Any]] = []
    parked: list[bool] = []

    def another_thread_waits() -> None:
        waiter.append(other_thread.start(rlock.acquire, True, BOUND))
        parked.append(settle(lambda: rlock.linkcount() == 1))

    append = At("c_call", RLock.__exit__.__code__, builtin="append")
    with stopping_at({append: another_thread_waits}) as reached, rlock:
        pass
    assert reached == {append}, "__exit__ never put the token back"
    assert parked == [True], "the other thread's acquire never parked"
    assert rlock.linkcount() == 0, "the waiter that joined meanwhile was not served"
    assert rlock.locked(), "the lock went to the waiter, reserved"
    assert rlock.acquire(blocking=False) is False
    assert waiter[0]() is True, "the other thread's acquire timed out"
    assert rlock.locked()
    assert not rlock._is_owned()  # the other thread's greenlet owns it, not this one
    other_thread.call(rlock.release)
    assert not rlock.locked()
    assert_no_links(rlock)


def test_lock_release_never_looks_locked_once_it_unlocked_for_a_listener_joining() -> None:
    # A listener (``rawlink``) joins between the release's look at the line and its unlock:
    # the release then serves the line.  From the moment the lock is unlocked it must not
    # look locked again (a non-blocking acquire of another thread would then fail).
    lock = Lock()
    assert lock.acquire() is True
    seen: list[object] = []
    looked: list[bool] = []
    watching = [False]
    unlock = Lock.release.__code__

    def hook(frame: FrameType, event: str, arg: Any) -> None:
        if frame.f_code is unlock and getattr(arg, "__name__", None) == "append":
            if event == "c_call":
                lock.rawlink(seen.append)  # a listener joins: the line is no longer empty
            elif event == "c_return":
                watching[0] = True
            return
        if watching[0]:
            looked.append(lock.locked())
            if frame.f_code is unlock and event == "return":
                watching[0] = False

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        lock.release()
    finally:
        sys.setprofile(previous)
    assert looked, "the release never unlocked the lock"
    assert not any(looked), "the lock looked locked again while the release served its line"
    assert not lock.locked()
    run_until_blocked()
    assert seen == [lock], "the listener that joined meanwhile was not notified"
    assert_no_links(lock)


# -- a waiter's retry takes what was freed before it joined the line ----------------------------


def test_lock_waiter_retry_takes_the_lock_released_before_it_joined(
    other_thread: OtherThread,
) -> None:
    lock = Lock()
    assert lock.acquire() is True
    stopped = threading.Event()
    go = threading.Event()

    def acquire_after_a_stop() -> bool:
        # Hold the acquire after it found the lock held, before it joins the line.
        block = At("call", Lock._block.__code__)
        with stopping_at({block: held(stopped, go)}):
            return lock.acquire(timeout=BOUND)

    waiter = other_thread.start(acquire_after_a_stop)
    try:
        assert stopped.wait(BOUND), "the other thread's acquire never found the lock held"
        lock.release()  # nobody waits yet: the lock is simply unlocked
        assert not lock.locked()
    finally:
        go.set()
    assert waiter() is True, "the waiter's retry did not take the lock released meanwhile"
    assert lock.locked(), "the waiter holds the lock, yet it looks unlocked"
    assert lock.acquire(blocking=False) is False
    assert lock.linkcount() == 0
    lock.release()  # for the other thread
    assert not lock.locked()
    assert lock.acquire(blocking=False) is True
    lock.release()
    assert_no_links(lock)


def test_semaphore_waiter_retry_takes_the_permit_released_before_it_joined(
    other_thread: OtherThread,
) -> None:
    sem = Semaphore(1)
    assert sem.acquire() is True
    stopped = threading.Event()
    go = threading.Event()

    def acquire_after_a_stop() -> bool:
        # Hold the acquire after it found no permit, before it joins the line.
        park = At("call", WaitLine.park.__code__)
        with stopping_at({park: held(stopped, go)}):
            return sem.acquire(timeout=BOUND)

    waiter = other_thread.start(acquire_after_a_stop)
    try:
        assert stopped.wait(BOUND), "the other thread's acquire never found the semaphore taken"
        sem.release()  # nobody waits yet: the permit goes back to the list
        assert sem.counter == 1
    finally:
        go.set()
    assert waiter() is True, "the waiter's retry did not take the permit released meanwhile"
    # The retry took exactly one permit: none is left over, none was made from nothing.
    assert sem.counter == 0
    assert sem.acquire(blocking=False) is False
    assert sem.linkcount() == 0
    sem.release()  # for the other thread
    assert sem.counter == 1
    assert sem.acquire(blocking=False) is True
    assert sem.acquire(blocking=False) is False
    sem.release()
    assert sem.counter == 1
    assert_no_links(sem)


def test_capped_serving_hands_a_joined_acquirer_a_joined_releasers_permit(
    other_thread: OtherThread,
) -> None:
    # An acquirer and a releaser have both joined their lines, neither has retried yet, and a
    # third acquire takes the last free unit and serves the lines: the acquirer must get the
    # releaser's permit (the counter does not move for that pair), not a permit from nowhere.
    sem = CappedSemaphore(0, lower_bound=0, upper_bound=1)
    take = CappedSemaphore._take.__code__
    before_join = threading.Event()
    go_join = threading.Event()
    at_retry = threading.Event()
    go_retry = threading.Event()

    def acquire_with_stops() -> bool:
        stops = {
            At("return", take, 1): held(before_join, go_join),  # found nothing, not yet in line
            At("call", take, 2): held(at_retry, go_retry),  # in line, before its retry
        }
        with stopping_at(stops):
            return sem.acquire(timeout=BOUND)

    acquirer = other_thread.start(acquire_with_stops)
    third: list[bool] = []
    try:
        assert before_join.wait(BOUND), "the other thread's acquire never found the floor"
        assert sem.release() is True  # nobody waits yet: the counter goes up to 1
        assert sem.counter == 1

        def third_acquire() -> None:
            # The releaser below is in its line, before its retry.
            go_join.set()
            if at_retry.wait(BOUND):
                third.append(sem.acquire(blocking=False))

        retry = At("call", CappedSemaphore._give.__code__, 2)
        with stopping_at({retry: third_acquire}) as reached:
            releaser = spawn(sem.release, True, BOUND)
            run_until_blocked()
        assert reached == {retry}, "the releaser never retried"
        assert third == [True], "the third acquire did not take the free unit"
    finally:
        go_join.set()
        go_retry.set()
    assert acquirer() is True
    releaser.join(BOUND)
    assert releaser.get(block=False) is True
    # Two releases and two acquires: the counter is back where it started.
    assert sem.counter == 0
    assert sem.balance == 0
    assert sem.linkcount() == 0
    assert sem.acquire(blocking=False) is False
    assert sem.release(blocking=False) is True
    assert sem.release(blocking=False) is False  # at the upper bound again
    assert_no_links(sem)
