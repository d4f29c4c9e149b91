"""Uncontended operations never call into the hub (issue 19, item 8).

DESIGN rules 4, 5 and 10: setting an event nobody waits on, and waiting on one that is already
set, takes no hub round trip, makes no call into the wait lines, and creates no hub in a thread
that has none.  Each case below runs one such operation in a new OS thread that has no hub,
under a profiler that records every Python function entered whose code lives in the
``greensync.hub`` package, and asserts that nothing was recorded
and that no hub was created.  The spy looks only at where the code lives, not at what it is
called, so it holds whatever the hub's internals become.  Each object is tried fresh and after
waiters left it (its wait lines then exist, and must still be bypassed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from greensync.event import AsyncResult, Event, ValueEvent
from greensync.hub import spawn
from greensync.hub.testing import hub_calls, run_until_blocked

T = TypeVar("T")

#: How long the operation's thread may take before the test fails (it should take microseconds).
BOUND = 5.0

# -- the cases ------------------------------------------------------------------------------


class Boom(Exception):
    """The exception the cases store."""


@dataclass(frozen=True)
class Case:
    """One operation that does not wait: ``run(obj)`` on ``make()`` after ``prepare(obj)``."""

    name: str
    make: Callable[[], Any]
    prepare: Callable[[Any], object]
    run: Callable[[Any], object]
    check: Callable[[Any, object], bool]

    def __str__(self) -> str:
        return self.name


def _nothing(obj: Any) -> None:
    return None


def _set(obj: Event) -> None:
    obj.set()


def _set_value(obj: AsyncResult[str]) -> None:
    obj.set("value")


def _set_boom(obj: AsyncResult[str]) -> None:
    obj.set_exception(Boom("stored"))


def _send_value(obj: ValueEvent[str]) -> None:
    obj.send("value")


def _send_boom(obj: ValueEvent[str]) -> None:
    obj.send_exception(Boom("stored"))


def _raises_boom(call: Callable[[], object]) -> object:
    try:
        call()
    except Boom as exc:
        return exc
    return None


CASES = [
    Case("Event.set", Event, _nothing, lambda e: e.set(), lambda e, r: e.is_set()),
    Case("Event.set when set", Event, _set, lambda e: e.set(), lambda e, r: e.is_set()),
    Case("Event.wait when set", Event, _set, lambda e: e.wait(), lambda e, r: r is True),
    Case("Event.wait(1.0) when set", Event, _set, lambda e: e.wait(1.0), lambda e, r: r is True),
    Case(
        "Event.is_set, isSet, ready",
        Event,
        _set,
        lambda e: (e.is_set(), e.isSet(), e.ready()),
        lambda e, r: r == (True, True, True),
    ),
    Case("Event.clear", Event, _set, lambda e: e.clear(), lambda e, r: not e.is_set()),
    Case("AsyncResult.set", AsyncResult, _nothing, _set_value, lambda a, r: a.value == "value"),
    Case(
        "AsyncResult.set_exception",
        AsyncResult,
        _nothing,
        _set_boom,
        lambda a, r: isinstance(a.exception, Boom),
    ),
    Case(
        "AsyncResult.get when ready",
        AsyncResult,
        _set_value,
        lambda a: (a.get(), a.get(block=False), a.get(timeout=1.0), a.get_nowait()),
        lambda a, r: r == ("value",) * 4,
    ),
    Case(
        "AsyncResult.get raising the stored exception",
        AsyncResult,
        _set_boom,
        lambda a: _raises_boom(a.get),
        lambda a, r: isinstance(r, Boom),
    ),
    Case(
        "AsyncResult.wait when ready",
        AsyncResult,
        _set_value,
        lambda a: (a.wait(), a.wait(1.0)),
        lambda a, r: r == ("value", "value"),
    ),
    Case(
        "AsyncResult.ready, successful, value, exception",
        AsyncResult,
        _set_value,
        lambda a: (a.ready(), a.successful(), a.value, a.exception),
        lambda a, r: r == (True, True, "value", None),
    ),
    Case("ValueEvent.send", ValueEvent, _nothing, _send_value, lambda v, r: v.ready()),
    Case(
        "ValueEvent.send_exception",
        ValueEvent,
        _nothing,
        _send_boom,
        lambda v, r: v.has_exception(),
    ),
    Case(
        "ValueEvent.wait when sent",
        ValueEvent,
        _send_value,
        lambda v: (v.wait(), v.wait(1.0)),
        lambda v, r: r == ("value", "value"),
    ),
    Case(
        "ValueEvent.wait raising the sent exception",
        ValueEvent,
        _send_boom,
        lambda v: _raises_boom(v.wait),
        lambda v, r: isinstance(r, Boom),
    ),
    Case(
        "ValueEvent.poll, poll_result, poll_exception, has_result",
        ValueEvent,
        _send_value,
        lambda v: (v.poll(), v.poll_result(), v.poll_exception(), v.has_result()),
        lambda v, r: r == ("value", "value", None, True),
    ),
    Case(
        "ValueEvent.reset", ValueEvent, _send_value, lambda v: v.reset(), lambda v, r: not v.ready()
    ),
]


def _wait_briefly(obj: Any) -> str:
    try:
        obj.wait(0.001)
    except TimeoutError:
        pass
    return "timed out"


def _waiters_left(obj: Any) -> None:
    """Make greenlets of this thread wait on ``obj`` and leave (killed, timed out), and link
    and unlink a callback: the wait lines then exist, holding only records of leavers."""
    killed = spawn(obj.wait)
    timed = spawn(_wait_briefly, obj)
    run_until_blocked()
    killed.kill()
    timed.join(timeout=BOUND)
    assert timed.value == "timed out"
    obj.rawlink(_nothing)
    obj.unlink(_nothing)
    assert obj.linkcount() == 0
    assert not obj.ready()


def _run(case: Case, contended: bool) -> list[str]:
    """Run ``case`` in a thread without a hub; check its outcome; return its hub calls."""
    obj = case.make()
    if contended:
        _waiters_left(obj)
    case.prepare(obj)
    calls, created, result = hub_calls(lambda: case.run(obj))
    assert not created, f"{case} made a hub in a thread that had none: {created}"
    assert case.check(obj, result), f"{case} returned {result!r}, leaving {obj!r}"
    return calls


@pytest.mark.parametrize("contended", [False, True], ids=["fresh", "after waiters left"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_operation_that_does_not_wait_makes_no_call_into_the_hub(
    case: Case, contended: bool
) -> None:
    calls = _run(case, contended)
    assert not calls, f"{case} called into greensync.hub: {list(dict.fromkeys(calls))}"
