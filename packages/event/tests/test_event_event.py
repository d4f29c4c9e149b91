"""Event: the flag, FIFO wake-ups, the "set at any moment" rule, early leavers, bad input."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from greensync.event import Event
from greensync.hub import LoopExit, get_hub, sleep, spawn
from greensync.hub.testing import (
    Trace,
    assert_no_links,
    pending_callbacks,
    run_until_blocked,
    spawn_all,
)


class Boom(Exception):
    """Thrown into waiters by the tests."""


def test_event_starts_clear_and_set_and_clear_flip_the_flag() -> None:
    ev = Event()
    assert (ev.is_set(), ev.isSet(), ev.ready()) == (False, False, False)
    ev.set()
    assert (ev.is_set(), ev.isSet(), ev.ready()) == (True, True, True)
    ev.set()  # setting again changes nothing
    assert ev.is_set()
    ev.clear()
    assert (ev.is_set(), ev.isSet(), ev.ready()) == (False, False, False)


def test_event_wakes_waiters_in_fifo_order_after_set_returns() -> None:
    ev = Event()
    trace = Trace()

    def waiter(name: str) -> None:
        trace(f"{name} waits")
        trace(f"{name} woke {ev.wait()}")

    spawn_all(waiter, ["a", "b", "c", "d"])
    run_until_blocked()
    assert ev.linkcount() == 4
    ev.set()
    trace("set returned")
    run_until_blocked()
    assert trace == [
        "a waits",
        "b waits",
        "c waits",
        "d waits",
        "set returned",
        "a woke True",
        "b woke True",
        "c woke True",
        "d woke True",
    ]
    assert_no_links(ev)


def test_event_set_wakes_all_waiters_without_a_hub_callback_each_and_a_second_set_adds_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ev = Event()
    tasks = spawn_all(lambda _: ev.wait(), range(50))
    run_until_blocked()
    hub = get_hub()
    calls: list[object] = []
    original = hub.run_callback

    def spy(fn: Callable[..., object], *args: Any) -> Any:
        calls.append(fn)
        return original(fn, *args)

    monkeypatch.setattr(hub, "run_callback", spy)
    ev.set()
    # The built-in hub queues each woken greenlet's switch on its ready queue itself; an
    # adapter schedules one callback for the batch.  Never one per waiter.
    assert len(calls) <= 1
    after_first = pending_callbacks(hub)
    ev.set()  # a second set adds nothing
    assert pending_callbacks(hub) == after_first
    assert len(calls) <= 1
    monkeypatch.undo()
    run_until_blocked()
    assert [task.get() for task in tasks] == [True] * 50


def test_event_wait_returns_true_if_cleared_before_the_waiter_ran() -> None:
    ev = Event()
    results: list[bool] = []
    spawn(lambda: results.append(ev.wait()))
    spawn(lambda: results.append(ev.wait(timeout=10)))
    run_until_blocked()
    ev.set()
    ev.clear()
    run_until_blocked()
    assert results == [True, True]
    assert not ev.is_set()
    assert_no_links(ev)


def test_event_wait_after_clear_blocks_until_the_next_set() -> None:
    ev = Event()
    ev.set()
    ev.clear()
    trace = Trace()
    spawn(lambda: trace(f"woke {ev.wait()}"))
    run_until_blocked()
    assert trace == []
    ev.set()
    run_until_blocked()
    assert trace == ["woke True"]


def test_event_wait_on_a_set_event_returns_true_at_once() -> None:
    ev = Event()
    ev.set()
    hub = get_hub()
    before = pending_callbacks(hub)
    assert all(ev.wait() for _ in range(100))
    assert pending_callbacks(hub) == before
    assert ev.linkcount() == 0


def test_event_wait_times_out_with_false_and_leaves_no_link() -> None:
    ev = Event()
    assert ev.wait(timeout=0.01) is False
    assert_no_links(ev)
    # Waiters with and without timeouts: only the timed ones leave, the rest are still woken.
    trace = Trace()

    def waiter(timeout: float | None) -> None:
        trace(f"{timeout} {ev.wait(timeout)}")

    spawn_all(waiter, [None, 0.01, None, 0.02])
    run_until_blocked()
    assert ev.linkcount() == 4
    sleep(0.05)
    assert trace == ["0.01 False", "0.02 False"]
    assert ev.linkcount() == 2
    ev.set()
    run_until_blocked()
    assert trace == ["0.01 False", "0.02 False", "None True", "None True"]
    assert_no_links(ev)


def test_event_zero_timeout_checks_without_blocking() -> None:
    ev = Event()
    trace = Trace()
    spawn(trace, "other ran")
    assert ev.wait(0) is False
    assert trace == []  # did not yield to the hub
    ev.set()
    assert ev.wait(0) is True
    sleep(0)
    assert trace == ["other ran"]


def test_event_killed_waiter_leaves_no_link_and_the_others_still_wake() -> None:
    ev = Event()
    trace = Trace()

    def waiter(name: str) -> None:
        trace(f"{name} {ev.wait()}")

    b = spawn_all(waiter, ["a", "b", "c"])[1]
    run_until_blocked()
    b.kill()
    assert b.dead
    assert ev.linkcount() == 2
    ev.set()
    run_until_blocked()
    assert trace == ["a True", "c True"]
    assert_no_links(ev)


def test_event_exception_thrown_in_before_set_is_raised_and_nothing_is_duplicated() -> None:
    ev = Event()
    trace = Trace()

    def waiter(name: str) -> None:
        try:
            trace(f"{name} {ev.wait()}")
        except Boom:
            trace(f"{name} boom")

    tasks = spawn_all(waiter, ["a", "b", "c"])
    run_until_blocked()
    hub = get_hub()
    hub.run_callback(hub.throw_into, tasks[1], Boom())  # arrives before the wake-up batch
    ev.set()
    run_until_blocked()
    assert trace == ["b boom", "a True", "c True"]
    assert all(task.dead for task in tasks)
    assert_no_links(ev)


def test_event_main_greenlet_waiting_forever_gets_loop_exit_naming_the_event() -> None:
    ev = Event()
    with pytest.raises(LoopExit, match="Event clear") as info:
        ev.wait()
    assert info.value.waiting_on is ev
    assert_no_links(ev)
    ev.set()  # still works
    assert ev.wait() is True


@pytest.mark.parametrize(
    ("timeout", "error", "message"),
    [
        ("1", TypeError, "`timeout` must be a non-negative number or None, got str '1'"),
        (True, TypeError, "`timeout` must be a non-negative number or None, got bool True"),
        (-1, ValueError, "`timeout` must be a non-negative number or None, got -1"),
        (math.nan, ValueError, "`timeout` must be a non-negative number or None, got nan"),
    ],
)
def test_event_wait_rejects_bad_timeouts_and_keeps_working(
    timeout: object, error: type[Exception], message: str
) -> None:
    ev = Event()
    with pytest.raises(error) as info:
        ev.wait(timeout)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert_no_links(ev)
    spawn(ev.set)
    assert ev.wait() is True


def test_event_wait_with_infinite_timeout_waits_like_none() -> None:
    ev = Event()
    spawn(ev.set)
    assert ev.wait(math.inf) is True


def test_event_rawlink_runs_once_in_the_hub_and_unlink_removes_it() -> None:
    ev = Event()
    trace = Trace()

    def one(obj: object) -> None:
        assert obj is ev
        trace("one")

    def two(obj: object) -> None:
        trace("two")

    ev.rawlink(one)
    ev.rawlink(two)
    ev.unlink(two)
    assert ev.linkcount() == 1
    ev.set()
    assert trace == []  # deferred to the hub
    sleep(0)
    assert trace == ["one"]
    ev.clear()
    ev.set()
    sleep(0)
    assert trace == ["one"]  # links are one-shot
    ev.rawlink(two)  # already set: called on the next turn
    sleep(0)
    assert trace == ["one", "two"]
    assert_no_links(ev)


def test_event_rawlink_rejects_a_non_callable() -> None:
    ev = Event()
    with pytest.raises(TypeError, match="`callback` must be callable, got int 3"):
        ev.rawlink(3)  # type: ignore[arg-type]
    assert_no_links(ev)


def test_event_set_from_a_hub_callback_wakes_waiters() -> None:
    ev = Event()
    get_hub().run_callback(ev.set)
    assert ev.wait() is True


def test_event_wait_inside_the_hub_is_an_error_unless_set() -> None:
    ev = Event()
    errors: list[BaseException] = []

    def in_hub() -> None:
        try:
            ev.wait()
        except RuntimeError as exc:
            errors.append(exc)

    get_hub().run_callback(in_hub)
    sleep(0)
    assert len(errors) == 1
    assert "cannot block inside the hub" in str(errors[0])
    assert_no_links(ev)
    ev.set()
    results: list[bool] = []
    get_hub().run_callback(lambda: results.append(ev.wait()))
    sleep(0)
    assert results == [True]


def test_event_repr_shows_the_flag_and_the_waiters() -> None:
    ev = Event()
    assert repr(ev) == "<Event clear waiters=0>"
    tasks = spawn_all(lambda _: ev.wait(), range(3))
    run_until_blocked()
    assert repr(ev) == "<Event clear waiters=3>"
    ev.set()
    assert repr(ev) == "<Event set>"
    run_until_blocked()
    assert all(task.dead for task in tasks)


def test_event_has_slots_and_no_instance_dict() -> None:
    ev = Event()
    assert not hasattr(ev, "__dict__")
    with pytest.raises(AttributeError):
        ev.flag = True  # type: ignore[attr-defined]
