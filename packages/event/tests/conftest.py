"""What the event test suites share: the kinds of event, the kinds of waiter, how to drive each.

``Event``, ``AsyncResult`` and ``ValueEvent`` keep one contract (waiters wake FIFO, all of them,
on one set; early leavers leave nothing; any thread may set) but spell it differently: what
sets them, what a wait returns, what a timed-out wait does, whether they can be re-armed.  A
:class:`Kind` records those spellings once, and the ``kind`` fixture runs a test against every
kind.  ``AsyncResult`` is there twice, once waited on with ``get()`` and once with ``wait()``.

Who waits is the other axis (DESIGN rule 9): a greenlet of this thread's hub, an asyncio task
on the loop of this thread's hub, a task on a loop in another thread, a plain thread.  A
:class:`Waiters` starts waiters of one of those kinds -- the blocking call for greenlets and
threads, its ``async_`` twin for tasks -- lets them reach the line, strikes them (kill, cancel,
thrown exception) and collects what each wait gave.  The ``waiters`` fixture runs a test once
per kind of waiter; contract tests written against it are written once.

A task "in the same thread" needs a thread whose hub runs an asyncio loop (greenlets and tasks
then share one loop, as in a program that calls ``aio.run_greenlet``).  When this thread's hub
is not one (the built-in hub, gevent's, eventlet's), :func:`pytest_pyfunc_call` below runs such
a test in a fresh thread whose hub is greensync's asyncio hub (``run_with_hub("asyncio")``).

Test modules cannot import this file at run time (``--import-mode=importlib``): they get kinds
through the fixtures, and import :class:`Kind` and :class:`Waiters` under ``TYPE_CHECKING``
only, for mypy, by the dotted path mypy gives this file when run from the repository root
(``packages.event.tests.conftest``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import pytest
from greenlet import GreenletExit

from greensync.event import AsyncResult, Event, ValueEvent
from greensync.hub import Hub, Task, get_hub, sleep, spawn
from greensync.hub.testing import ChaosHub, existing_hub, run_with_hub

T = TypeVar("T")


#: What a timed-out wait hands back when the kind reports a timeout by returning a value.
TIMED_OUT = "timed out"
WOKE = "woke"

#: How long a test waits for something that should happen at once before it fails, naming it.
PATIENCE = 30.0


@dataclass(frozen=True)
class Kind:
    """How to make, set and wait on one kind of event, and what each of those gives."""

    name: str
    #: Make a fresh, unset object.
    make: Callable[[], Any]
    #: Set it so that waiters get ``value`` (Event ignores the value).
    fire: Callable[[Any, object], None]
    #: The blocking call under test, with a timeout (None: forever).
    wait: Callable[[Any, float | None], object]
    #: Its awaitable twin (``async_wait``, ``async_get``), with the same timeout.
    async_wait: Callable[[Any, float | None], Awaitable[object]]
    #: True if ``wait`` returns ``value`` once fired; False if it returns True.
    carries_value: bool
    #: True if a timed-out ``wait`` raises TimeoutError; False if it returns ``timed_out``.
    timeout_raises: bool
    #: Make a fired object unset again (Event.clear, ValueEvent.reset); None if one-shot.
    rearm: Callable[[Any], None] | None
    #: True if firing a fired object is a RuntimeError (False: it does nothing).
    refire_raises: bool
    #: What a timed-out ``wait`` returns when it does not raise (False, or None for
    #: ``AsyncResult.wait``, which returns the value as gevent's does).
    timed_out: object = False
    #: The name of the awaitable twin, as a blocking call from a coroutine must name it.
    twin: str = "async_wait"

    def __str__(self) -> str:
        return self.name

    def expect(self, value: object) -> object:
        """What ``wait`` returns after ``fire(obj, value)``."""
        return value if self.carries_value else True

    def outcome(self, obj: Any, timeout: float | None) -> object:
        """Wait, and return what ``wait`` returned, or :data:`TIMED_OUT` if it timed out.

        A return of False from a kind that raises on timeout (or a TimeoutError from one that
        returns False) is a broken contract and propagates.
        """
        return self._judge(lambda: self.wait(obj, timeout))

    async def async_outcome(self, obj: Any, timeout: float | None) -> object:
        """:meth:`outcome`, through the awaitable twin."""
        if self.timeout_raises:
            try:
                return await self.async_wait(obj, timeout)
            except TimeoutError:
                return TIMED_OUT
        result = await self.async_wait(obj, timeout)
        return TIMED_OUT if result is self.timed_out else result

    def _judge(self, call: Callable[[], object]) -> object:
        if self.timeout_raises:
            try:
                return call()
            except TimeoutError:
                return TIMED_OUT
        result = call()
        return TIMED_OUT if result is self.timed_out else result


def _event_fire(ev: Event, value: object) -> None:
    ev.set()


def _event_wait(ev: Event, timeout: float | None) -> object:
    return ev.wait(timeout)


def _event_async_wait(ev: Event, timeout: float | None) -> Awaitable[object]:
    return ev.async_wait(timeout)


def _result_fire(result: AsyncResult[object], value: object) -> None:
    result.set(value)


def _result_get(result: AsyncResult[object], timeout: float | None) -> object:
    return result.get(timeout=timeout)


def _result_async_get(result: AsyncResult[object], timeout: float | None) -> Awaitable[object]:
    return result.async_get(timeout)


def _result_wait(result: AsyncResult[object], timeout: float | None) -> object:
    return result.wait(timeout)


def _result_async_wait(result: AsyncResult[object], timeout: float | None) -> Awaitable[object]:
    return result.async_wait(timeout)


def _value_fire(ev: ValueEvent[object], value: object) -> None:
    ev.send(value)


def _value_wait(ev: ValueEvent[object], timeout: float | None) -> object:
    return ev.wait(timeout)


def _value_async_wait(ev: ValueEvent[object], timeout: float | None) -> Awaitable[object]:
    return ev.async_wait(timeout)


KINDS = [
    Kind(
        "Event",
        Event,
        _event_fire,
        _event_wait,
        _event_async_wait,
        False,
        False,
        Event.clear,
        False,
    ),
    Kind(
        "AsyncResult.get",
        AsyncResult,
        _result_fire,
        _result_get,
        _result_async_get,
        True,
        True,
        None,
        True,
        twin="async_get",
    ),
    Kind(
        "AsyncResult.wait",
        AsyncResult,
        _result_fire,
        _result_wait,
        _result_async_wait,
        True,
        False,
        None,
        True,
        timed_out=None,
    ),
    Kind(
        "ValueEvent",
        ValueEvent,
        _value_fire,
        _value_wait,
        _value_async_wait,
        True,
        True,
        ValueEvent.reset,
        True,
    ),
]


@pytest.fixture(params=KINDS, ids=str)
def kind(request: pytest.FixtureRequest) -> Kind:
    """Each kind of event in turn."""
    chosen: Kind = request.param
    return chosen


@pytest.fixture(params=[k for k in KINDS if k.rearm is not None], ids=str)
def rearmable(request: pytest.FixtureRequest) -> Kind:
    """Each kind of event that can be made unset again."""
    chosen: Kind = request.param
    return chosen


@pytest.fixture
def exact() -> bool:
    """True on the deterministic built-in hub, where each turn runs its callbacks FIFO.

    The chaos scheduler shuffles each turn's callbacks and the adapters run on other loops:
    there, tests that force an interleaving through the order of same-turn callbacks assert
    only what the protocol promises (one outcome, nothing lost or duplicated).
    """
    return type(get_hub()) is Hub


@pytest.fixture
def builtin_timers() -> bool:
    """True on the built-in hub, chaos or not (a ChaosHub shuffles callbacks, not timers).

    There, expired timers fire in deadline order in one pass per turn, so a race forced through
    timer deadlines has one exact outcome.
    """
    return isinstance(get_hub(), Hub)


def _in_plain_thread(fn: Callable[[], T]) -> T:
    out: list[tuple[bool, Any]] = []

    def body() -> None:
        try:
            out.append((True, fn()))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            out.append((False, exc))
        finally:
            hub = existing_hub()
            if hub is not None:
                hub.destroy()  # a hub the call made (by blocking) goes with its thread

    thread = threading.Thread(target=body, name="greensync-event-plain")
    thread.start()
    thread.join(60)
    assert out, "the plain thread did not finish within 60 s"
    ok, value = out[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


@pytest.fixture
def in_plain_thread() -> Callable[[Callable[[], Any]], Any]:
    """Run a function in a new OS thread that has no hub, and return what it returned."""
    return _in_plain_thread


def wait_until(predicate: Callable[[], bool], what: str, limit: float = PATIENCE) -> None:
    """Let this thread's hub run until ``predicate()`` holds; fail naming ``what`` if it never
    does (polling: never asserts a duration)."""
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        sleep(0.001)


# -- the kinds of waiter -------------------------------------------------------------------


class Raised:
    """What a waiter whose wait raised records: the exception's type name, comparable."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.name = type(exc).__name__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return self.name == other
        return isinstance(other, Raised) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Raised({self.name})"


@dataclass
class Waiting:
    """One started waiter: its label and, once its wait ended, what the wait gave."""

    label: str
    #: What it waits on.
    obj: Any = None
    handle: Any = None
    #: ``[result]`` once the wait returned (or ``[Raised(exc)]`` if it raised).
    outcome: list[object] = field(default_factory=list)
    #: Whether the firing had begun when this waiter woke (None until it woke).
    after_fire: bool | None = None
    #: The OS threads it began to wait in and woke in.
    began_in: int | None = None
    woke_in: int | None = None

    @property
    def result(self) -> object:
        assert self.outcome, f"waiter {self.label} has no outcome yet"
        return self.outcome[0]


class Waiters:
    """Starts waiters of one kind on an object and collects what their waits gave.

    ``start(label, kind, obj, timeout)`` starts one waiter (its blocking ``kind.wait`` for
    greenlets and threads, ``kind.async_wait`` for tasks) and returns once it waits in the
    object's line, so the order of ``start`` calls is the order of arrival.  ``woke`` lists the
    waiters in the order their waits returned.  ``strike(waiting, how)`` interrupts one
    (``"kill"``: a greenlet killed, a task cancelled; ``"throw"``: an exception thrown into a
    greenlet); a kind that cannot be struck that way skips the test.
    """

    name: ClassVar[str]
    #: Its waiters run only when the test's own greenlet yields (the same thread).
    same_thread: ClassVar[bool] = False
    #: The test must run in a thread whose hub is an asyncio loop.
    needs_asyncio_hub: ClassVar[bool] = False
    #: The ways ``strike`` can interrupt one.
    strikes: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        self.started: list[Waiting] = []
        self.woke: list[Waiting] = []
        self.fired = False
        #: Every waiter started on the objects under test, by this and by other kinds of
        #: waiter (shared by the kinds that :func:`waiter_kinds` mixes in one line).
        self.everyone: list[Waiting] = []

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<{self.name} waiters {[w.label for w in self.started]}>"

    @property
    def ordered(self) -> bool:
        """True when its waiters run in the order they were woken (one scheduler serves them
        all, in order)."""
        return True

    @property
    def exact(self) -> bool:
        """True when the order in which waiters run and leave is exact (greenlets of the
        deterministic built-in hub)."""
        return False

    def start(
        self,
        label: str,
        kind: Kind,
        obj: Any,
        timeout: float | None = None,
        settle: bool = True,
    ) -> Waiting:
        """Start a waiter on ``obj``; with ``settle``, return once it waits in the line (or
        its wait already ended)."""
        waiting = Waiting(label, obj)
        waiting.handle = self._launch(waiting, kind, obj, timeout)
        self.started.append(waiting)
        self.everyone.append(waiting)
        if settle:
            # Every waiter on ``obj`` whose wait has not ended is in its line (one that left
            # records its outcome right after, so this holds as soon as the new one joined).
            wait_until(
                lambda: (
                    bool(waiting.outcome)
                    or obj.linkcount()
                    >= sum(1 for w in self.everyone if w.obj is obj and not w.outcome)
                ),
                f"{self.name} waiter {label} to wait on {obj!r}",
            )
        return waiting

    def _began(self, waiting: Waiting) -> None:
        waiting.began_in = threading.get_ident()

    def _record(self, waiting: Waiting, result: object) -> None:
        waiting.after_fire = self.fired
        waiting.woke_in = threading.get_ident()
        waiting.outcome.append(result)
        self.woke.append(waiting)

    def fire(self, kind: Kind, obj: Any, value: object) -> None:
        """Fire ``obj``, noting first that the fire has begun."""
        self.fired = True
        kind.fire(obj, value)

    def finish(self, *waitings: Waiting) -> None:
        """Let the waiters (all started ones by default) end; fail naming any that does not."""
        targets = waitings or tuple(self.started)
        wait_until(
            lambda: all(self._done(w) for w in targets),
            f"{self.name} waiters {[w.label for w in targets if not self._done(w)]} to end",
        )

    def results(self) -> dict[str, object]:
        """What each waiter that ended got, by label."""
        return {w.label: w.result for w in self.started if w.outcome}

    def order(self) -> list[str]:
        """The labels of the waiters that ended, in the order they woke."""
        return [w.label for w in self.woke]

    def strike(self, waiting: Waiting, how: str) -> None:
        """Interrupt ``waiting`` (``"kill"`` or ``"throw"``), or skip if this kind cannot."""
        if how not in self.strikes:
            pytest.skip(f"a {self.name} waiter cannot be struck by {how!r}")
        self._strike(waiting, how)

    def close(self) -> None:
        """Stop whatever the waiters left running (after a failed test)."""

    # -- per kind --------------------------------------------------------------------------

    def _launch(self, waiting: Waiting, kind: Kind, obj: Any, timeout: float | None) -> Any:
        raise NotImplementedError

    def _done(self, waiting: Waiting) -> bool:
        raise NotImplementedError

    def _strike(self, waiting: Waiting, how: str) -> None:
        raise NotImplementedError


class Outer(BaseException):
    """Stands in for an outer ``Timeout``: a BaseException thrown into a parked waiter."""


class GreenletWaiters(Waiters):
    """Greenlets of this thread's hub."""

    name = "greenlet"
    same_thread = True
    strikes = frozenset({"kill", "throw"})

    @property
    def ordered(self) -> bool:
        # The chaos scheduler shuffles each turn's callbacks, and the built-in hub queues each
        # woken greenlet as a callback of its own: there, who runs first is the shuffle's.
        return not isinstance(get_hub(), ChaosHub)

    @property
    def exact(self) -> bool:
        return type(get_hub()) is Hub

    def _launch(self, waiting: Waiting, kind: Kind, obj: Any, timeout: float | None) -> Any:
        def body() -> None:
            self._began(waiting)
            try:
                result = kind.outcome(obj, timeout)
            except (GreenletExit, Outer) as exc:
                self._record(waiting, Raised(exc))
                return
            except BaseException as exc:
                self._record(waiting, Raised(exc))
                raise
            self._record(waiting, result)

        return spawn(body)

    def _done(self, waiting: Waiting) -> bool:
        task: Task[None] = waiting.handle
        return task.dead

    def _strike(self, waiting: Waiting, how: str) -> None:
        task: Task[None] = waiting.handle
        if how == "kill":
            task.kill(block=False)
        else:
            hub = get_hub()
            hub.run_callback(hub.throw_into, task, Outer())


class _TaskMixin(Waiters):
    async def _body(self, waiting: Waiting, kind: Kind, obj: Any, timeout: float | None) -> None:
        self._began(waiting)
        try:
            result = await kind.async_outcome(obj, timeout)
        except BaseException as exc:
            self._record(waiting, Raised(exc))  # a cancelled task too, then raised as asyncio needs
            raise
        self._record(waiting, result)


class TaskWaiters(_TaskMixin):
    """asyncio tasks on the loop of this thread's hub: the same thread as the test."""

    name = "task"
    same_thread = True
    needs_asyncio_hub = True
    strikes = frozenset({"kill"})

    def _launch(self, waiting: Waiting, kind: Kind, obj: Any, timeout: float | None) -> Any:
        hub: Any = get_hub()
        loop = getattr(hub, "loop", None)
        assert isinstance(loop, asyncio.AbstractEventLoop), f"{hub!r} runs no asyncio loop"
        return loop.create_task(self._body(waiting, kind, obj, timeout), name=waiting.label)

    def _done(self, waiting: Waiting) -> bool:
        task: asyncio.Task[None] = waiting.handle
        return task.done()

    def _strike(self, waiting: Waiting, how: str) -> None:
        task: asyncio.Task[None] = waiting.handle
        task.cancel()

    def close(self) -> None:
        for waiting in self.started:
            if not waiting.handle.done():
                try:
                    waiting.handle.cancel()
                except RuntimeError:
                    continue  # its loop is closed: the thread that ran it has ended


class FarTaskWaiters(_TaskMixin):
    """asyncio tasks on a loop that runs in another OS thread."""

    name = "far-task"
    strikes = frozenset({"kill"})

    def __init__(self) -> None:
        super().__init__()
        self._far: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _loop(self) -> asyncio.AbstractEventLoop:
        if self._far is None:
            loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=loop.run_forever, name="greensync-event-far-loop", daemon=True
            )
            self._thread.start()
            self._far = loop
        return self._far

    def _launch(self, waiting: Waiting, kind: Kind, obj: Any, timeout: float | None) -> Any:
        return asyncio.run_coroutine_threadsafe(
            self._body(waiting, kind, obj, timeout), self._loop()
        )

    def _done(self, waiting: Waiting) -> bool:
        future: concurrent.futures.Future[None] = waiting.handle
        return future.done() and bool(waiting.outcome)

    def _strike(self, waiting: Waiting, how: str) -> None:
        future: concurrent.futures.Future[None] = waiting.handle
        future.cancel()  # cancels the task, in its loop's thread

    def close(self) -> None:
        loop, thread = self._far, self._thread
        if loop is None or thread is None:
            return
        for waiting in self.started:
            waiting.handle.cancel()

        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if tasks:
                await asyncio.wait(tasks, timeout=PATIENCE)

        asyncio.run_coroutine_threadsafe(drain(), loop).result(PATIENCE)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(PATIENCE)
        loop.close()


class ThreadWaiters(Waiters):
    """Plain OS threads, each blocked in the call (and so given a hub of its own)."""

    name = "thread"

    @property
    def ordered(self) -> bool:
        return False  # each runs in its own thread, as the OS schedules it

    def _launch(self, waiting: Waiting, kind: Kind, obj: Any, timeout: float | None) -> Any:
        def body() -> None:
            self._began(waiting)
            try:
                try:
                    result = kind.outcome(obj, timeout)
                except BaseException as exc:  # noqa: BLE001 - recorded for the test to see
                    self._record(waiting, Raised(exc))
                    return
                self._record(waiting, result)
            finally:
                hub = existing_hub()
                if hub is not None:
                    hub.destroy()

        thread = threading.Thread(target=body, name=f"greensync-event-{waiting.label}", daemon=True)
        thread.start()
        return thread

    def _done(self, waiting: Waiting) -> bool:
        thread: threading.Thread = waiting.handle
        return not thread.is_alive()


WAITER_KINDS: list[type[Waiters]] = [GreenletWaiters, TaskWaiters, FarTaskWaiters, ThreadWaiters]


@pytest.fixture(params=WAITER_KINDS, ids=lambda cls: cls.name)
def waiters(request: pytest.FixtureRequest) -> Iterator[Waiters]:
    """Each kind of waiter in turn: greenlet, task (same thread), far-task, thread."""
    made: Waiters = request.param()
    yield made
    made.close()


@pytest.fixture
def waiter_kinds() -> Iterator[dict[str, Waiters]]:
    """One :class:`Waiters` of every kind, for tests that mix them in one line (run in a
    thread whose hub is an asyncio loop, so tasks of the same thread can wait too)."""
    made = {cls.name: cls() for cls in WAITER_KINDS}
    everyone: list[Waiting] = []
    for each in made.values():
        each.everyone = everyone
    yield made
    for each in made.values():
        each.close()


def _runs_asyncio_hub() -> bool:
    hub = existing_hub()
    return hub is not None and isinstance(getattr(hub, "loop", None), asyncio.AbstractEventLoop)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a test that needs tasks of its own thread in a thread whose hub is an asyncio loop.

    Only when this thread's hub is not one already (GREENSYNC_HUB=asyncio makes it one).  The
    test runs as that thread's main greenlet, exactly as it would here.
    """
    args = pyfuncitem.funcargs
    chosen = args.get("waiters")
    mixed = "waiter_kinds" in args
    if not (mixed or (isinstance(chosen, Waiters) and chosen.needs_asyncio_hub)):
        return None
    if _runs_asyncio_hub():
        return None
    names = inspect.signature(pyfuncitem.obj).parameters
    call_args = {name: args[name] for name in names}
    test = pyfuncitem.obj
    run_with_hub("asyncio", lambda: test(**call_args), timeout=60)
    return True
