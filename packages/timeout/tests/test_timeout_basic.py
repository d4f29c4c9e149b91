"""Timeout on its own: what it raises, when, and what it leaves behind."""

from __future__ import annotations

import copy
import gc
import math
import pickle
import re
import threading
import weakref
from typing import Any

import greenlet
import pytest

import greensync.timeout
from greensync.hub import LoopExit, Waiter, get_hub, sleep, spawn
from greensync.hub.testing import Trace
from greensync.hub.testing import existing_hub as _peek_hub
from greensync.timeout import Timeout


class Boom(Exception):
    pass


def live_timers() -> int:
    """How many timers the built-in hub has armed and not cancelled (read from its repr).

    Adapter hubs do not show their timers: there this returns -1, and comparisons of counts
    hold trivially (the tests that need the exact count are marked ``builtin_hub``).
    """
    match = re.search(r"timers=(\d+)", repr(get_hub()))
    return -1 if match is None else int(match.group(1))


def switches_during(fn: Any) -> list[str]:
    """Run ``fn()`` and return the greenlet events ('switch'/'throw') that happened meanwhile."""
    events: list[str] = []

    def tracer(event: str, args: Any) -> None:
        events.append(event)

    previous = greenlet.settrace(tracer)
    try:
        fn()
    finally:
        greenlet.settrace(previous)
    return events


# -- what fires, and how ---------------------------------------------------------------------


def test_timeout_is_a_base_exception_that_except_exception_does_not_swallow() -> None:
    trace = Trace()
    assert issubclass(Timeout, BaseException)
    assert not issubclass(Timeout, Exception)
    timeout = Timeout(0.01)

    def body() -> None:
        with timeout:
            try:
                sleep(1)
            except Exception:  # noqa: BLE001 - what is being tested
                trace("swallowed")
            trace("after sleep")

    with pytest.raises(Timeout) as info:
        body()
    assert info.value is timeout
    assert trace == []
    assert not timeout.pending


def test_with_timeout_raises_the_timeout_itself_in_the_block() -> None:
    trace = Trace()
    timeout = Timeout(0.01)
    try:
        with timeout as entered:
            assert entered is timeout
            trace("block")
            sleep(1)
            trace("not reached")
    except Timeout as exc:
        trace("caught itself" if exc is timeout else "caught another")
    assert trace == ["block", "caught itself"]


def test_silent_timeout_leaves_the_block_and_runs_the_code_after_it() -> None:
    trace = Trace()
    with Timeout(0.01, False) as timeout:
        trace("block")
        sleep(1)
        trace("not reached")
    trace("after")
    assert trace == ["block", "after"]
    assert not timeout.pending


def test_exception_class_is_instantiated_and_raised_instead() -> None:
    with pytest.raises(Boom) as info, Timeout(0.01, Boom):
        sleep(1)
    assert type(info.value) is Boom


def test_exception_instance_is_raised_as_is() -> None:
    boom = Boom("too slow")
    with pytest.raises(Boom) as info, Timeout(0.01, boom):
        sleep(1)
    assert info.value is boom


def test_exception_class_that_cannot_be_instantiated_raises_why_in_the_block() -> None:
    # UnicodeDecodeError() needs five arguments: the greenlet gets the TypeError, not a hang.
    with pytest.raises(TypeError), Timeout(0.01, UnicodeDecodeError):
        sleep(1)


def test_timeout_of_none_never_fires_and_arms_nothing() -> None:
    before = live_timers()
    with Timeout() as timeout, Timeout(None), Timeout(math.inf):
        assert live_timers() == before
        assert not timeout.pending
        sleep(0.03)
    assert timeout.seconds is None


def test_timeout_of_zero_fires_at_the_next_blocking_point_even_sleep_zero() -> None:
    trace = Trace()
    try:
        with Timeout(0):
            trace("runs before blocking")
            sleep(0)
            trace("not reached")
    except Timeout:
        trace("timed out")
    assert trace == ["runs before blocking", "timed out"]


def test_timeout_of_zero_does_not_fire_if_the_block_never_blocks() -> None:
    trace = Trace()
    with Timeout(0) as timeout:
        trace("block")
    sleep(0)
    sleep(0.01)
    trace("after")
    assert trace == ["block", "after"]
    assert not timeout.pending


@pytest.mark.builtin_hub
def test_firing_in_a_parked_greenlet_switches_instead_of_throwing() -> None:
    def body() -> None:
        with Timeout(0.01, False):
            sleep(1)

    events = switches_during(body)
    assert "throw" not in events
    assert events.count("switch") >= 2  # into the hub, and back with the marker


@pytest.mark.builtin_hub
def test_firing_in_a_greenlet_suspended_outside_the_hub_uses_throw() -> None:
    # A greenlet that switched to the hub directly (not through Hub.switch) can only be
    # reached with greenlet.throw; the timeout must still arrive.
    trace = Trace()
    hub = get_hub()
    assert isinstance(hub, greenlet.greenlet)

    def body() -> None:
        try:
            with Timeout(0.01):
                greenlet.greenlet.switch(hub)
        except Timeout:
            trace("timed out")

    task = spawn(body)
    events = switches_during(task.join)
    assert trace == ["timed out"]
    assert "throw" in events


@pytest.mark.builtin_hub
def test_entering_and_leaving_without_firing_arms_one_timer_and_never_switches() -> None:
    get_hub()
    before = live_timers()
    armed: list[int] = []

    def body() -> None:
        with Timeout(10) as timeout:
            armed.append(live_timers())
            assert timeout.pending

    assert switches_during(body) == []
    assert armed == [before + 1]
    assert live_timers() == before


# -- starting, cancelling, closing -----------------------------------------------------------


def test_start_new_returns_a_started_timeout() -> None:
    timeout = Timeout.start_new(0.01, Boom)
    try:
        assert timeout.pending
        assert timeout.seconds == 0.01
        assert timeout.exception is Boom
        with pytest.raises(Boom):
            sleep(1)
        assert not timeout.pending
    finally:
        timeout.close()


def test_start_new_accepts_an_existing_timeout_and_starts_it_once() -> None:
    timeout = Timeout(10)
    assert Timeout.start_new(timeout) is timeout
    assert timeout.pending
    before = live_timers()
    assert Timeout.start_new(timeout) is timeout  # already pending: left alone
    assert live_timers() == before
    timeout.cancel()
    assert not timeout.pending


def test_cancelled_timeout_never_fires() -> None:
    trace = Trace()
    timeout = Timeout(0.01).start()
    timeout.cancel()
    timeout.cancel()  # twice is harmless
    sleep(0.03)
    trace("survived")
    assert trace == ["survived"]
    assert not timeout.pending


def test_closed_timeout_never_fires_and_can_be_started_again() -> None:
    timeout = Timeout.start_new(0.01)
    timeout.close()
    sleep(0.03)
    assert not timeout.pending
    timeout.start()
    with pytest.raises(Timeout) as info:
        sleep(1)
    assert info.value is timeout
    timeout.close()


def test_exited_timeout_never_fires_later() -> None:
    trace = Trace()
    with Timeout(0.01) as timeout:
        trace("quick")
    sleep(0.03)
    trace("still here")
    assert trace == ["quick", "still here"]
    assert not timeout.pending


def test_a_timeout_object_can_be_used_in_several_with_blocks() -> None:
    timeout = Timeout(0.01, False)
    outcomes = []
    for _ in range(3):
        finished = False
        with timeout:
            sleep(1)
            finished = True
        outcomes.append(finished)
    with timeout:
        outcomes.append(True)
    assert outcomes == [False, False, False, True]
    assert not timeout.pending


def test_cancel_from_another_greenlet_stops_it() -> None:
    trace = Trace()
    timeout = Timeout.start_new(0.02)

    def canceller() -> None:
        timeout.cancel()
        trace("cancelled")

    spawn(canceller)
    sleep(0.05)
    trace("main survived")
    assert trace == ["cancelled", "main survived"]


def test_start_twice_is_an_error_and_leaves_one_timer() -> None:
    timeout = Timeout(0.01)
    timeout.start()
    before = live_timers()
    with pytest.raises(RuntimeError, match="already pending"):
        timeout.start()
    assert live_timers() == before
    with pytest.raises(Timeout) as info:
        sleep(1)
    assert info.value is timeout
    sleep(0.02)  # it fired once; nothing else is armed
    timeout.close()


def test_entering_a_timeout_pending_in_this_greenlet_keeps_it() -> None:
    timeout = Timeout.start_new(10)
    before = live_timers()
    with timeout as entered:
        assert entered is timeout
        assert live_timers() == before
    assert not timeout.pending


def test_entering_a_timeout_pending_in_another_greenlet_is_an_error() -> None:
    timeout = Timeout.start_new(10)
    errors: list[BaseException] = []

    def other() -> None:
        try:
            with timeout:
                pass
        except RuntimeError as exc:
            errors.append(exc)

    spawn(other).join()
    assert len(errors) == 1
    assert "another greenlet" in str(errors[0])
    assert timeout.pending
    timeout.cancel()


@pytest.mark.builtin_hub
def test_starting_inside_the_hub_is_an_error_and_arms_nothing() -> None:
    hub = get_hub()
    errors: list[BaseException] = []
    armed: list[int] = []

    def callback() -> None:
        before = live_timers()
        try:
            Timeout(0.01).start()
        except RuntimeError as exc:
            errors.append(exc)
        armed.append(live_timers() - before)
        with Timeout(None):  # a timeout that never fires is fine anywhere
            armed.append(0)

    hub.run_callback(callback)
    sleep(0)
    assert [str(exc) for exc in errors] == [
        "cannot start a Timeout inside the hub: a hub callback must not block"
    ]
    assert armed == [0, 0]


def test_a_timeout_left_running_in_a_finished_greenlet_is_harmless() -> None:
    timeouts: list[Timeout] = []

    def forgetful() -> None:
        timeouts.append(Timeout.start_new(0.01))

    spawn(forgetful).join()
    sleep(0.03)
    assert not timeouts[0].pending


def test_restarting_after_it_fired_fires_again() -> None:
    timeout = Timeout(0.01)
    caught = 0
    for _ in range(2):
        timeout.start()
        with pytest.raises(Timeout):
            sleep(1)
        caught += 1
        timeout.cancel()
    assert caught == 2


# -- ref --------------------------------------------------------------------------------------


def test_unrefd_timeout_does_not_keep_the_loop_alive() -> None:
    timeout = Timeout(5, ref=False)
    assert not timeout.ref
    with pytest.raises(LoopExit), timeout:
        Waiter[None]().get()
    assert not timeout.pending


@pytest.mark.builtin_hub  # the eventlet and asyncio adapters cannot re-ref a timer
def test_changing_ref_affects_a_pending_timeout() -> None:
    def block(timeout: Timeout, ref: bool) -> None:
        with timeout:
            timeout.ref = ref
            Waiter[None]().get()

    timeout = Timeout(5)
    with pytest.raises(LoopExit):
        block(timeout, False)
    assert not timeout.pending
    with pytest.raises(Timeout):
        block(Timeout(0.01, ref=False), True)


def test_ref_of_a_zero_timeout_can_be_changed_while_pending() -> None:
    timeout = Timeout.start_new(0)
    timeout.ref = False  # a ready callback, not a timer: nothing to change, no error
    with pytest.raises(Timeout):
        sleep(0)
    assert timeout.ref is False
    timeout.close()


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "error", "message"),
    [
        (-1, ValueError, "`seconds` must be a non-negative number or None, got -1"),
        (-0.5, ValueError, "`seconds` must be a non-negative number or None, got -0.5"),
        (math.nan, ValueError, "`seconds` must be a non-negative number or None, got nan"),
        ("5", TypeError, "`seconds` must be a non-negative number or None, got str '5'"),
        (True, TypeError, "`seconds` must be a non-negative number or None, got bool True"),
        ([1], TypeError, "`seconds` must be a non-negative number or None, got list [1]"),
    ],
)
def test_bad_seconds_are_rejected_before_anything_is_armed(
    seconds: Any, error: type[Exception], message: str
) -> None:
    before = live_timers()
    with pytest.raises(error) as info:
        Timeout(seconds)
    assert str(info.value) == message
    with pytest.raises(error):
        Timeout.start_new(seconds)
    assert live_timers() == before
    with Timeout(0.01, False):  # the class still works
        sleep(1)


@pytest.mark.parametrize("exception", [True, 5, "boom", object(), Boom("x").args])
def test_bad_exception_is_a_type_error(exception: Any) -> None:
    before = live_timers()
    with pytest.raises(TypeError, match=r"^`exception` must be None, False, or an exception"):
        Timeout(1, exception)
    with pytest.raises(TypeError):
        Timeout.start_new(1, exception)
    assert live_timers() == before


def test_nothing_is_armed_after_errors_and_the_next_timeout_works() -> None:
    before = live_timers()
    bad: Any
    for bad in (-1, "x", math.nan):
        with pytest.raises((TypeError, ValueError)), Timeout(bad):
            pass
    assert live_timers() == before
    with pytest.raises(Timeout), Timeout(0.01):
        sleep(1)
    assert live_timers() == before


# -- presentation -----------------------------------------------------------------------------


def test_str_forms() -> None:
    assert str(Timeout(5)) == "5 seconds"
    assert str(Timeout(1)) == "1 second"
    assert str(Timeout(0.5)) == "0.5 seconds"
    assert str(Timeout(5, False)) == "5 seconds (silent)"
    assert str(Timeout(5, Boom)) == "5 seconds (Boom)"
    assert str(Timeout(5, Boom("too slow"))) == "5 seconds (Boom: too slow)"
    assert str(Timeout(5, Boom())) == "5 seconds (Boom)"
    assert str(Timeout()) == ""


def test_repr_shows_seconds_exception_and_state() -> None:
    assert repr(Timeout(5)) == "<Timeout seconds=5>"
    assert repr(Timeout(5, False)) == "<Timeout seconds=5 exception=False>"
    assert repr(Timeout(5, Boom("x"))) == "<Timeout seconds=5 exception=Boom('x')>"
    assert repr(Timeout(None, Boom, ref=False)) == "<Timeout seconds=None exception=Boom unref>"
    with Timeout(5) as timeout:
        assert repr(timeout) == "<Timeout seconds=5 pending>"
    timeout = Timeout.start_new(0.01)
    try:
        sleep(1)
    except Timeout:
        assert repr(timeout) == "<Timeout seconds=0.01 expired>"
    timeout.cancel()
    assert repr(timeout) == "<Timeout seconds=0.01>"


def test_attributes() -> None:
    timeout = Timeout(2.5, False, ref=False)
    assert timeout.seconds == 2.5
    assert timeout.exception is False
    assert timeout.ref is False
    assert timeout.pending is False
    assert Timeout.is_timeout is True
    assert timeout.is_timeout is True


def test_copies_and_pickles_are_fresh_idle_timeouts() -> None:
    with Timeout(5, Boom("x"), ref=False) as timeout:
        for clone in (copy.copy(timeout), pickle.loads(pickle.dumps(timeout))):
            assert clone is not timeout
            assert clone.seconds == 5
            assert isinstance(clone.exception, Boom)
            assert clone.ref is False
            assert not clone.pending


# -- no hub for calls that do not block -------------------------------------------------------


def test_calls_that_arm_nothing_do_not_create_a_hub() -> None:
    seen: list[object] = []

    def body() -> None:
        timeout = Timeout(5, Boom)
        str(timeout)
        repr(timeout)
        timeout.cancel()
        timeout.close()
        with Timeout(None, False):
            pass
        Timeout.start_new(None).cancel()
        seen.append(_peek_hub())

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [None]


# -- weak references ---------------------------------------------------------------------------

PUBLIC_CLASSES: list[type[Any]] = [
    obj
    for name in greensync.timeout.__all__
    if isinstance(obj := getattr(greensync.timeout, name), type)
]


def test_the_public_classes_are_found() -> None:
    assert [Timeout] == PUBLIC_CLASSES


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda cls: cls.__name__)
def test_every_public_class_can_be_weakly_referenced_and_is_freed_once_done(
    cls: type[Any],
) -> None:
    """Idle, and after it was started and cancelled, and after it fired: a weak reference
    works and does not keep it alive (a cancelled timer lets go of it at once)."""
    for how in ("idle", "cancelled", "fired"):
        obj = cls(10) if how != "fired" else cls(0, False)
        ref = weakref.ref(obj)
        if how == "cancelled":
            with obj:
                pass
        elif how == "fired":
            with obj:
                sleep(0)
            sleep(0)  # the hub's loop holds the callback it ran last until its next turn
        assert ref() is obj
        del obj
        gc.collect()
        assert ref() is None, how
