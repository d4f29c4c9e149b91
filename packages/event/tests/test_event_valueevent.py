"""ValueEvent: send/wait, send_exception forms, reset rounds, the poll family, early leavers."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any, assert_type

import pytest

from greensync.event import ValueEvent
from greensync.hub import LoopExit, get_hub, sleep, spawn
from greensync.hub.testing import Trace, assert_no_links, run_until_blocked, spawn_all


class Boom(Exception):
    """Sent to waiters by the tests."""


def tb_lines(tb: TracebackType | None) -> list[int]:
    lines = []
    while tb is not None:
        lines.append(tb.tb_lineno)
        tb = tb.tb_next
    return lines


def test_valueevent_send_then_wait_returns_the_value_every_time() -> None:
    ev: ValueEvent[int] = ValueEvent()
    assert not ev.ready()
    ev.send(5)
    assert ev.ready()
    assert [ev.wait(), ev.wait(), ev.wait(timeout=0), ev.wait(timeout=1)] == [5] * 4


def test_valueevent_send_without_a_value_sends_none() -> None:
    ev: ValueEvent[None] = ValueEvent()
    ev.send()
    assert ev.has_result()
    assert ev.wait() is None


def test_valueevent_wakes_waiters_in_fifo_order_after_send_returns() -> None:
    ev: ValueEvent[str] = ValueEvent()
    trace = Trace()

    def waiter(name: str) -> None:
        trace(f"{name} waits")
        trace(f"{name} got {ev.wait()}")

    spawn_all(waiter, ["a", "b", "c"])
    run_until_blocked()
    ev.send("v")
    trace("send returned")
    run_until_blocked()
    assert trace == [
        "a waits",
        "b waits",
        "c waits",
        "send returned",
        "a got v",
        "b got v",
        "c got v",
    ]
    assert_no_links(ev)


def test_valueevent_send_twice_is_an_error_and_keeps_the_first_value() -> None:
    ev: ValueEvent[int] = ValueEvent()
    ev.send(1)
    message = "^this ValueEvent was already sent: call reset\\(\\) before sending again$"
    with pytest.raises(RuntimeError, match=message):
        ev.send(2)
    with pytest.raises(RuntimeError, match=message):
        ev.send_exception(Boom())
    assert ev.wait() == 1
    assert ev.has_result()


def test_valueevent_reset_makes_it_unsent_and_sendable_again() -> None:
    ev: ValueEvent[int] = ValueEvent()
    ev.send(1)
    ev.reset()
    assert not ev.ready()
    assert (ev.has_result(), ev.has_exception()) == (False, False)
    assert ev.poll("not ready") == "not ready"
    trace = Trace()
    spawn(lambda: trace(f"got {ev.wait()}"))
    run_until_blocked()
    assert trace == []  # a reset event blocks again
    ev.send(2)
    run_until_blocked()
    assert trace == ["got 2"]


def test_valueevent_reset_of_an_unsent_event_is_an_error_and_keeps_working() -> None:
    ev: ValueEvent[int] = ValueEvent()
    with pytest.raises(RuntimeError, match=r"^cannot reset a ValueEvent that was not sent$"):
        ev.reset()
    ev.send(1)
    ev.reset()
    with pytest.raises(RuntimeError, match=r"^cannot reset a ValueEvent that was not sent$"):
        ev.reset()
    ev.send(3)
    assert ev.wait() == 3


def test_valueevent_waiter_gets_the_value_it_was_woken_with_despite_reset_and_resend() -> None:
    ev: ValueEvent[int] = ValueEvent()
    trace = Trace()
    spawn_all(lambda name: trace(f"{name} got {ev.wait()}"), ["a", "b"])
    run_until_blocked()
    ev.send(1)
    ev.reset()
    ev.send(2)  # before the woken waiters ran
    spawn(lambda: trace(f"late got {ev.wait()}"))
    run_until_blocked()
    assert trace == ["a got 1", "b got 1", "late got 2"]
    assert_no_links(ev)


def test_valueevent_waiter_woken_by_a_send_still_gets_it_after_a_reset() -> None:
    ev: ValueEvent[int] = ValueEvent()
    results: list[int] = []
    spawn(lambda: results.append(ev.wait()))
    run_until_blocked()
    ev.send(1)
    ev.reset()
    run_until_blocked()
    assert results == [1]
    assert not ev.ready()


def test_valueevent_wait_timeout_raises_timeout_error_never_returns_none() -> None:
    ev: ValueEvent[None] = ValueEvent()
    with pytest.raises(TimeoutError, match=r"^the ValueEvent was not sent within 0.01 seconds$"):
        ev.wait(timeout=0.01)
    assert_no_links(ev)
    with pytest.raises(TimeoutError, match=r"^the ValueEvent was not sent$"):
        ev.wait(timeout=0)
    ev.send(None)  # a real None is told apart from a timeout
    assert ev.wait(timeout=0.01) is None


def test_valueevent_zero_timeout_does_not_yield() -> None:
    ev: ValueEvent[int] = ValueEvent()
    trace = Trace()
    spawn(trace, "other ran")
    with pytest.raises(TimeoutError):
        ev.wait(0)
    assert trace == []
    sleep(0)
    assert trace == ["other ran"]


def test_valueevent_timed_out_waiters_leave_and_the_rest_get_the_value() -> None:
    ev: ValueEvent[int] = ValueEvent()
    trace = Trace()

    def waiter(timeout: float | None) -> None:
        try:
            trace(f"{timeout} got {ev.wait(timeout)}")
        except TimeoutError:
            trace(f"{timeout} timed out")

    spawn_all(waiter, [0.01, None, 0.02])
    sleep(0.05)
    assert trace == ["0.01 timed out", "0.02 timed out"]
    assert ev.linkcount() == 1
    ev.send(4)
    run_until_blocked()
    assert trace == ["0.01 timed out", "0.02 timed out", "None got 4"]
    assert_no_links(ev)


@pytest.mark.parametrize(
    ("timeout", "error"), [("1", TypeError), (None.__class__, TypeError), (-1, ValueError)]
)
def test_valueevent_rejects_bad_timeouts_and_keeps_working(
    timeout: object, error: type[Exception]
) -> None:
    ev: ValueEvent[int] = ValueEvent()
    with pytest.raises(error, match="`timeout` must be a non-negative number or None"):
        ev.wait(timeout)  # type: ignore[arg-type]
    assert_no_links(ev)
    spawn(ev.send, 1)
    assert ev.wait() == 1


def test_valueevent_send_exception_wakes_waiters_with_the_exception() -> None:
    ev: ValueEvent[int] = ValueEvent()
    trace = Trace()

    def waiter(name: str) -> None:
        try:
            trace(f"{name} got {ev.wait()}")
        except Boom as exc:
            trace(f"{name} raised {exc}")

    spawn_all(waiter, ["a", "b"])
    run_until_blocked()
    ev.send_exception(Boom("bad"))
    run_until_blocked()
    assert trace == ["a raised bad", "b raised bad"]
    with pytest.raises(Boom, match="bad"):
        ev.wait()
    assert_no_links(ev)


@pytest.mark.parametrize(
    ("args", "expected_args"),
    [
        ((Boom,), ()),
        ((Boom, None), ()),
        ((Boom, "one"), ("one",)),
        ((Boom, ("one", 2)), ("one", 2)),
        ((KeyError, "k"), ("k",)),
    ],
)
def test_valueevent_send_exception_accepts_a_class_and_a_value(
    args: tuple[Any, ...], expected_args: tuple[Any, ...]
) -> None:
    ev: ValueEvent[int] = ValueEvent()
    ev.send_exception(*args)
    exc = ev.poll_exception()
    assert type(exc) is args[0]
    assert exc is not None
    assert exc.args == expected_args
    with pytest.raises(type(exc)) as info:
        ev.wait()
    assert info.value is exc


def test_valueevent_send_exception_with_a_class_and_its_instance_uses_the_instance() -> None:
    ev: ValueEvent[int] = ValueEvent()
    error = Boom("mine")
    ev.send_exception(Boom, error)
    assert ev.poll_exception() is error


def test_valueevent_send_exception_with_sys_exc_info_keeps_that_traceback() -> None:
    ev: ValueEvent[int] = ValueEvent()
    try:
        raise Boom("original")
    except Boom:
        raised_line = sys._getframe().f_lineno - 2
        ev.send_exception(*sys.exc_info())
    lengths = []
    for _ in range(5):
        with pytest.raises(Boom, match="original") as info:
            ev.wait()
        lines = tb_lines(info.value.__traceback__)
        assert lines[-1] == raised_line
        lengths.append(len(lines))
    assert lengths == [lengths[0]] * 5  # re-raising never grows the traceback


def test_valueevent_send_exception_instance_keeps_its_own_traceback_without_growing() -> None:
    ev: ValueEvent[int] = ValueEvent()
    try:
        raise Boom("caught")
    except Boom as exc:
        raised_line = sys._getframe().f_lineno - 2
        ev.send_exception(exc)
    lengths = []
    for _ in range(5):
        try:
            ev.poll()
        except Boom as exc:
            lines = tb_lines(exc.__traceback__)
            assert lines[-1] == raised_line
            lengths.append(len(lines))
    assert lengths == [lengths[0]] * 5


def test_valueevent_send_exception_with_another_traceback_uses_it() -> None:
    ev: ValueEvent[int] = ValueEvent()
    try:
        raise KeyError("elsewhere")
    except KeyError:
        tb = sys.exc_info()[2]
        raised_line = sys._getframe().f_lineno - 3
    ev.send_exception(Boom, "x", tb)
    with pytest.raises(Boom) as info:
        ev.wait()
    assert tb_lines(info.value.__traceback__)[-1] == raised_line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "takes an exception instance or class, .* got 0 arguments"),
        ((Boom, None, None, None), "got 4 arguments"),
        ((3,), "^send_exception\\(\\) needs an exception instance or class first, got int 3$"),
        (("boom",), "needs an exception instance or class first, got str 'boom'"),
        ((Boom(), "value"), "^an exception instance takes no separate value"),
        ((Boom, None, "tb"), "^`tb` must be a traceback or None, got str 'tb'$"),
    ],
)
def test_valueevent_send_exception_rejects_bad_arguments_and_keeps_working(
    args: tuple[Any, ...], message: str
) -> None:
    ev: ValueEvent[int] = ValueEvent()
    with pytest.raises(TypeError, match=message):
        ev.send_exception(*args)
    assert not ev.ready()
    ev.send(1)
    assert ev.wait() == 1


def test_valueevent_poll_family_in_every_state() -> None:
    ev: ValueEvent[int] = ValueEvent()
    marker = object()
    # unsent
    assert (ev.ready(), ev.has_result(), ev.has_exception()) == (False, False, False)
    assert ev.poll() is None
    assert ev.poll(marker) is marker
    assert ev.poll_result(marker) is marker
    assert ev.poll_exception(marker) is marker
    # sent a value
    ev.send(0)
    assert (ev.ready(), ev.has_result(), ev.has_exception()) == (True, True, False)
    assert ev.poll(marker) == 0
    assert ev.poll_result(marker) == 0
    assert ev.poll_exception(marker) is marker
    assert ev.poll_exception() is None
    # sent an exception
    ev.reset()
    error = Boom("p")
    ev.send_exception(error)
    assert (ev.ready(), ev.has_result(), ev.has_exception()) == (True, False, True)
    with pytest.raises(Boom):
        ev.poll(marker)  # poll behaves like a wait that cannot block
    assert ev.poll_result(marker) is marker
    assert ev.poll_result() is None
    assert ev.poll_exception(marker) is error  # returned, not raised


def test_valueevent_killed_waiter_leaves_no_link_and_the_others_get_the_value() -> None:
    ev: ValueEvent[int] = ValueEvent()
    trace = Trace()
    tasks = spawn_all(lambda name: trace(f"{name} {ev.wait()}"), ["a", "b", "c"])
    run_until_blocked()
    tasks[2].kill()
    assert ev.linkcount() == 2
    ev.send(8)
    run_until_blocked()
    assert trace == ["a 8", "b 8"]
    assert_no_links(ev)


def test_valueevent_exception_thrown_in_just_before_send_wins_for_that_waiter_only() -> None:
    ev: ValueEvent[int] = ValueEvent()
    trace = Trace()

    def waiter(name: str) -> None:
        try:
            trace(f"{name} {ev.wait()}")
        except Boom:
            trace(f"{name} boom")

    tasks = spawn_all(waiter, ["a", "b", "c"])
    run_until_blocked()
    hub = get_hub()
    hub.run_callback(hub.throw_into, tasks[1], Boom())
    ev.send(2)
    run_until_blocked()
    assert trace == ["b boom", "a 2", "c 2"]
    assert_no_links(ev)


def test_valueevent_main_greenlet_waiting_forever_gets_loop_exit() -> None:
    ev: ValueEvent[int] = ValueEvent()
    with pytest.raises(LoopExit, match="ValueEvent unsent") as info:
        ev.wait()
    assert info.value.waiting_on is ev
    assert_no_links(ev)
    ev.send(1)
    assert ev.wait() == 1


def test_valueevent_rawlink_is_called_on_send() -> None:
    ev: ValueEvent[int] = ValueEvent()
    seen: list[object] = []
    ev.rawlink(seen.append)
    ev.send(1)
    sleep(0)
    assert seen == [ev]
    assert_no_links(ev)


def test_valueevent_repr_shows_the_state() -> None:
    ev: ValueEvent[object] = ValueEvent()
    assert repr(ev) == "<ValueEvent unsent waiters=0>"
    task = spawn(ev.wait)
    run_until_blocked()
    assert repr(ev) == "<ValueEvent unsent waiters=1>"
    ev.send([1, 2])
    assert repr(ev) == "<ValueEvent result=[1, 2]>"
    ev.reset()
    ev.send_exception(Boom("r"))
    assert repr(ev) == "<ValueEvent exception=Boom('r')>"
    run_until_blocked()
    assert task.get() == [1, 2]


def test_valueevent_is_generic() -> None:
    ev: ValueEvent[str] = ValueEvent()
    ev.send("s")
    assert_type(ev.wait(), str)
    assert_type(ev.poll(), str | None)
    assert_type(ev.poll(0), str | int)
    assert_type(ev.poll_result(b""), str | bytes)
    assert_type(ev.poll_exception(), BaseException | None)
    assert_type(ev.poll_exception(False), BaseException | bool)
    ValueEvent[int]().send()  # type: ignore[call-arg]  # only ValueEvent[None] may omit


class _HookedLock:
    """A line mutex that runs ``hook`` once, the next time it is taken, before taking it."""

    def __init__(self, real: Any, hook: Callable[[], None]) -> None:
        self.real = real
        self.hook: Callable[[], None] | None = hook

    def _run_hook(self) -> None:
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        self._run_hook()
        return bool(self.real.acquire(blocking, timeout))

    def release(self) -> None:
        self.real.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def test_valueevent_waiter_woken_by_an_earlier_rounds_late_notify_waits_for_its_own_round() -> None:
    """A send publishes its round, then notifies the line.  In between (here forced: the send
    is held just before it takes the line's mutex), the event is reset and a new waiter joins
    the line for the *new* round.  The old send's notify then wakes it: it must find its own
    round unsent and wait on, not return the old round's value or nothing."""
    ev: ValueEvent[int] = ValueEvent()
    trace = Trace()
    first = spawn(lambda: trace(f"first got {ev.wait()}"))
    run_until_blocked()  # the line exists, with one waiter of round 1
    line = ev.waitline
    assert line is not None
    later: list[Any] = []

    def between() -> None:
        # Round 1 is sent (published) but its waiters are not notified yet.
        ev.reset()
        later.append(spawn(lambda: trace(f"second got {ev.wait(timeout=30)}")))
        sleep(0)  # the new waiter runs and parks in the line, on round 2

    line.mutex = _HookedLock(line.mutex, between)  # type: ignore[assignment]
    ev.send(1)  # publishes, runs `between`, then notifies everyone in the line
    run_until_blocked()
    assert trace == ["first got 1"]
    assert not later[0].dead  # woken by round 1's notify, it waits on for round 2
    assert ev.linkcount() == 1
    ev.send(2)
    run_until_blocked()
    assert trace == ["first got 1", "second got 2"]
    assert first.dead
    assert later[0].dead
    assert_no_links(ev)
