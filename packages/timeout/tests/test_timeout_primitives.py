"""A timeout that fires while its greenlet is parked in a primitive leaves the primitive clean.

This package may not import the event, lock or queue packages, so the primitives here are the
hub's own ``Waiter`` and ``greensync.hub.testing.Permits``, a tiny semaphore written against the
``Linkable`` protocol exactly as the real ones are.
"""

from __future__ import annotations

import os
import time

import pytest

from greensync.hub import (
    Waiter,
    get_hub,
    iwait,
    sleep,
    spawn,
)
from greensync.hub.testing import Permits, Trace, assert_no_links
from greensync.timeout import Timeout


def test_timeout_while_parked_on_a_semaphore_leaves_no_link() -> None:
    permits = Permits(0)
    with pytest.raises(Timeout), Timeout(0.01):
        permits.acquire()
    assert_no_links(permits)
    assert permits.count == 0
    permits.release()
    assert permits.acquire(timeout=0)  # the released permit is there, nothing else


def test_silent_timeout_while_parked_on_a_semaphore_leaves_no_link() -> None:
    permits = Permits(0)
    got = []
    with Timeout(0.01, False):
        got.append(permits.acquire())
    assert got == []
    assert_no_links(permits)


def test_permit_handed_in_the_same_turn_before_the_timeout_fires_is_not_lost() -> None:
    # Timeout(0) fires from a ready callback queued when the block started; the release
    # below queues the waiter's wake-up after it, in the same hub turn.  The timeout wins,
    # so the permit the waiter was handed must come back.
    permits = Permits(0)
    trace = Trace()

    def waiter() -> None:
        try:
            with Timeout(0):
                permits.acquire()
                trace("acquired")
        except Timeout:
            trace("timed out")

    task = spawn(waiter)
    sleep(0)  # one turn: the waiter parks; its timeout callback is queued for the next turn
    permits.release()  # handed to the waiter, reserved for it; its wake-up queued after
    assert permits.count == 0
    task.join()
    assert trace == ["timed out"]
    assert permits.reclaimed == 1  # the race really happened: handed, then timed out
    assert permits.count == 1
    assert_no_links(permits)


def test_permit_handed_in_the_same_timer_pass_goes_to_the_next_waiter_in_fifo_order() -> None:
    # Both timers are overdue when the hub next looks (the main greenlet keeps the thread
    # busy past both deadlines), so they run in one pass: the release first (hand-off to
    # "first"), then the timeout of "first".  The permit must pass on to "second".
    permits = Permits(0)
    trace = Trace()
    hub = get_hub()

    def first() -> None:
        try:
            with Timeout(0.05):
                permits.acquire()
                trace("first acquired")
        except Timeout:
            trace("first timed out")

    def second() -> None:
        permits.acquire()
        trace("second acquired")

    tasks = [spawn(first), spawn(second)]
    sleep(0)  # one turn: both park, "first" with its 0.05 s timeout armed
    hub.call_later(0.001, permits.release)
    time.sleep(0.1)  # block the thread: both timers are overdue when the hub next runs
    for task in tasks:
        task.join()
    assert trace == ["first timed out", "second acquired"]
    assert permits.reclaimed == 1
    assert permits.count == 0
    assert_no_links(permits)


def test_value_switched_to_a_waiter_in_the_same_turn_is_kept() -> None:
    waiter: Waiter[str] = Waiter()
    trace = Trace()

    def getter() -> None:
        try:
            with Timeout(0):
                trace(waiter.get())
        except Timeout:
            trace("timed out")

    task = spawn(getter)
    sleep(0)  # the getter parks; its timeout callback is queued for the next turn
    waiter.switch("value")  # its wake-up is queued after the timeout
    task.join()
    assert trace == ["timed out"]
    assert_no_links(waiter)
    assert waiter.get() == "value"  # kept for the next get()


def test_timeout_while_parked_on_a_waiter_leaves_it_usable() -> None:
    waiter: Waiter[int] = Waiter()
    with Timeout(0.01, False):
        waiter.get()
    assert_no_links(waiter)
    assert not waiter.ready()
    spawn(waiter.switch, 5)
    assert waiter.get() == 5


def test_the_sleep_a_timeout_interrupted_never_wakes_the_greenlet_later() -> None:
    # After the timeout cuts sleep(0.05) short, the greenlet waits on a Waiter; the stale
    # sleep timer must not be the thing that wakes it.
    waiter: Waiter[str] = Waiter()
    get_hub().call_later(0.08, waiter.switch, "from the waker")
    with Timeout(0.01, False):
        sleep(0.05)
    assert waiter.get() == "from the waker"


def test_timeout_while_joining_a_task_leaves_no_link_on_it() -> None:
    blocker: Waiter[None] = Waiter()
    task = spawn(blocker.get)
    with pytest.raises(Timeout), Timeout(0.01):
        task.join()
    assert task.linkcount() == 0
    blocker.switch(None)
    task.join()
    assert task.successful()


def test_many_timeouts_on_one_primitive_leave_nothing_behind() -> None:
    permits = Permits(0)
    timed_out = 0

    def waiter() -> None:
        nonlocal timed_out
        try:
            with Timeout(0.01):
                permits.acquire()
        except Timeout:
            timed_out += 1

    tasks = [spawn(waiter) for _ in range(200)]
    for task in tasks:
        task.join()
    assert timed_out == 200
    assert_no_links(permits)
    permits.release()
    assert permits.count == 1


def test_waiters_that_did_not_time_out_are_still_served_in_order() -> None:
    permits = Permits(0)
    trace = Trace()

    def waiter(name: str, delay: float | None) -> None:
        try:
            with Timeout(delay):
                permits.acquire()
                trace(f"{name} acquired")
        except Timeout:
            trace(f"{name} timed out")

    tasks = [
        spawn(waiter, "a", None),
        spawn(waiter, "b", 0.01),
        spawn(waiter, "c", None),
        spawn(waiter, "d", 0.01),
    ]
    sleep(0.03)
    permits.release()
    permits.release()
    for task in tasks:
        task.join()
    assert trace == ["b timed out", "d timed out", "a acquired", "c acquired"]
    assert_no_links(permits)


def test_timeout_while_waiting_for_a_file_descriptor_frees_the_slot() -> None:
    hub = get_hub()
    read_fd, write_fd = os.pipe()
    try:
        with pytest.raises(Timeout), Timeout(0.01):
            hub.wait_readable(read_fd)
        os.write(write_fd, b"x")
        hub.wait_readable(read_fd, timeout=5)  # the slot is free again, and it works
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_timeout_while_in_iwait_removes_its_links() -> None:
    first, second = Permits(0), Permits(0)
    with pytest.raises(Timeout), Timeout(0.01):
        list(iwait([first, second]))
    assert_no_links(first, second)
