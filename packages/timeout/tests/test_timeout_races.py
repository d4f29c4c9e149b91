"""Deterministic races: a timeout and a wake-up forced into the same hub turn, with exact winners.

The interleaving is forced through the hub, not hoped for: a ``Timeout(0)`` fires from a ready
callback queued when its block starts, a callback queued after it runs after it in the same
turn, a wake-up runs on the turn after the hand-off, and callbacks run before timers within a
turn.  On a FIFO hub that decides every winner, so these tests assert the whole trace.  (The
contract suite asserts the invariants of the same races under the chaos scheduler.)

The built-in hub queues a woken greenlet's switch on its ready queue at the moment of the
hand-off (hub 0.2.0; before, wake-ups went out in a batch callback that a later hand-off could
join).  So a value handed after a ``Timeout(0)`` started can no longer reach the racer ahead
of it there, and the order that forced that ("wake-then-fire") is gone from this module; the
contract suite still runs it, for the adapters, which batch.
"""

from __future__ import annotations

import os
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from greenlet import GreenletExit, getcurrent

from greensync.hub import Waiter, get_hub, sleep, spawn
from greensync.hub.testing import Trace, assert_no_links
from greensync.timeout import Timeout, with_timeout


class OuterTimeout(BaseException):
    """Stands in for an outer timeout thrown into a parked greenlet from the hub."""


def race(
    kind: Any, order: str, trace: Trace, patient: bool = True
) -> tuple[list[Timeout], Any, Any]:
    """Park a racer (under a timeout) and maybe a patient waiter on ``kind``, force ``order``,
    and return the racer's timeout and both tasks.

    * fire-then-deliver: the racer's ``Timeout(0)`` fires first in the turn; the value is
      delivered by a callback queued after it;
    * deliver-then-fire: the value is handed to the racer, whose wake-up is queued after its
      ``Timeout(0)``;
    """
    hub = get_hub()
    timeouts: list[Timeout] = []

    def racer() -> None:
        try:
            with Timeout(0) as timeout:
                timeouts.append(timeout)
                trace(f"racer got {kind.park()}")
        except Timeout as exc:
            trace("racer timed out" if exc is timeout else "racer got a foreign timeout")

    def waiter() -> None:
        trace(f"patient got {kind.park()}")

    racer_task = spawn(racer)
    patient_task = spawn(waiter) if patient else None
    sleep(0)  # one turn: both park; the racer's Timeout(0) fires on the next one
    if order == "fire-then-deliver":
        hub.run_callback(kind.deliver, 1)
    else:
        kind.deliver(1)
    racer_task.join()
    return timeouts, racer_task, patient_task


@pytest.mark.parametrize(
    ("order", "expected", "reclaimed", "left"),
    [
        ("fire-then-deliver", ["racer timed out", "patient got 1", "patient done"], 0, [2]),
        ("deliver-then-fire", ["racer timed out", "patient got 1", "patient done"], 1, [2]),
    ],
)
def test_hand_off_line(
    items_cls: Any, order: str, expected: list[str], reclaimed: int, left: list[int]
) -> None:
    items = items_cls()
    trace = Trace()
    timeouts, _, patient = race(SimpleNamespace(park=items.get, deliver=items.put), order, trace)
    items.put(2)
    patient.join()
    trace("patient done")
    assert trace == expected
    assert items.reclaimed == reclaimed  # the value was handed, then came back
    assert list(items.items) == left
    assert not timeouts[0].pending
    assert_no_links(items)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("fire-then-deliver", ["racer timed out", "patient got 1"]),
        ("deliver-then-fire", ["racer timed out", "patient got 1"]),
    ],
)
def test_listener_line(flag_cls: Any, order: str, expected: list[str]) -> None:
    flag = flag_cls()
    trace = Trace()
    _, _, patient = race(SimpleNamespace(park=flag.wait, deliver=flag.set), order, trace)
    patient.join()
    assert trace == expected
    assert flag.value == 1
    assert_no_links(flag)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("fire-then-deliver", ["racer timed out"]),
        ("deliver-then-fire", ["racer timed out"]),
    ],
)
def test_waiter(order: str, expected: list[str]) -> None:
    waiter: Waiter[int] = Waiter()
    trace = Trace()
    race(SimpleNamespace(park=waiter.get, deliver=waiter.switch), order, trace, patient=False)
    assert trace == expected
    assert waiter.get() == 1  # a value that came too late is kept for the next get()
    assert_no_links(waiter)


@pytest.mark.builtin_hub  # the adapters order callbacks and fd readiness their own way
@pytest.mark.parametrize(
    ("order", "expected"),
    [("fire-then-deliver", ["racer timed out"]), ("deliver-then-fire", ["racer got 1"])],
)
def test_fd_readable(order: str, expected: list[str]) -> None:
    # The built-in hub polls fds at the end of the turn in which the data arrived, before the
    # next turn runs the Timeout(0) callback: data written in the racer's turn wins; data
    # written by a callback after the timeout's loses, and stays in the pipe.
    r, w = os.pipe()
    os.set_blocking(r, False)

    def park() -> int:
        get_hub().wait_readable(r)
        return os.read(r, 1)[0]

    def deliver(value: int) -> None:
        os.write(w, bytes([value]))

    def leftover() -> bytes:
        try:
            return os.read(r, 10)
        except BlockingIOError:
            return b""

    trace = Trace()
    try:
        race(SimpleNamespace(park=park, deliver=deliver), order, trace, patient=False)
        assert trace == expected
        assert leftover() == (b"\x01" if expected == ["racer timed out"] else b"")
    finally:
        os.close(r)
        os.close(w)


# -- kills and outer exceptions ---------------------------------------------------------------


def test_a_zero_timeout_firing_just_before_a_kill_ends_the_task_and_is_reported(
    reported: list[tuple[object, BaseException]],
) -> None:
    trace = Trace()
    timeouts: list[Timeout] = []

    def waiter() -> None:
        try:
            with Timeout(0) as timeout:
                timeouts.append(timeout)
                Waiter[None]().get()
        except GreenletExit:
            trace("killed")
            raise

    task = spawn(waiter)
    sleep(0)  # parked; the Timeout(0) callback is queued for the next turn
    hub = get_hub()
    hub.run_callback(hub.throw_into, task, GreenletExit())  # queued after it, same turn
    task.join()
    # The timeout's callback was queued first, so the timeout fired first and ended the task;
    # the kill found a dead task.  The hub stored and reported the escaped timeout.
    assert trace == []
    assert task.exception is timeouts[0]
    assert reported == [(task, timeouts[0])]


def test_a_kill_delivered_just_before_the_timeout_fires_disarms_it(
    reported: list[tuple[object, BaseException]],
) -> None:
    trace = Trace()
    timeouts: list[Timeout] = []
    hub = get_hub()

    def waiter() -> None:
        # The kill is queued first, then the Timeout(0) callback: same turn, kill first.
        hub.run_callback(hub.throw_into, getcurrent(), GreenletExit())
        try:
            with Timeout(0) as timeout:
                timeouts.append(timeout)
                Waiter[None]().get()
        except GreenletExit:
            trace("killed")
            raise

    task = spawn(waiter)
    task.join()
    assert trace == ["killed"]
    value: object = task.value
    assert isinstance(value, GreenletExit)
    assert not timeouts[0].pending
    sleep(0)
    sleep(0)  # the cancelled timeout callback never runs
    assert reported == []


def test_an_outer_exception_thrown_into_a_waiter_goes_through_its_timeout(
    items_cls: Any,
) -> None:
    # A BaseException thrown in from a hub callback stands for an outer timeout: the inner
    # block lets it through untouched, disarms its own timer, and the item handed to the
    # waiter in the same turn passes on.
    hub = get_hub()
    items = items_cls()
    trace = Trace()
    timeouts: list[Timeout] = []

    def waiter() -> None:
        try:
            with Timeout(10) as timeout:
                timeouts.append(timeout)
                trace(f"waiter got {items.get()}")
        except OuterTimeout:
            trace("outer exception went through")

    def patient() -> None:
        trace(f"patient got {items.get()}")

    tasks = [spawn(waiter), spawn(patient)]
    sleep(0)
    hub.run_callback(hub.throw_into, tasks[0], OuterTimeout())  # arrives first...
    items.put(1)  # ...after the item was handed to the waiter
    for task in tasks:
        task.join()
    assert trace == ["outer exception went through", "patient got 1"]
    assert items.reclaimed == 1
    assert not timeouts[0].pending
    assert_no_links(items)


def test_an_outer_exception_racing_the_inner_zero_timeout() -> None:
    # Both arrive in the same turn, the timeout first: the inner block catches its own
    # timeout; the outer exception then hits the greenlet at its next blocking point.
    hub = get_hub()
    trace = Trace()

    def waiter() -> None:
        try:
            try:
                with Timeout(0) as inner:
                    Waiter[None]().get()
            except Timeout as exc:
                trace("inner timeout" if exc is inner else "foreign timeout")
            sleep(1)
        except OuterTimeout:
            trace("outer exception")

    task = spawn(waiter)
    sleep(0)
    hub.run_callback(hub.throw_into, task, OuterTimeout())
    task.join()
    assert trace == ["inner timeout", "outer exception"]


# -- wake-ups from another thread -------------------------------------------------------------


def test_puts_from_another_thread_racing_timeouts_lose_nothing(items_cls: Any) -> None:
    # Another OS thread puts while waiters here time out: each item is taken exactly once
    # or is still in the line; every waiter saw exactly one outcome.
    items = items_cls()
    outcomes: list[str] = []
    got: list[int] = []
    stop = threading.Event()
    rounds = 50

    def producer() -> None:
        for n in range(rounds):
            items.put(n)
            time.sleep(0.0005)
        stop.set()

    def waiter() -> None:
        while not stop.is_set():
            try:
                with Timeout(0.001):
                    got.append(items.get())
                outcomes.append("got")
            except Timeout:
                outcomes.append("timed out")

    thread = threading.Thread(target=producer)
    tasks = [spawn(waiter) for _ in range(5)]
    thread.start()
    for task in tasks:
        task.join()
    thread.join()
    assert all(task.successful() for task in tasks)
    assert outcomes.count("got") == len(got)
    assert sorted(got + list(items.items)) == list(range(rounds))
    assert_no_links(items)


def test_with_timeout_racing_a_hand_off_returns_one_outcome(items_cls: Any) -> None:
    items = items_cls()
    results: list[Any] = []

    def caller() -> None:
        results.append(with_timeout(0, items.get, timeout_value="late"))

    task = spawn(caller)
    sleep(0)
    items.put(1)  # handed to the caller; its Timeout(0) fires first in the next turn
    task.join()
    assert results == ["late"]
    assert list(items.items) == [1]
    assert items.reclaimed == 1
