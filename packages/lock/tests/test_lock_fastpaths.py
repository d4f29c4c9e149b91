"""Uncontended operations never call into the hub (issue 19, item 8).

DESIGN rules 4, 5 and 10: an acquire or release that does not wait takes no hub round trip,
makes no call into the wait lines, and creates no hub in a thread that has none.  Each case
below runs one such operation in a new OS thread that has no hub, under a profiler that records
every Python function entered whose code lives in the ``greensync.hub`` package, and asserts
that nothing was recorded and that no hub was created.  The spy
looks only at where the code lives, not at what it is called, so it holds whatever the hub's
internals become.  Each primitive is tried fresh and after it was contended once (its wait
lines then exist, and must still be bypassed).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from greensync.hub import spawn
from greensync.hub.testing import hub_calls, run_until_blocked
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

#: How long the operation's thread may take before the test fails (it should take microseconds).
BOUND = 5.0

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
    assert not calls, f"{case} called into greensync.hub: {list(dict.fromkeys(calls))}"
