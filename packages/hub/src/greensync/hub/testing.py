"""Helpers shared by the test suites of every greensync package.

Test modules cannot import each other under ``--import-mode=importlib``, and each package's
isolated test run must still find these, so they ship with the hub as library code.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Callable, Iterable
from types import CodeType, FrameType
from typing import Any, NamedTuple, TypeVar, final

from ._chaos import ChaosHub
from ._current import _install, _peek_hub, _resolve, get_hub
from ._linkable import Linkable
from ._loop import Hub, HubBase, check_timeout
from ._task import Task, sleep, spawn
from ._waitline import NOTHING, TIMED_OUT, WaitLine

__all__ = [
    "ChaosHub",
    "Permits",
    "Trace",
    "armed_timers",
    "assert_no_links",
    "chaos",
    "existing_hub",
    "hub_calls",
    "pending_callbacks",
    "run_in_threads",
    "run_until_blocked",
    "run_with_hub",
    "spawn_all",
    "timer_heap_size",
]

T = TypeVar("T")

ChaosHub.__module__ = __name__  # reached here, not through the private module


@final
class Trace(list[str]):
    """A list that greenlets append labels to; tests assert the whole list.

    With a deterministic cooperative hub the order is exact, so the assertion names precisely
    who ran when.
    """

    def __call__(self, label: str) -> None:
        self.append(label)


def existing_hub() -> HubBase | None:
    """Return this thread's hub if it exists, without creating one.

    For tests of the rule that a call that does not block never creates a hub.
    """
    return _peek_hub()


def pending_callbacks(hub: HubBase | None = None) -> int:
    """Return how many callbacks (including batched wake-ups) the hub has queued."""
    return (hub or get_hub())._pending()


def _builtin(hub: HubBase | None) -> Hub:
    hub = hub or get_hub()
    if not isinstance(hub, Hub):
        raise TypeError(f"this helper looks inside the built-in hub, got {hub!r}")
    return hub


def armed_timers(hub: HubBase | None = None) -> int:
    """Return how many timers the built-in hub holds armed (neither fired nor cancelled).

    Raises:
        TypeError: the hub is not the built-in one (tests using it are ``builtin_hub``).
    """
    return sum(1 for handle in _builtin(hub)._timers if handle.pending)


def timer_heap_size(hub: HubBase | None = None) -> int:
    """Return how many entries -- armed or cancelled -- the built-in hub's timer heap holds.

    Cancelled timers stay in the heap until it is compacted or they reach its head; a test
    of "nothing piles up" bounds this.

    Raises:
        TypeError: the hub is not the built-in one.
    """
    return len(_builtin(hub)._timers)


def run_until_blocked(max_turns: int = 100_000) -> int:
    """Run the hub until every other greenlet is parked, and return how many turns that took.

    Call it from the test's main greenlet.  Timers and file descriptors are not waited for: a
    greenlet sleeping on a timer counts as parked.

    Raises:
        RuntimeError: the greenlets were still runnable after ``max_turns`` turns (a livelock).
    """
    hub = get_hub()
    for turn in range(1, max_turns + 1):
        sleep(0)
        if not hub._pending():
            return turn
    raise RuntimeError(f"greenlets were still runnable after {max_turns} hub turns")


def spawn_all(fn: Callable[..., T], args: Iterable[Any]) -> list[Task[T]]:
    """Spawn ``fn(arg)`` for every ``arg``, in order."""
    return [spawn(fn, arg) for arg in args]


def assert_no_links(*objects: Any) -> None:
    """Assert that no callback or parked greenlet is left on any of ``objects``."""
    left = {repr(obj): obj.linkcount() for obj in objects if obj.linkcount()}
    assert not left, f"links left behind: {left}"


def run_in_threads(
    fn: Callable[[int], object], n: int, timeout: float = 60.0, what: str = "threads"
) -> list[object]:
    """Run ``fn(i)`` for ``i in range(n)`` in ``n`` OS threads, each with its own hub.

    Returns the results in order.  The first exception raised in a thread is re-raised here;
    a thread still running after ``timeout`` seconds fails the call with an ``AssertionError``
    naming ``what``, so a cross-thread deadlock is a failure, not a hang.
    """
    results: list[object] = [None] * n
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def body(index: int) -> None:
        try:
            start.wait(timeout)
            results[index] = fn(index)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            errors.append(exc)
        finally:
            hub = _peek_hub()
            if hub is not None:
                hub.destroy()

    threads = [
        threading.Thread(target=body, args=(i,), name=f"greensync-test-{i}", daemon=True)
        for i in range(n)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    if errors:
        raise errors[0]
    if stuck:
        raise AssertionError(f"deadlock in {what}: threads {stuck} still running after {timeout}s")
    return results


def run_with_hub(name: str, fn: Callable[[], T], timeout: float = 60.0) -> T:
    """Run ``fn()`` in a fresh OS thread whose hub is the one called ``name``.

    ``name`` is anything :func:`greensync.hub.use` accepts (``"gevent"``, ``"eventlet"``,
    ``"asyncio"``, ``"builtin"``); the choice applies to that thread only.  Returns what ``fn``
    returned and re-raises what it raised.
    """
    factory = _resolve(name)

    def body(_: int) -> T:
        _install(factory())
        return fn()

    return run_in_threads(body, 1, timeout=timeout, what=f"the {name} hub")[0]  # type: ignore[return-value]


def chaos(seed: int | str) -> ChaosHub:
    """Give the current thread a :class:`ChaosHub` seeded with ``seed``.

    Call it before the thread's hub is first used.  Callbacks of each hub turn then run in a
    seeded random order and blocking points yield once before parking, so a test explores
    another interleaving per seed and replays one exactly.  ``GREENSYNC_CHAOS=<seed>`` does
    the same for every thread.

    Raises:
        RuntimeError: the thread already has a hub.
    """
    existing = _peek_hub()
    if existing is not None:
        raise RuntimeError(f"this thread already runs {existing!r}: call chaos() first")
    hub = ChaosHub(seed)
    _install(hub)
    return hub


class _PermitLine(WaitLine):
    """The line of a :class:`Permits`: a permit handed to a taker that left comes back."""

    __slots__ = ()

    def give_back(self, value: object) -> None:
        permits: Permits | None = self.owner
        if permits is None:
            return
        permits.reclaimed += 1
        permits._give(self, value)


@final
class Permits(Linkable):
    """A minimal semaphore built from the hub's public parts, for tests of the hub's machinery.

    Tests of a package that may not depend on the lock package (the timeout package, the hub
    itself) park on this when they need a hand-off line (:meth:`acquire`) and a listener line
    (:meth:`wait_ready`) with the protocol's rules: FIFO hand-off, reserved permits, a permit
    handed to a waiter that left going back through ``give_back``.  ``reclaimed`` counts those
    give-backs, so a test can show that a race really happened.  Simple on purpose: its
    counter is guarded by the line's mutex (a real primitive keeps its fast path out of it).
    """

    __slots__ = ("count", "reclaimed")

    def __init__(self, count: int = 0) -> None:
        super().__init__()
        self.count = count
        self.reclaimed = 0

    def __repr__(self) -> str:
        return f"<Permits count={self.count} waiters={self.linkcount()}>"

    def make_waitline(self) -> WaitLine:
        return _PermitLine(self)

    def ready(self) -> bool:
        return self.count > 0

    def acquire(self, timeout: float | None = None) -> bool:
        """Take a permit, parking FIFO until one is handed over; False on timeout."""
        timeout = check_timeout(timeout)
        if self._take() is not NOTHING:
            return True
        return self.get_waitline().park(timeout, self._take) is not TIMED_OUT

    async def async_acquire(self, timeout: float | None = None) -> bool:
        """:meth:`acquire`, for an asyncio task: it waits in the same FIFO line."""
        timeout = check_timeout(timeout)
        if self._take() is not NOTHING:
            return True
        return await self.get_waitline().async_park(timeout, self._take) is not TIMED_OUT

    def _take(self) -> object:
        if self.count <= 0:
            return NOTHING
        with self.get_waitline().mutex:
            if self.count > 0:
                self.count -= 1
                return True
        return NOTHING

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Park until a permit is free, without taking it; False on timeout."""
        timeout = check_timeout(timeout)
        return self.get_waitline().listen(timeout, self.ready)

    def release(self) -> None:
        """Hand a permit to the first waiter, or put it back."""
        line = self.get_waitline()
        with line.mutex:
            self._give(line, True)

    def _give(self, line: WaitLine, permit: object) -> None:
        if not line.handoff(permit):
            self.count += 1
            line.notify()


class HubCalls(NamedTuple):
    """What :func:`hub_calls` saw: the hub functions entered, hubs made, and the result."""

    calls: list[str]
    created: list[HubBase]
    value: Any


class _HubSpy:
    """A profile function recording every function of ``greensync.hub`` entered in a thread."""

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

    def summary(self, limit: int = 12) -> str:
        distinct = list(dict.fromkeys(self.calls))
        more = f" and {len(distinct) - limit} more" if len(distinct) > limit else ""
        return f"{distinct[:limit]}{more}"


_HUB_DIR = os.path.normcase(os.path.dirname(os.path.realpath(__file__))) + os.sep


def _live_hubs() -> list[HubBase]:
    return [obj for obj in gc.get_objects() if isinstance(obj, HubBase)]


def hub_calls(operation: Callable[[], T], bound: float = 5.0) -> HubCalls:
    """Run ``operation()`` in a new OS thread (which has no hub) and watch it enter the hub.

    For tests of DESIGN's rules 5 and 10 -- an operation that does not wait makes no call into
    the hub or its wait lines and creates no hub.  A profiler records every Python function
    entered whose code lives in the ``greensync.hub`` package (by where the code lives, not by
    name, so it holds whatever the hub's internals become).

    Returns:
        The qualified names of the hub functions entered, in order; the hubs that exist now
        and did not before; and what ``operation`` returned.

    Raises:
        AssertionError: the operation did not return within ``bound`` seconds (it parked),
            naming the hub functions it called.
        BaseException: whatever ``operation`` raised.
    """
    spy = _HubSpy()
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

    thread = threading.Thread(target=body, name="greensync-hub-calls", daemon=True)
    thread.start()
    thread.join(bound)
    if thread.is_alive():
        spy._active = False
        raise AssertionError(f"the operation blocked, after calling into the hub: {spy.summary()}")
    ok, value = outcome[0]
    if not ok:
        assert isinstance(value, BaseException)
        raise value
    return HubCalls(spy.calls, created, value)
