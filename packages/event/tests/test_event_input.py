"""Bad input: every public constructor and method, wrong types, bad numbers, misuse.

Each case checks the exception (type and a message naming the parameter) and then that the
object still works: nothing was half-done, no link was left, it can still be set and waited on.
Timeouts are validated whatever the object's state, so a bad value fails the same way whether or
not the event happens to be set already.
"""

from __future__ import annotations

import asyncio
import math
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import pytest

from greensync.event import AsyncResult, Event, ValueEvent
from greensync.hub import get_hub, sleep, spawn
from greensync.hub.testing import assert_no_links, run_in_threads, run_until_blocked
from greensync.hub.testing import existing_hub as _peek_hub

if TYPE_CHECKING:
    from packages.event.tests.conftest import Kind


class Boom(Exception):
    """Stored and raised by the tests."""


TIMEOUT_MESSAGE = "`timeout` must be a non-negative number or None, got "

BAD_TIMEOUTS: list[tuple[object, type[Exception], str]] = [
    ("1", TypeError, "str '1'"),
    (b"1", TypeError, "bytes b'1'"),
    (True, TypeError, "bool True"),
    (False, TypeError, "bool False"),
    ([], TypeError, "list []"),
    (1j, TypeError, "complex 1j"),
    (Decimal("1"), TypeError, "Decimal Decimal('1')"),
    (Fraction(1, 2), TypeError, "Fraction Fraction(1, 2)"),
    (-1, ValueError, "-1"),
    (-0.001, ValueError, "-0.001"),
    (-math.inf, ValueError, "-inf"),
    (math.nan, ValueError, "nan"),
]


class FloatSeconds(float):
    """A float subclass: accepted like a float."""


GOOD_TIMEOUTS: list[object] = [0, 0.0, -0.0, 1e-9, 3, 2.5, FloatSeconds(0.001), math.inf]


# How to make, fire and wait (with a timeout) for every public call that takes a timeout.
TimedCall = tuple[str, Callable[[], Any], Callable[[Any], None], Callable[[Any, Any], object]]


def _get_nonblocking(result: AsyncResult[int], timeout: Any) -> object:
    return result.get(False, timeout)


def _wait_for_value(result: AsyncResult[int], timeout: Any) -> object:
    # AsyncResult.wait returns the value, as gevent's does: None when it timed out.
    value = result.wait(timeout)
    return "timed out" if value is None else value


def _awaited(wait: Callable[[], Any]) -> object:
    """``asyncio.run`` the coroutine ``wait()`` in a fresh thread; return its result or raise."""
    return run_in_threads(lambda _: asyncio.run(wait()), 1, timeout=60, what="asyncio.run")[0]


async def _async_wait_for_value(result: AsyncResult[int], timeout: Any) -> object:
    value = await result.async_wait(timeout)
    return "timed out" if value is None else value


TIMED_CALLS: list[TimedCall] = [
    ("Event.wait", Event, Event.set, lambda ev, t: ev.wait(t)),
    ("Event.wait(timeout=)", Event, Event.set, lambda ev, t: ev.wait(timeout=t)),
    ("AsyncResult.get", AsyncResult, lambda r: r.set(1), lambda r, t: r.get(timeout=t)),
    ("AsyncResult.get(block=False)", AsyncResult, lambda r: r.set(1), _get_nonblocking),
    ("AsyncResult.wait", AsyncResult, lambda r: r.set(1), _wait_for_value),
    ("ValueEvent.wait", ValueEvent, lambda v: v.send(1), lambda v, t: v.wait(t)),
    ("ValueEvent.wait(timeout=)", ValueEvent, lambda v: v.send(1), lambda v, t: v.wait(timeout=t)),
    # The asyncio face validates the same way, set or not (an already-set object returns
    # without yielding to the loop, after the look at the timeout).
    ("Event.async_wait", Event, Event.set, lambda ev, t: _awaited(lambda: ev.async_wait(t))),
    (
        "AsyncResult.async_wait",
        AsyncResult,
        lambda r: r.set(1),
        lambda r, t: _awaited(lambda: _async_wait_for_value(r, t)),
    ),
    (
        "ValueEvent.async_wait",
        ValueEvent,
        lambda v: v.send(1),
        lambda v, t: _awaited(lambda: v.async_wait(t)),
    ),
]


def _call_id(call: TimedCall) -> str:
    return call[0]


def _timeout_id(case: tuple[object, type[Exception], str]) -> str:
    return repr(case[0])


# -- constructors ------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [Event, AsyncResult, ValueEvent], ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    ("args", "kwargs"), [((1,), {}), ((None,), {}), ((), {"value": 1}), ((), {"flag": True})]
)
def test_constructors_take_no_arguments(
    cls: type[Any], args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    with pytest.raises(TypeError):
        cls(*args, **kwargs)
    obj = cls()
    assert obj.ready() is False
    assert obj.linkcount() == 0


# -- timeouts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("ready", [False, True], ids=["unset", "set"])
@pytest.mark.parametrize("case", BAD_TIMEOUTS, ids=_timeout_id)
@pytest.mark.parametrize("call", TIMED_CALLS, ids=_call_id)
def test_bad_timeouts_are_rejected_in_every_state_and_the_object_keeps_working(
    call: TimedCall, case: tuple[object, type[Exception], str], ready: bool
) -> None:
    _, make, fire, wait_with = call
    timeout, error, shown = case
    obj = make()
    if ready:
        fire(obj)
    with pytest.raises(error) as info:
        wait_with(obj, timeout)
    assert str(info.value) == TIMEOUT_MESSAGE + shown
    assert_no_links(obj)
    assert obj.ready() is ready
    if not ready:
        fire(obj)
    assert wait_with(obj, None) in (True, 1)
    assert wait_with(obj, 1) in (True, 1)


@pytest.mark.parametrize("timeout", GOOD_TIMEOUTS, ids=repr)
@pytest.mark.parametrize("call", TIMED_CALLS, ids=_call_id)
def test_every_valid_timeout_is_accepted_in_every_state(call: TimedCall, timeout: object) -> None:
    _, make, fire, wait_with = call
    obj = make()
    if float(timeout) < 0.01:  # type: ignore[arg-type]  # only the short ones, unset
        try:
            outcome = wait_with(obj, timeout)
        except TimeoutError:
            outcome = "timed out"
        assert outcome in (False, "timed out")
    assert_no_links(obj)
    fire(obj)
    assert wait_with(obj, timeout) in (True, 1)


# -- AsyncResult -------------------------------------------------------------------------------


BAD_EXCEPTIONS: list[object] = [3, "boom", None, ("boom",), int, object(), Boom("x").args]


@pytest.mark.parametrize("already", [False, True], ids=["unset", "set"])
@pytest.mark.parametrize("bad", BAD_EXCEPTIONS, ids=lambda bad: type(bad).__name__)
def test_asyncresult_set_exception_rejects_non_exceptions_in_every_state(
    bad: object, already: bool
) -> None:
    result: AsyncResult[int] = AsyncResult()
    if already:
        result.set(5)
    with pytest.raises(TypeError, match=r"^`exc` must be an exception instance or class, got "):
        result.set_exception(bad)  # type: ignore[arg-type]
    assert result.ready() is already
    if not already:
        result.set_exception(Boom("real"))
        with pytest.raises(Boom, match="real"):
            result.get()
    else:
        assert result.get() == 5
    assert_no_links(result)


def _traceback() -> Any:
    try:
        raise Boom("for its traceback")
    except Boom:
        return sys.exc_info()[2]


@pytest.mark.parametrize(
    ("exc_info", "message"),
    [
        ((1, 2), "`exc_info` must be a (type, value, traceback) triple or None, got tuple (1, 2)"),
        ("abc", "`exc_info` must be a (type, value, traceback) triple or None, got str 'abc'"),
        (3, "`exc_info` must be a (type, value, traceback) triple or None, got int 3"),
        (
            [Boom, Boom(), None],
            "`exc_info` must be a (type, value, traceback) triple or None, got list ",
        ),
        ((Boom, Boom(), "tb"), "`exc_info[2]` must be a traceback or None, got str 'tb'"),
    ],
    ids=["pair", "str", "int", "list", "bad-traceback"],
)
def test_asyncresult_set_exception_rejects_bad_exc_info_and_keeps_working(
    exc_info: object, message: str
) -> None:
    result: AsyncResult[int] = AsyncResult()
    with pytest.raises(TypeError) as info:
        result.set_exception(Boom(), exc_info)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)
    assert not result.ready()
    tb = _traceback()
    result.set_exception(Boom("real"), (Boom, Boom("real"), tb))
    info_now = result.exc_info
    assert len(info_now) == 3
    assert info_now[2] is tb
    assert_no_links(result)


@pytest.mark.parametrize("source", [3, None, "task", object()], ids=lambda s: type(s).__name__)
def test_asyncresult_called_with_something_that_is_not_a_source_is_a_type_error(
    source: object,
) -> None:
    result: AsyncResult[int] = AsyncResult()
    with pytest.raises(TypeError, match=r"^`source` must be a finished task or result"):
        result(source)  # type: ignore[arg-type]
    assert not result.ready()
    done: AsyncResult[int] = AsyncResult()
    done.set(4)
    result(done)
    assert result.get() == 4


def test_asyncresult_called_with_an_unfinished_source_is_an_error_and_keeps_working() -> None:
    result: AsyncResult[int] = AsyncResult()
    unfinished: AsyncResult[int] = AsyncResult()
    with pytest.raises(RuntimeError, match="has not finished"):
        result(unfinished)
    assert not result.ready()
    task = spawn(lambda: 9)
    task.rawlink(result)
    assert result.get(timeout=10) == 9


def test_asyncresult_second_set_in_any_form_is_an_error_and_keeps_the_first() -> None:
    result: AsyncResult[int] = AsyncResult()
    result.set(1)
    done: AsyncResult[int] = AsyncResult()
    done.set(2)
    again: Callable[[], None]
    for again in (
        lambda: result.set(3),
        lambda: result.set_exception(Boom()),
        lambda: result(done),
    ):
        with pytest.raises(RuntimeError, match="already holds a value: it is one-shot"):
            again()
    assert result.get() == 1
    assert result.successful()


# -- ValueEvent --------------------------------------------------------------------------------


@pytest.mark.parametrize("already", [False, True], ids=["unsent", "sent"])
@pytest.mark.parametrize(
    "args",
    [(), (1,), ("boom",), (None,), (Boom(), "value"), (Boom, None, "tb"), (Boom, 1, None, None)],
    ids=repr,
)
def test_valueevent_send_exception_rejects_bad_arguments_in_every_state(
    args: tuple[object, ...], already: bool
) -> None:
    ev: ValueEvent[int] = ValueEvent()
    if already:
        ev.send(7)
    with pytest.raises(TypeError):
        ev.send_exception(*args)
    assert ev.ready() is already
    if already:
        assert ev.wait() == 7
        ev.reset()
    ev.send_exception(Boom, "real")
    with pytest.raises(Boom, match="real"):
        ev.wait()
    assert_no_links(ev)


def test_valueevent_misuse_of_send_and_reset_is_an_error_and_keeps_the_state() -> None:
    ev: ValueEvent[int] = ValueEvent()
    with pytest.raises(RuntimeError, match="cannot reset a ValueEvent that was not sent"):
        ev.reset()
    ev.send(1)
    with pytest.raises(RuntimeError, match="already sent: call reset"):
        ev.send(2)
    with pytest.raises(RuntimeError, match="already sent: call reset"):
        ev.send_exception(Boom())
    assert ev.wait() == 1
    ev.reset()
    with pytest.raises(RuntimeError, match="cannot reset"):
        ev.reset()
    ev.send(3)
    assert ev.wait() == 3


# -- rawlink / unlink --------------------------------------------------------------------------


@pytest.mark.parametrize("ready", [False, True], ids=["unset", "set"])
@pytest.mark.parametrize("bad", [3, None, "callback", (print,)], ids=repr)
def test_rawlink_rejects_non_callables_and_unlink_ignores_what_was_never_linked(
    kind: Kind, bad: object, ready: bool
) -> None:
    obj = kind.make()
    if ready:
        kind.fire(obj, "v")
    with pytest.raises(TypeError, match=r"^`callback` must be callable, got "):
        obj.rawlink(bad)
    obj.unlink(bad)
    obj.unlink(print)
    assert_no_links(obj)
    calls: list[object] = []
    obj.rawlink(calls.append)
    if not ready:
        kind.fire(obj, "v")
    run_until_blocked()
    assert calls == [obj]


def test_a_failing_rawlink_callback_is_reported_and_harms_nobody_else(
    kind: Kind, monkeypatch: pytest.MonkeyPatch
) -> None:
    obj = kind.make()
    hub = get_hub()
    reported: list[tuple[object, BaseException]] = []
    monkeypatch.setattr(hub, "handle_error", lambda ctx, exc: reported.append((ctx, exc)))
    calls: list[str] = []

    def broken(arg: object) -> None:
        calls.append("broken")
        raise Boom("in a callback")

    def blocking(arg: object) -> None:
        calls.append("blocking")
        kind.wait(kind.make(), None)  # blocking inside the hub: a RuntimeError

    obj.rawlink(broken)
    obj.rawlink(blocking)
    obj.rawlink(lambda arg: calls.append("fine"))
    waiter = spawn(kind.wait, obj, None)
    run_until_blocked()
    kind.fire(obj, "v")
    run_until_blocked()
    assert calls == ["broken", "blocking", "fine"]
    assert [type(exc) for _, exc in reported] == [Boom, RuntimeError]
    assert "cannot block inside the hub" in str(reported[1][1])
    assert waiter.get() == kind.expect("v")
    assert_no_links(obj)
    assert kind.wait(obj, 0) == kind.expect("v")


# -- the wrong greenlet, the wrong thread ------------------------------------------------------


def test_waiting_inside_the_hub_is_an_error_naming_the_object_unless_it_is_ready(
    kind: Kind,
) -> None:
    obj = kind.make()
    seen: list[object] = []

    def in_hub() -> None:
        try:
            seen.append(kind.wait(obj, 5))
        except RuntimeError as exc:
            seen.append(str(exc))

    get_hub().run_callback(in_hub)
    run_until_blocked()
    assert len(seen) == 1
    assert str(seen[0]).startswith("cannot block inside the hub")
    assert repr(obj).split(" ")[0] in str(seen[0])
    assert_no_links(obj)
    kind.fire(obj, "v")
    get_hub().run_callback(in_hub)  # ready: returns at once, even inside the hub
    run_until_blocked()
    assert seen[1:] == [kind.expect("v")]


def test_waiting_with_a_zero_timeout_inside_the_hub_only_looks(kind: Kind) -> None:
    obj = kind.make()
    seen: list[object] = []
    get_hub().run_callback(lambda: seen.append(kind.outcome(obj, 0)))
    run_until_blocked()
    assert seen == ["timed out"]
    assert_no_links(obj)


def test_every_method_works_from_a_thread_that_never_runs_a_hub(
    kind: Kind, in_plain_thread: Callable[[Callable[[], Any]], Any]
) -> None:
    """No method is tied to a thread: a thread without a hub may set, re-arm, poll, repr
    and (when ready) wait, and waiters parked here still wake in order."""
    obj = kind.make()
    woke: list[object] = []
    spawn(lambda: woke.append(kind.wait(obj, None)))
    spawn(lambda: woke.append(kind.wait(obj, None)))
    run_until_blocked()

    def elsewhere() -> object:
        repr(obj)
        assert obj.linkcount() == 2
        assert kind.outcome(obj, 0) == "timed out"
        kind.fire(obj, "there")
        assert kind.wait(obj, None) == kind.expect("there")
        repr(obj)
        return _peek_hub()

    assert in_plain_thread(elsewhere) is None
    run_until_blocked()
    deadline = time.monotonic() + 30
    while len(woke) < 2 and time.monotonic() < deadline:
        sleep(0.001)
    assert woke == [kind.expect("there")] * 2
    assert_no_links(obj)


def test_a_plain_thread_may_block_on_an_object_another_thread_fires(kind: Kind) -> None:
    """Blocking in a thread gives that thread a hub of its own; the fire from here wakes it."""
    obj = kind.make()
    got: list[object] = []

    def blocker() -> None:
        try:
            got.append(kind.outcome(obj, 30))
        finally:
            hub = _peek_hub()
            if hub is not None:
                hub.destroy()

    thread = threading.Thread(target=blocker)
    thread.start()
    deadline = time.monotonic() + 30
    while obj.linkcount() == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    kind.fire(obj, "here")
    thread.join(30)
    assert got == [kind.expect("here")]
    assert_no_links(obj)
