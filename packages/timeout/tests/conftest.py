"""Shared test set-up for greensync-timeout.

The markers (``contract``, ``stress``, ``builtin_hub``) and their skip rules belong to the
shared plugin ``greensync.hub._pytest_plugin``, which pytest loads through greensync-hub's
entry point.  What the test modules share lives here, because under ``--import-mode=importlib`` they
cannot import each other:

* every timeout a test starts by hand (``start()``/``start_new()``) is closed when the test
  ends, so a test that fails before its own ``cancel()`` cannot leave a timer that fires in the
  next test;
* ``Items`` and ``Flag`` are a hand-off line and a listener line built from the hub's public
  parts (``Linkable``, ``WaitLine``), as any primitive is (this package may not import the
  real ones, not even in its tests);
* ``kind`` runs a test once per kind of hub-level wait a Timeout can interrupt (``WAIT_KINDS``);
* ``reported`` records what the hub reports through ``handle_error`` (a Timeout that escapes a
  task is stored on the task and reported there);
* ``timers`` records every timer and callback armed on this thread's hub (through its public
  ``call_later``, ``call_at`` and ``run_callback``) and counts those still pending, on any hub.
"""

from __future__ import annotations

import os
import weakref
from collections import deque
from collections.abc import Iterator
from typing import Any, ClassVar, Generic, TypeVar

import pytest

from greensync.hub import (
    NOTHING,
    TIMED_OUT,
    Linkable,
    Task,
    Waiter,
    WaitLine,
    check_timeout,
    get_hub,
    iwait,
    sleep,
    spawn,
)
from greensync.timeout import Timeout

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _close_started_timeouts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Held weakly: a timeout nobody refers to any more cannot be pending (its armed timer
    # would refer to it), and the leak tests must not see this list as a leak.
    started: weakref.WeakSet[Timeout] = weakref.WeakSet()
    start = Timeout.start

    def recording_start(self: Timeout) -> Timeout:
        started.add(self)
        return start(self)

    monkeypatch.setattr(Timeout, "start", recording_start)
    yield
    for timeout in list(started):
        try:
            timeout.close()
        except RuntimeError:
            continue  # pending in another thread, which has ended: it can never fire


@pytest.fixture
def reported() -> Iterator[list[tuple[object, BaseException]]]:
    """Record ``(context, exception)`` for everything the hub reports instead of printing it."""
    hub = get_hub()
    seen: list[tuple[object, BaseException]] = []

    def record(context: object, exc: BaseException) -> None:
        seen.append((context, exc))

    setattr(hub, "handle_error", record)  # noqa: B010 - mypy: assigning to a method
    yield seen
    delattr(hub, "handle_error")


class TimerSpy:
    """Records the timers armed on one hub through its public methods; counts those pending.

    It wraps ``call_later`` and ``call_at`` of the hub (an instance attribute shadows the
    method), so it sees every timer a :class:`Timeout` arms -- and those of timed waits and
    sleeps -- on the built-in hub and on the adapters alike, without reading the hub's heap.
    A timer is pending until it fires or is cancelled (``TimerHandle.pending``); the spy
    lets go of the others as it goes, so it holds no memory that grows with a long run.
    """

    _METHODS = ("call_later", "call_at")

    def __init__(self, hub: Any) -> None:
        self.handles: list[Any] = []
        self.hub = hub
        for name in self._METHODS:
            original = getattr(hub, name)

            def record(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                handle = _original(*args, **kwargs)
                handles = self.handles
                handles.append(handle)
                if len(handles) > 1024:
                    # Keep only the pending ones, so that a long run holds no memory here.
                    handles[:] = [kept for kept in handles if kept.pending]
                return handle

            setattr(hub, name, record)

    def __call__(self) -> int:
        """How many of the timers armed since the spy was made are still pending."""
        return sum(1 for handle in self.handles if handle.pending)

    def close(self) -> None:
        for name in self._METHODS:
            delattr(self.hub, name)


@pytest.fixture
def timers() -> Iterator[TimerSpy]:
    """A :class:`TimerSpy` on this thread's hub, from now to the end of the test."""
    spy = TimerSpy(get_hub())
    yield spy
    spy.close()


# -- primitives written against the waiter protocol -----------------------------------------


class _ItemLine(WaitLine):
    """The line of an :class:`Items`: an item handed to a getter that left comes back.

    It holds the item deque and the give-back count itself, never the Items (no cycle).
    """

    __slots__ = ("items", "reclaimed")

    def __init__(self, owner: object, items: deque[Any], reclaimed: list[int]) -> None:
        super().__init__(owner)
        self.items = items
        self.reclaimed = reclaimed

    def give_back(self, value: Any) -> None:
        self.reclaimed[0] += 1  # under the mutex
        if not self.handoff(value):
            self.items.appendleft(value)
            self.notify()


class Items(Linkable, Generic[T]):
    """A hand-off line: ``get`` takes an item or parks; ``put`` hands an item to the first waiter.

    An item handed to a waiter that then left (a Timeout, a kill) goes to the next waiter, or
    back to the front of the line: nothing is lost.  Simple on purpose: every step takes the
    line's mutex (a real primitive keeps its uncontended paths out of it).
    """

    __slots__ = ("_reclaimed", "items")

    def __init__(self, *items: T) -> None:
        super().__init__()
        self.items: deque[T] = deque(items)
        self._reclaimed = [0]

    @property
    def reclaimed(self) -> int:
        """How many handed items came back from waiters that left."""
        return self._reclaimed[0]

    def __repr__(self) -> str:
        return f"<Items {list(self.items)} waiters={self.linkcount()}>"

    def make_waitline(self) -> WaitLine:
        return _ItemLine(self, self.items, self._reclaimed)

    def ready(self) -> bool:
        return bool(self.items)

    def get(self, timeout: float | None = None) -> T:
        timeout = check_timeout(timeout)
        value = self._take()
        if value is NOTHING:
            value = self.get_waitline().park(timeout, self._take)
            if value is TIMED_OUT:
                raise TimeoutError(f"{self!r}: nothing within {timeout} seconds")
        return value  # type: ignore[no-any-return]

    def _take(self) -> Any:
        with self.get_waitline().mutex:
            if self.items:
                return self.items.popleft()
        return NOTHING

    def put(self, item: T) -> None:
        line = self.get_waitline()
        with line.mutex:
            if not line.handoff(item):
                self.items.append(item)
                line.notify()

    def waiting(self) -> int:
        line = self.get_waitline()
        with line.mutex:
            return line.takers()


class Flag(Linkable, Generic[T]):
    """A listener line: ``wait`` parks until ``set(value)``, which wakes every waiter at once."""

    __slots__ = ("is_set", "value")

    def __init__(self) -> None:
        super().__init__()
        self.is_set = False
        self.value: T | None = None

    def __repr__(self) -> str:
        return f"<Flag {'set' if self.is_set else 'unset'} waiters={self.linkcount()}>"

    def ready(self) -> bool:
        return self.is_set

    def wait(self, timeout: float | None = None) -> T:
        timeout = check_timeout(timeout)
        if not self.is_set and not self.get_waitline().listen(timeout, self.ready):
            raise TimeoutError(f"{self!r}: not set within {timeout} seconds")
        return self.value  # type: ignore[return-value]

    def set(self, value: T) -> None:
        self.value = value
        self.is_set = True
        line = self.waitline
        if line:
            with line.mutex:
                line.notify()


@pytest.fixture
def items_cls() -> type[Items[Any]]:
    return Items


@pytest.fixture
def flag_cls() -> type[Flag[Any]]:
    return Flag


# -- the kinds of wait a Timeout can interrupt ------------------------------------------------


class WaitKind:
    """One kind of hub-level wait, with what the timeout contract needs to drive it.

    ``park()`` blocks the calling greenlet and returns the value it was woken with;
    ``deliver(value)`` wakes it without blocking (``None`` for waits nothing can wake early);
    ``remaining()`` lists what the object still holds or shows; ``assert_clean()`` fails if a
    greenlet that left is still registered anywhere; ``close()`` lets anything still blocked
    finish.  ``handoff`` kinds give each delivered value to one waiter; the others show it to
    every waiter.  ``max_waiters`` is how many greenlets may wait at once.
    """

    name: ClassVar[str]
    handoff: ClassVar[bool] = False
    max_waiters: ClassVar[int] = 8
    can_deliver: ClassVar[bool] = True

    def park(self) -> Any:
        raise NotImplementedError

    def deliver(self, value: int) -> None:
        raise NotImplementedError

    def remaining(self) -> list[Any]:
        return []

    def assert_clean(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return

    def __repr__(self) -> str:
        return f"<{self.name}>"


class WaiterGet(WaitKind):
    """``Waiter.get()``: the hub's one-shot rendezvous (every ``get`` sees the value)."""

    name = "Waiter.get"

    def __init__(self) -> None:
        self.waiter: Waiter[int] = Waiter()

    def park(self) -> Any:
        return self.waiter.get()

    def deliver(self, value: int) -> None:
        self.waiter.switch(value)

    def remaining(self) -> list[Any]:
        return [self.waiter.get()] if self.waiter.ready() else []

    def assert_clean(self) -> None:
        assert self.waiter.linkcount() == 0, f"{self.waiter!r} kept links"


class HandoffLine(WaitKind):
    """``Items.get()``: a Linkable hand-off line (each item to one waiter)."""

    name = "handoff-line"
    handoff = True

    def __init__(self) -> None:
        self.items: Items[int] = Items()

    def park(self) -> Any:
        return self.items.get()

    def deliver(self, value: int) -> None:
        self.items.put(value)

    def remaining(self) -> list[Any]:
        return list(self.items.items)

    def assert_clean(self) -> None:
        assert self.items.linkcount() == 0, f"{self.items!r} kept links"
        assert self.items.waiting() == 0


class ListenerLine(WaitKind):
    """``Flag.wait()``: a Linkable listener line (every waiter woken by one ``set``)."""

    name = "listener-line"

    def __init__(self) -> None:
        self.flag: Flag[int] = Flag()

    def park(self) -> Any:
        return self.flag.wait()

    def deliver(self, value: int) -> None:
        self.flag.set(value)

    def remaining(self) -> list[Any]:
        return [self.flag.value] if self.flag.is_set else []

    def assert_clean(self) -> None:
        assert self.flag.linkcount() == 0, f"{self.flag!r} kept links"


class Sleep(WaitKind):
    """``sleep(seconds)``: nothing but its own timer wakes it."""

    name = "sleep"
    can_deliver = False
    DURATION: ClassVar[float] = 0.05

    def __init__(self) -> None:
        self.slept = 0

    def park(self) -> Any:
        sleep(self.DURATION)
        self.slept += 1
        return None

    def assert_clean(self) -> None:
        # The sleep a timeout cut short must not wake this greenlet later: wait past its
        # deadline on something else and check that the right thing woke us.
        waiter: Waiter[str] = Waiter()
        get_hub().call_later(self.DURATION * 1.5, waiter.switch, "the right wake-up")
        assert waiter.get() == "the right wake-up"


class TaskJoin(WaitKind):
    """``Task.join()`` on a task that waits for its result (``Task.get()`` with ``get=True``)."""

    name = "Task.join"

    def __init__(self, use_get: bool = False) -> None:
        self.gate: Waiter[int] = Waiter()
        self.task: Task[int] = spawn(self.gate.get)
        self.use_get = use_get

    def park(self) -> Any:
        if self.use_get:
            return self.task.get()
        self.task.join()
        return self.task.value

    def deliver(self, value: int) -> None:
        self.gate.switch(value)

    def remaining(self) -> list[Any]:
        return [self.task.value] if self.task.ready() else []

    def assert_clean(self) -> None:
        assert self.task.linkcount() == 0, f"{self.task!r} kept links"

    def close(self) -> None:
        if not self.task.ready():
            self.task.kill()


class TaskGet(TaskJoin):
    name = "Task.get"

    def __init__(self) -> None:
        super().__init__(use_get=True)


class Iwait(WaitKind):
    """``iwait([flag, other])``: links on every object, removed however the wait ends."""

    name = "iwait"

    def __init__(self) -> None:
        self.flag: Flag[int] = Flag()
        self.other: Flag[int] = Flag()

    def park(self) -> Any:
        for ready in iwait([self.other, self.flag]):
            return ready.value  # leaving the loop closes iwait, which removes its links
        raise AssertionError("iwait ended without a ready object")

    def deliver(self, value: int) -> None:
        self.flag.set(value)

    def remaining(self) -> list[Any]:
        return [self.flag.value] if self.flag.is_set else []

    def assert_clean(self) -> None:
        assert self.flag.linkcount() == 0, f"{self.flag!r} kept links"
        assert self.other.linkcount() == 0, f"{self.other!r} kept links"


class FdReadable(WaitKind):
    """``hub.wait_readable(fd)`` on a pipe, then one byte read (one waiter per fd)."""

    name = "wait_readable"
    handoff = True
    max_waiters = 1

    def __init__(self) -> None:
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)

    def park(self) -> Any:
        get_hub().wait_readable(self.r)
        return os.read(self.r, 1)[0]

    def deliver(self, value: int) -> None:
        os.write(self.w, bytes([value]))

    def remaining(self) -> list[Any]:
        try:
            return list(os.read(self.r, 4096))
        except BlockingIOError:
            return []

    def assert_clean(self) -> None:
        # The slot is free: another wait on the same fd is allowed (and times out quietly).
        try:
            get_hub().wait_readable(self.r, timeout=0)
        except TimeoutError:
            pass

    def close(self) -> None:
        os.close(self.r)
        os.close(self.w)


class FdWritable(WaitKind):
    """``hub.wait_writable(fd)`` on a full pipe; a reader draining it is the wake-up."""

    name = "wait_writable"
    max_waiters = 1

    def __init__(self) -> None:
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)
        os.set_blocking(self.w, False)
        self.value: int | None = None
        self.fill()

    def fill(self) -> None:
        try:
            while True:
                os.write(self.w, b"x" * 65536)
        except BlockingIOError:
            pass
        try:
            while True:
                os.write(self.w, b"x")
        except BlockingIOError:
            pass

    def park(self) -> Any:
        get_hub().wait_writable(self.w)
        return self.value

    def deliver(self, value: int) -> None:
        self.value = value
        try:
            while os.read(self.r, 65536):
                continue
        except BlockingIOError:
            pass

    def remaining(self) -> list[Any]:
        return [] if self.value is None else [self.value]

    def assert_clean(self) -> None:
        try:
            get_hub().wait_writable(self.w, timeout=0)
        except TimeoutError:
            pass

    def close(self) -> None:
        os.close(self.r)
        os.close(self.w)


WAIT_KINDS: list[type[WaitKind]] = [
    WaiterGet,
    HandoffLine,
    ListenerLine,
    Sleep,
    TaskJoin,
    TaskGet,
    Iwait,
    FdReadable,
    FdWritable,
]


@pytest.fixture(params=WAIT_KINDS, ids=lambda cls: cls.name)
def kind(request: pytest.FixtureRequest) -> Iterator[WaitKind]:
    """A fresh wait of each kind in turn; closed after the test."""
    made: WaitKind = request.param()
    yield made
    made.close()


@pytest.fixture(params=[cls for cls in WAIT_KINDS if cls.can_deliver], ids=lambda cls: cls.name)
def wakeable(request: pytest.FixtureRequest) -> Iterator[WaitKind]:
    """A fresh wait of each kind that something other than time can wake."""
    made: WaitKind = request.param()
    yield made
    made.close()
