"""The timeout contract, written once and run against every kind of hub-level wait.

Each test is marked ``contract``, so the nox ``chaos`` session runs it under many seeded
interleavings: it asserts only what the protocol promises -- which exception arrived, exactly
one outcome per waiter, nothing lost or duplicated, nothing left registered -- never an order
that a legal interleaving could change.  The kinds of wait (``kind``/``wakeable`` fixtures, see
conftest.py): ``Waiter.get``, a Linkable hand-off line and listener line, ``sleep``,
``Task.join``/``Task.get``, ``iwait``, ``wait_readable``/``wait_writable``.

The deterministic versions of the races (exact winners on a FIFO hub) are in
test_timeout_races.py.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from greenlet import GreenletExit

from greensync.hub import Waiter, get_hub, sleep, spawn
from greensync.hub.testing import assert_no_links
from greensync.timeout import Timeout, with_timeout

pytestmark = pytest.mark.contract


class Boom(Exception):
    pass


def fresh(kind: Any) -> Any:
    """Another wait of the same kind as ``kind`` (close it when done)."""
    return type(kind)()


def assert_still_works(kind: Any) -> None:
    """The object a timeout interrupted serves the next wait normally."""
    if kind.can_deliver:
        spawn(kind.deliver, 7)  # runs after we park
        assert kind.park() == 7
    else:
        assert kind.park() is None
    kind.assert_clean()


# -- a timeout that fires while parked --------------------------------------------------------


@pytest.mark.parametrize("exception", [None, False, Boom], ids=["loud", "silent", "Boom"])
def test_a_timeout_fired_while_parked_leaves_the_object_clean_and_working(
    kind: Any, exception: Any
) -> None:
    outcome: list[str] = []
    try:
        with Timeout(0.01, exception) as timeout:
            kind.park()
            outcome.append("woke")
        outcome.append("left silently")
    except Timeout as exc:
        outcome.append("its own Timeout" if exc is timeout else "a foreign Timeout")
    except Boom:
        outcome.append("Boom")
    expected = {None: "its own Timeout", False: "left silently", Boom: "Boom"}[exception]
    assert outcome == [expected]
    assert not timeout.pending
    kind.assert_clean()
    assert kind.remaining() == []
    assert_still_works(kind)


def test_a_timeout_fired_in_a_parked_task_ends_only_that_wait(kind: Any) -> None:
    outcomes: list[str] = []

    def waiter() -> None:
        try:
            with Timeout(0.01) as timeout:
                kind.park()
            outcomes.append("woke")
        except Timeout as exc:
            outcomes.append("timed out" if exc is timeout else "foreign")

    task = spawn(waiter)
    task.join()
    assert outcomes == ["timed out"]
    assert task.successful()
    kind.assert_clean()
    assert_still_works(kind)


def test_with_timeout_around_a_wait_returns_its_value_and_leaves_it_clean(kind: Any) -> None:
    assert with_timeout(0.01, kind.park, timeout_value="late") == "late"
    kind.assert_clean()
    assert_still_works(kind)


def test_after_a_timeout_the_next_wait_is_woken_only_by_its_own_wake_up(kind: Any) -> None:
    # Under the chaos scheduler the timeout may arrive while the greenlet yields before
    # parking; nothing of that yield may wake the greenlet's next wait.
    got: list[str] = []

    def waiter() -> None:
        try:
            with Timeout(0):  # fires on the next turn, wherever the wait has got to
                kind.park()
        except Timeout:
            got.append("timed out")
        waiter: Waiter[str] = Waiter()
        get_hub().call_later(0.005, waiter.switch, "its own wake-up")
        got.append(waiter.get())

    for _ in range(5):
        task = spawn(waiter)
        task.join()
        assert task.successful(), task.exception
    assert got == ["timed out", "its own wake-up"] * 5
    kind.assert_clean()


# -- nested timeouts --------------------------------------------------------------------------


def test_an_inner_timeout_fired_while_parked_is_caught_inside_and_the_outer_goes_on(
    kind: Any,
) -> None:
    caught: list[str] = []
    with Timeout(10) as outer:
        try:
            with Timeout(0.01) as inner:
                kind.park()
        except Timeout as exc:
            caught.append("inner" if exc is inner else "other")
        caught.append("outer pending" if outer.pending else "outer gone")
        kind.assert_clean()
    assert caught == ["inner", "outer pending"]
    assert not outer.pending
    assert_still_works(kind)


def test_an_outer_timeout_fired_while_parked_goes_through_silent_inner_ones(kind: Any) -> None:
    def body() -> list[Timeout]:
        with Timeout(0.01) as outer, Timeout(10, False) as middle, Timeout(5, False) as inner:
            timeouts.extend([outer, middle, inner])
            kind.park()
        return timeouts  # a silent inner timeout swallowed the outer one

    timeouts: list[Timeout] = []
    with pytest.raises(Timeout) as info:
        body()
    assert info.value is timeouts[0]
    assert [timeout.pending for timeout in timeouts] == [False, False, False]
    kind.assert_clean()
    assert_still_works(kind)


def test_nested_with_timeout_calls_each_keep_their_own_value(kind: Any) -> None:
    def inner() -> Any:
        return with_timeout(0.01, kind.park, timeout_value="inner late")

    assert with_timeout(10, inner, timeout_value="outer late") == "inner late"
    kind.assert_clean()
    # The outer call fires first: the inner one (no value of its own) lets it through.
    assert with_timeout(0.01, with_timeout, 10, kind.park, timeout_value="outer late") == (
        "outer late"
    )
    kind.assert_clean()
    assert_still_works(kind)


# -- a timeout and a wake-up in the same hub turn ---------------------------------------------

#: How the race is forced on a FIFO hub (test_timeout_races.py asserts the exact winners there;
#: under the chaos scheduler each turn is shuffled):
#: * fire-then-deliver: Timeout(0) fires first in the turn, the value is delivered after it;
#: * deliver-then-fire: the value is handed over, then Timeout(0) fires before the wake-up ran;
#: * wake-then-fire: a wake-up batch queued ahead of the Timeout(0) carries the value to it
#:   (on an adapter, which batches wake-ups; the built-in hub queues each wake-up when it is
#:   handed, so there this is deliver-then-fire once more);
#: * overdue-timer: the value is handed over while the timeout's timer is already overdue.
ORDERS = ["fire-then-deliver", "deliver-then-fire", "wake-then-fire", "overdue-timer"]


@pytest.mark.parametrize("order", ORDERS)
def test_a_timeout_racing_a_wake_up_has_exactly_one_outcome_and_loses_nothing(
    wakeable: Any, order: str, reported: list[tuple[object, BaseException]]
) -> None:
    hub = get_hub()
    for _ in range(5):
        kind = fresh(wakeable)
        try:
            got: dict[str, list[Any]] = {"A": [], "B": []}
            timeouts: list[Timeout] = []
            primer: Waiter[None] = Waiter()

            def racer(
                kind: Any = kind,
                got: dict[str, list[Any]] = got,
                primer: Waiter[None] = primer,
                timeouts: list[Timeout] = timeouts,
            ) -> None:
                if order == "wake-then-fire":
                    primer.switch(None)  # a wake-up batch is queued ahead of our Timeout(0)
                delay = 0.02 if order == "overdue-timer" else 0
                try:
                    with Timeout(delay) as timeout:
                        timeouts.append(timeout)
                        got["A"].append(kind.park())
                except Timeout as exc:
                    got["A"].append("timed out" if exc is timeout else "foreign timeout")
                sleep(0)  # a timeout that fired late would arrive here

            def patient(kind: Any = kind, got: dict[str, list[Any]] = got) -> None:
                got["B"].append(kind.park())

            primer_task = spawn(primer.get)
            sleep(0)
            racer_task = spawn(racer)
            second = kind.max_waiters > 1
            patient_task = spawn(patient) if second else None
            sleep(0)  # one turn: the waiters park (Timeout(0) fires on the next one)
            if order == "fire-then-deliver":
                hub.run_callback(kind.deliver, 1)
            elif order == "overdue-timer":
                time.sleep(0.04)  # hold the thread: the racer's timer is overdue
                kind.deliver(1)
            else:
                kind.deliver(1)
            racer_task.join()
            if not primer.ready():
                primer.switch(None)
            primer_task.join()
            delivered = [1]
            if patient_task is not None:
                if kind.handoff:
                    kind.deliver(2)  # for the patient one, if the first value went to the racer
                    delivered.append(2)
                patient_task.join()
                assert patient_task.successful()

            assert racer_task.successful(), racer_task.exception
            assert len(got["A"]) == 1, got
            assert got["A"][0] in (1, "timed out"), got
            assert not timeouts[0].pending
            if kind.handoff:
                taken = [v for v in got["A"] + got["B"] if v != "timed out"]
                assert sorted(taken + kind.remaining()) == delivered, (got, kind.remaining())
                if second:
                    assert len(got["B"]) == 1
            else:
                if second:
                    assert got["B"] == [1]  # every waiter sees the one wake-up
                assert kind.remaining() == [1]
            kind.assert_clean()
        finally:
            kind.close()
    assert reported == []


def test_a_kill_racing_a_zero_timeout_ends_the_waiter_exactly_once(
    wakeable: Any, reported: list[tuple[object, BaseException]]
) -> None:
    outcomes: list[str] = []
    timeouts: list[Timeout] = []

    def waiter() -> None:
        with Timeout(0) as timeout:
            timeouts.append(timeout)
            wakeable.park()
        outcomes.append("woke")

    task = spawn(waiter)
    while not timeouts:
        sleep(0)  # it parks; its timeout fires on the next turn
    task.kill(block=False)  # the kill is delivered in that same turn
    task.join()
    assert outcomes == []
    assert not timeouts[0].pending
    if task.exception is not None:
        # The timeout won: it escaped the task, which stores it and reports it once.
        assert task.exception is timeouts[0]
        assert reported == [(task, timeouts[0])]
    else:
        value: object = task.value
        assert isinstance(value, GreenletExit)
        assert reported == []
    wakeable.assert_clean()
    assert_still_works(wakeable)


def test_a_waiter_killed_after_being_handed_a_value_passes_it_on(items_cls: Any) -> None:
    # A value handed to a waiter holding a pending Timeout, which is killed before it runs:
    # the value goes to the next waiter, and the killed waiter's timer is disarmed.
    items = items_cls()
    got: list[int] = []
    timeouts: list[Timeout] = []

    def holder() -> None:
        with Timeout(10) as timeout:
            timeouts.append(timeout)
            got.append(items.get())

    def patient() -> None:
        got.append(items.get())

    first, second = spawn(holder), spawn(patient)
    sleep(0)
    sleep(0)  # both parked, in whatever order the scheduler chose
    first.kill(block=False)  # queued before the hand-off's wake-up...
    items.put(1)  # ...so the kill arrives after the item was handed over
    delivered = [1]
    first.join()
    if not second.ready():
        items.put(2)  # the holder took the first item after all (chaos): one for the patient
        delivered.append(2)
    second.join()
    assert sorted(got + list(items.items)) == delivered
    assert not timeouts[0].pending
    assert_no_links(items)


# -- many waiters, timeouts and wake-ups at once ----------------------------------------------


def test_many_timeouts_racing_many_hand_offs_conserve_every_item(items_cls: Any) -> None:
    items = items_cls()
    got: list[int] = []
    timed_out = 0
    waiters, puts = 60, 25

    def waiter(n: int) -> None:
        nonlocal timed_out
        try:
            with Timeout((n % 5) * 0.002):
                got.append(items.get())
        except Timeout:
            timed_out += 1

    def producer() -> None:
        for n in range(puts):
            items.put(n)
            sleep(0 if n % 2 else 0.001)

    tasks = [spawn(waiter, n) for n in range(waiters)] + [spawn(producer)]
    for task in tasks:
        task.join()
    assert len(got) + timed_out == waiters
    assert sorted(got + list(items.items)) == list(range(puts))
    assert_no_links(items)


def test_a_sleep_and_a_timeout_due_together_resolve_to_one_outcome() -> None:
    outcomes: list[str] = []

    def sleeper(n: int) -> None:
        finished = False
        with Timeout(0.01, False):
            sleep(0.01)
            finished = True
        outcomes.append("slept" if finished else "timed out")
        sleep(0.02)  # the other timer, whichever lost, must not wake us here
        outcomes.append("done")

    tasks = [spawn(sleeper, n) for n in range(10)]
    for task in tasks:
        task.join()
    assert all(task.successful() for task in tasks)
    assert outcomes.count("done") == 10
    assert outcomes.count("slept") + outcomes.count("timed out") == 10


def test_nested_timeouts_in_many_greenlets_are_each_caught_at_their_own_level() -> None:
    caught: list[str] = []

    def inner_first() -> None:
        with Timeout(0.2, False):
            try:
                with Timeout(0.01) as inner:
                    sleep(1)
            except Timeout as exc:
                caught.append("inner" if exc is inner else "foreign")

    def outer_first() -> None:
        try:
            with Timeout(0.01) as outer, Timeout(0.2, False):
                sleep(1)
        except Timeout as exc:
            caught.append("outer" if exc is outer else "foreign")

    def slow() -> str:
        sleep(1)
        return "finished"

    def with_value() -> None:
        caught.append(with_timeout(0.01, slow, timeout_value="with_timeout"))

    tasks = [spawn(fn) for fn in (inner_first, outer_first, with_value) for _ in range(5)]
    for task in tasks:
        task.join()
    assert sorted(caught) == sorted(["inner", "outer", "with_timeout"] * 5)
