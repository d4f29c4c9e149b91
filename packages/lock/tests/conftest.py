"""What greensync-lock's reliability tests share (test modules cannot import each other).

Markers (``contract``, ``stress``, ``builtin_hub``) belong to the shared plugin
``greensync.hub._pytest_plugin``, which pytest loads through greensync-hub's entry point.

Fixtures:

* ``exact`` is True on the built-in deterministic hub, where an interleaving forced through
  the order of same-turn callbacks has one outcome a test may assert.  It is False under the
  chaos scheduler (each turn's callbacks run in a seeded random order) and under the
  gevent/eventlet/asyncio adapters (other loops cut their turns differently): there, tests
  assert only what the protocol promises (one outcome, nothing lost or duplicated).
* ``builtin_timers`` is True on the built-in hub, chaos or not: expired timers fire in
  deadline order in one pass, so a race forced through timer deadlines has one outcome.
* ``eager_gil`` hands the GIL between threads every 10 us instead of every 5 ms, so threads
  interleave inside the primitives' check-then-act sequences (as CPython's own thread tests
  do).
* ``kind`` runs a test once per primitive that holders take and give back one unit at a
  time: ``Semaphore(2)``, ``BoundedSemaphore(2)``, ``CappedSemaphore(2)`` (its acquire side),
  ``Lock`` and ``RLock``.  A :class:`Kind` says how to make one, take a unit, give it back and
  count the free units, so one test body covers them all.
* ``other_thread`` is an OS thread that runs functions on request, each in that thread's own
  main greenlet (with its own hub if it needs one): the releaser "from another thread".

Test modules cannot import this file at run time (``--import-mode=importlib``): they get kinds
through the fixture, and import :class:`Kind` under ``TYPE_CHECKING`` only, for mypy, by the
dotted path mypy gives this file when run from the repository root
(``packages.lock.tests.conftest``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from greensync.hub import Hub, get_hub
from greensync.hub.testing import existing_hub as _peek_hub
from greensync.lock import BoundedSemaphore, CappedSemaphore, Lock, RLock, Semaphore


@pytest.fixture
def exact() -> bool:
    """True on the deterministic built-in hub (not the chaos scheduler, not an adapter)."""
    return type(get_hub()) is Hub


@pytest.fixture
def builtin_timers() -> bool:
    """True on the built-in hub, chaos or not (a ChaosHub shuffles callbacks, not timers)."""
    return isinstance(get_hub(), Hub)


@pytest.fixture
def eager_gil() -> Iterator[float]:
    """Switch threads every 10 us for the duration of the test."""
    interval = 1e-5
    previous = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        yield interval
    finally:
        sys.setswitchinterval(previous)


@dataclass(frozen=True)
class Kind:
    """How to drive one primitive that is taken and given back a unit at a time."""

    name: str
    #: Make a fresh one, with ``units`` units free.
    make: Callable[[], Any]
    #: How many greenlets can hold it at once.
    units: int
    #: True if only the greenlet that took a unit may give it back (RLock).
    owned: bool

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def take(prim: Any, timeout: float | None = None) -> bool:
        """Take a unit, waiting up to ``timeout`` (None: forever)."""
        return bool(prim.acquire(timeout=timeout))

    @staticmethod
    def give(prim: Any) -> None:
        """Give a unit back."""
        prim.release()

    def free(self, prim: Any) -> int:
        """How many units could be taken now without waiting."""
        if isinstance(prim, (Lock, RLock)):
            return 0 if prim.locked() else 1
        counter: int = prim.counter
        return counter

    def take_all(self, prim: Any) -> None:
        """Take every unit, without waiting (an RLock once: more would be recursion)."""
        for _ in range(self.units):
            assert prim.acquire(blocking=False)

    def give_all(self, prim: Any) -> None:
        for _ in range(self.units):
            prim.release()


KINDS = [
    Kind("Semaphore", lambda: Semaphore(2), 2, False),
    Kind("BoundedSemaphore", lambda: BoundedSemaphore(2), 2, False),
    Kind("CappedSemaphore", lambda: CappedSemaphore(2), 2, False),
    Kind("Lock", Lock, 1, False),
    Kind("RLock", RLock, 1, True),
]


@pytest.fixture(params=KINDS, ids=str)
def kind(request: pytest.FixtureRequest) -> Kind:
    """Each primitive that is taken and given back a unit at a time."""
    chosen: Kind = request.param
    return chosen


class OtherThread:
    """An OS thread that runs functions on request, each in its own main greenlet."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="greensync-lock-other")

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` there and return what it returned (or raise what it raised)."""
        return self._pool.submit(fn, *args).result(60)

    def start(self, fn: Callable[..., Any], *args: Any) -> Callable[[], Any]:
        """Start ``fn(*args)`` there; return a function that waits for its result."""
        future = self._pool.submit(fn, *args)
        return lambda: future.result(60)

    def close(self) -> None:
        def destroy() -> None:
            hub = _peek_hub()
            if hub is not None:
                hub.destroy()

        self.call(destroy)
        self._pool.shutdown(wait=True)


@pytest.fixture
def other_thread() -> Iterator[OtherThread]:
    """Another OS thread, with its own hub once it needs one."""
    thread = OtherThread()
    try:
        yield thread
    finally:
        thread.close()
