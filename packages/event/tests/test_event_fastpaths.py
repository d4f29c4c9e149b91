"""Uncontended operations never call into the hub (issue 19, item 8).

DESIGN rules 4, 5 and 10: setting an event nobody waits on, and waiting on one that is already
set, takes no hub round trip, makes no call into the wait lines, and creates no hub in a thread
that has none.  Each case below runs one such operation in a new OS thread that has no hub,
under a profiler that records every Python function entered whose code lives in the
``greensync.hub`` package, and asserts that nothing was recorded (beyond today's allow-list)
and that no hub was created.  The spy looks only at where the code lives, not at what it is
called, so it holds whatever the hub's internals become.  Each object is tried fresh and after
waiters left it (its wait lines then exist, and must still be bypassed).
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any, TypeVar

import pytest

import greensync.hub
from greensync.event import AsyncResult, Event, ValueEvent
from greensync.hub import HubBase, spawn
from greensync.hub.testing import run_until_blocked

T = TypeVar("T")

#: The calls into ``greensync.hub`` that today's uncontended paths still make, by case: a set
#: or send calls ``Linkable._notify``, which returns at once when nobody listens.  Empty
#: after the wait-line rewrite (issue 12): then no case may enter the hub at all.
HUB_CALLS_ALLOWED_TODAY: dict[str, frozenset[str]] = {
    "Event.set": frozenset({"Linkable._notify"}),
    "AsyncResult.set": frozenset({"Linkable._notify"}),
    "AsyncResult.set_exception": frozenset({"Linkable._notify"}),
    "ValueEvent.send": frozenset({"Linkable._notify"}),
    "ValueEvent.send_exception": frozenset({"Linkable._notify"}),
}

#: How long the operation's thread may take before the test fails (it should take microseconds).
BOUND = 5.0

# -- the spy (the same in the event, lock and queue packages' test_*_fastpaths.py) ----------

_HUB_DIR = os.path.normcase(os.path.dirname(os.path.realpath(greensync.hub.__file__))) + os.sep


class HubSpy:
    """Record the qualified name of every function of ``greensync.hub`` entered in a thread.

    Install :meth:`profile` with :func:`sys.setprofile` in the thread to watch.  ``calls``
    fills as that thread runs, so it can be read even if the thread never finishes;
    :meth:`stop` makes the profiler record nothing more.
    """

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._in_hub: dict[CodeType, bool] = {}
        self._active = True

    def profile(self, frame: FrameType, event: str, arg: object) -> None:
        if event != "call" or not self._active:
            return
        code = frame.f_code
        in_hub = self._in_hub.get(code)
        if in_hub is None:
            path = os.path.normcase(os.path.realpath(code.co_filename))
            in_hub = self._in_hub[code] = path.startswith(_HUB_DIR)
        if in_hub:
            self.calls.append(code.co_qualname)

    def stop(self) -> None:
        self._active = False

    def summary(self, limit: int = 12) -> str:
        """The distinct calls in the order first made, at most ``limit`` of them."""
        distinct = list(dict.fromkeys(self.calls))
        more = f" and {len(distinct) - limit} more" if len(distinct) > limit else ""
        return f"{distinct[:limit]}{more}"


def _live_hubs() -> list[HubBase]:
    return [obj for obj in gc.get_objects() if isinstance(obj, HubBase)]


def hub_calls(operation: Callable[[], T]) -> tuple[list[str], list[HubBase], T]:
    """Run ``operation()`` in a new OS thread (which has no hub) under a :class:`HubSpy`.

    Returns the hub functions it entered, the hubs that exist now and did not before, and
    what it returned.  An operation that raises re-raises here; one that does not return
    within :data:`BOUND` seconds (it parked) fails, naming the hub functions it called.
    """
    spy = HubSpy()
    outcome: list[tuple[bool, object]] = []
    created: list[HubBase] = []

    def body() -> None:
        before = _live_hubs()
        gc.disable()  # no finalizer of an unrelated object may run inside the window
        sys.setprofile(spy.profile)
        try:
            outcome.append((True, operation()))
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller
            outcome.append((False, exc))
        finally:
            sys.setprofile(None)
            gc.enable()
        created.extend(hub for hub in _live_hubs() if not any(hub is old for old in before))

    thread = threading.Thread(target=body, name="greensync-fastpath", daemon=True)
    thread.start()
    thread.join(BOUND)
    if thread.is_alive():
        spy.stop()
        raise AssertionError(f"the operation blocked, after calling into the hub: {spy.summary()}")
    ok, value = outcome[0]
    if not ok:
        assert isinstance(value, BaseException)
        raise value
    return spy.calls, created, value  # type: ignore[return-value]


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
        lambda a, r: r == (True, True),
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
    allowed = HUB_CALLS_ALLOWED_TODAY.get(case.name, frozenset())
    unexpected = list(dict.fromkeys(call for call in calls if call not in allowed))
    assert not unexpected, f"{case} called into greensync.hub: {unexpected}"


def test_the_allow_list_has_no_stale_entry() -> None:
    # The allow-list only shrinks: an entry that no case needs any more must go, so that the
    # call cannot come back unnoticed.
    names = {case.name: case for case in CASES}
    assert set(HUB_CALLS_ALLOWED_TODAY) <= set(names), "an entry names no case"
    stale = {
        name: sorted(allowed - {*_run(names[name], False), *_run(names[name], True)})
        for name, allowed in HUB_CALLS_ALLOWED_TODAY.items()
    }
    stale = {name: calls for name, calls in stale.items() if calls}
    assert not stale, f"remove from HUB_CALLS_ALLOWED_TODAY, no longer called: {stale}"
