"""Uncontended operations never call into the hub (issue 19, item 8).

DESIGN rules 4, 5 and 10: an acquire or release that does not wait takes no hub round trip,
makes no call into the wait lines, and creates no hub in a thread that has none.  Each case
below runs one such operation in a new OS thread that has no hub, under a profiler that records
every Python function entered whose code lives in the ``greensync.hub`` package, and asserts
that nothing was recorded (beyond today's allow-list) and that no hub was created.  The spy
looks only at where the code lives, not at what it is called, so it holds whatever the hub's
internals become.  Each primitive is tried fresh and after it was contended once (its wait
lines then exist, and must still be bypassed).
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
from greensync.hub import HubBase, spawn
from greensync.hub.testing import run_until_blocked
from greensync.lock import (
    BoundedSemaphore,
    CappedSemaphore,
    Condition,
    DummySemaphore,
    Lock,
    RLock,
    Semaphore,
)

T = TypeVar("T")

#: The calls into ``greensync.hub`` that today's uncontended paths still make, by case: the
#: release paths ask ``Linkable.linkcount()`` (a read-only count) whether anyone waits, and
#: ``CappedSemaphore`` calls ``_handoff``/``_notify`` on lines that are empty.  Empty after
#: the wait-line rewrite (issue 12): then no case may enter the hub at all.
HUB_CALLS_ALLOWED_TODAY: dict[str, frozenset[str]] = {
    "Semaphore.release": frozenset({"Linkable.linkcount"}),
    "Semaphore.release(2)": frozenset({"Linkable.linkcount"}),
    "Semaphore with": frozenset({"Linkable.linkcount"}),
    "BoundedSemaphore.release": frozenset({"Linkable.linkcount"}),
    "BoundedSemaphore with": frozenset({"Linkable.linkcount"}),
    "Lock.release": frozenset({"Linkable.linkcount"}),
    "Lock with": frozenset({"Linkable.linkcount"}),
    "RLock.release": frozenset({"Linkable.linkcount"}),
    "RLock with": frozenset({"Linkable.linkcount"}),
    "Condition(RLock) with": frozenset({"Linkable.linkcount"}),
    "Condition(Lock) with": frozenset({"Linkable.linkcount"}),
    "CappedSemaphore.acquire": frozenset({"Linkable._handoff"}),
    "CappedSemaphore.acquire(blocking=False) at the lower bound": frozenset({"Linkable._handoff"}),
    "CappedSemaphore.release": frozenset({"Linkable._handoff", "Linkable._notify"}),
    "CappedSemaphore.release(blocking=False) at the upper bound": frozenset({"Linkable._handoff"}),
    "CappedSemaphore with": frozenset({"Linkable._handoff", "Linkable._notify"}),
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


@dataclass(frozen=True)
class Case:
    """One uncontended operation: ``run(prim)`` on ``make()``; ``check(prim, result)`` after."""

    name: str
    make: Callable[[], Any]
    run: Callable[[Any], object]
    check: Callable[[Any, object], bool]

    def __str__(self) -> str:
        return self.name


def _with(prim: Any) -> bool:
    with prim:
        return True


def _with_twice(prim: Any) -> bool:
    with prim, prim:
        return True


def _acquire_twice_release_once(prim: RLock) -> bool:
    got = prim.acquire() and prim.acquire()
    prim.release()  # an inner level: the lock stays held
    return got


def _released_one(prim: Any) -> None:
    prim.release()


def _held(make: Callable[[], Any]) -> Callable[[], Any]:
    def make_held() -> Any:
        prim = make()
        assert prim.acquire(blocking=False)
        return prim

    return make_held


def _free(prim: Any) -> int:
    if isinstance(prim, (Lock, RLock)):
        return 0 if prim.locked() else 1
    if isinstance(prim, Condition):
        return 0 if prim.locked() else 1
    counter: int = prim.counter
    return counter


def _acquire(prim: Any) -> bool:
    return bool(prim.acquire())


def _acquire_nowait(prim: Any) -> bool:
    return bool(prim.acquire(blocking=False))


def _capped_at_upper() -> CappedSemaphore:
    return CappedSemaphore(1)


CASES = [
    Case(
        "Semaphore.acquire",
        lambda: Semaphore(1),
        _acquire,
        lambda p, r: r is True and _free(p) == 0,
    ),
    Case(
        "Semaphore.acquire(blocking=False)",
        lambda: Semaphore(1),
        _acquire_nowait,
        lambda p, r: r is True and _free(p) == 0,
    ),
    Case(
        "Semaphore.acquire(blocking=False) with none free",
        lambda: Semaphore(0),
        _acquire_nowait,
        lambda p, r: r is False and _free(p) == 0,
    ),
    Case("Semaphore.release", lambda: Semaphore(0), _released_one, lambda p, r: _free(p) == 1),
    Case(
        "Semaphore.release(2)",
        lambda: Semaphore(0),
        lambda p: p.release(2),
        lambda p, r: _free(p) == 2,
    ),
    Case("Semaphore with", lambda: Semaphore(1), _with, lambda p, r: r is True and _free(p) == 1),
    Case(
        "BoundedSemaphore.acquire",
        lambda: BoundedSemaphore(1),
        _acquire,
        lambda p, r: r is True and _free(p) == 0,
    ),
    Case(
        "BoundedSemaphore.release",
        _held(lambda: BoundedSemaphore(1)),
        _released_one,
        lambda p, r: _free(p) == 1,
    ),
    Case(
        "BoundedSemaphore with",
        lambda: BoundedSemaphore(1),
        _with,
        lambda p, r: r is True and _free(p) == 1,
    ),
    Case("DummySemaphore.acquire", DummySemaphore, _acquire, lambda p, r: r is True),
    Case("DummySemaphore.release", DummySemaphore, _released_one, lambda p, r: r is None),
    Case("DummySemaphore with", DummySemaphore, _with, lambda p, r: r is True),
    Case("DummySemaphore.wait", DummySemaphore, lambda p: p.wait(), lambda p, r: r == sys.maxsize),
    Case(
        "CappedSemaphore.acquire",
        _capped_at_upper,
        _acquire,
        lambda p, r: r is True and _free(p) == 0,
    ),
    Case(
        "CappedSemaphore.acquire(blocking=False) at the lower bound",
        lambda: CappedSemaphore(0, upper_bound=1),
        _acquire_nowait,
        lambda p, r: r is False and _free(p) == 0,
    ),
    Case(
        "CappedSemaphore.release",
        lambda: CappedSemaphore(0, upper_bound=1),
        lambda p: p.release(),
        lambda p, r: r is True and _free(p) == 1,
    ),
    Case(
        "CappedSemaphore.release(blocking=False) at the upper bound",
        _capped_at_upper,
        lambda p: p.release(blocking=False),
        lambda p, r: r is False and _free(p) == 1,
    ),
    Case("CappedSemaphore with", _capped_at_upper, _with, lambda p, r: r is True and _free(p) == 1),
    Case("Lock.acquire", Lock, _acquire, lambda p, r: r is True and p.locked()),
    Case(
        "Lock.acquire(blocking=False) when held",
        _held(Lock),
        _acquire_nowait,
        lambda p, r: r is False and p.locked(),
    ),
    Case("Lock.release", _held(Lock), _released_one, lambda p, r: not p.locked()),
    Case("Lock with", Lock, _with, lambda p, r: r is True and not p.locked()),
    Case("RLock.acquire", RLock, _acquire, lambda p, r: r is True and p.locked()),
    Case(
        "RLock.acquire again by its owner",
        RLock,
        _acquire_twice_release_once,
        lambda p, r: r is True and p.locked(),
    ),
    Case(
        "RLock.release",
        RLock,
        lambda p: (p.acquire(), p.release()),
        lambda p, r: not p.locked(),
    ),
    Case("RLock with", RLock, _with_twice, lambda p, r: r is True and not p.locked()),
    Case("Condition(RLock) with", Condition, _with, lambda p, r: r is True and not p.locked()),
    Case(
        "Condition(Lock) with",
        lambda: Condition(Lock()),
        _with,
        lambda p, r: r is True and not p.locked(),
    ),
]


def _contend(prim: Any) -> None:
    """Make a greenlet of this thread wait on ``prim`` and be served; leave ``prim`` as it was.

    A ``CappedSemaphore`` gets a waiter on each side (an acquirer at the lower bound, a
    releaser at the upper bound).
    """
    if isinstance(prim, DummySemaphore):
        return
    if isinstance(prim, CappedSemaphore):
        start = prim.counter
        while prim.acquire(blocking=False):
            pass
        acquirer = spawn(prim.acquire)
        run_until_blocked()
        assert prim.release()  # handed to the acquirer
        run_until_blocked()
        assert acquirer.value is True
        while prim.release(blocking=False):
            pass
        releaser = spawn(prim.release)
        run_until_blocked()
        assert prim.acquire(blocking=False)  # takes the releaser's permit
        run_until_blocked()
        assert releaser.value is True
        while prim.counter > start:
            assert prim.acquire(blocking=False)
        while prim.counter < start:
            assert prim.release(blocking=False)
        return
    taken = 0
    while _free(prim) and prim.acquire(blocking=False):
        taken += 1
    waiter = spawn(_acquire_then_release, prim)
    run_until_blocked()
    prim.release()  # handed to the waiter, which gives it back
    run_until_blocked()
    assert waiter.value is True
    if taken:
        for _ in range(taken - 1):
            prim.release()
    else:  # it was held (or empty) to begin with: so it is again
        assert prim.acquire(blocking=False)


def _acquire_then_release(prim: Any) -> bool:
    got = bool(prim.acquire())
    prim.release()
    return got


def _run(case: Case, contended: bool) -> list[str]:
    """Run ``case`` in a thread without a hub; check its outcome; return its hub calls."""
    prim = case.make()
    if contended:
        state = _free(prim)
        _contend(prim)
        assert _free(prim) == state, f"setting up {case}: {prim!r}"
    calls, created, result = hub_calls(lambda: case.run(prim))
    assert not created, f"{case} made a hub in a thread that had none: {created}"
    assert case.check(prim, result), f"{case} returned {result!r}, leaving {prim!r}"
    return calls


@pytest.mark.parametrize("contended", [False, True], ids=["fresh", "after contention"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_uncontended_operation_makes_no_call_into_the_hub(case: Case, contended: bool) -> None:
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
