"""What the event test suites share: the kinds of event, and how to drive each of them.

``Event``, ``AsyncResult`` and ``ValueEvent`` keep one contract (waiters wake FIFO, all of them,
on one set; early leavers leave nothing; any thread may set) but spell it differently: what
sets them, what a wait returns, what a timed-out wait does, whether they can be re-armed.  A
:class:`Kind` records those spellings once, and the ``kind`` fixture runs a test against every
kind.  ``AsyncResult`` is there twice, once waited on with ``get()`` and once with ``wait()``.

Test modules cannot import this file at run time (``--import-mode=importlib``): they get kinds
through the fixtures, and import :class:`Kind` under ``TYPE_CHECKING`` only, for mypy, by the
dotted path mypy gives this file when run from the repository root
(``packages.event.tests.conftest``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from greensync.event import AsyncResult, Event, ValueEvent
from greensync.hub import Hub, get_hub

T = TypeVar("T")


#: What a timed-out wait hands back when the kind reports a timeout by returning a value.
TIMED_OUT = "timed out"
WOKE = "woke"


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
    #: True if ``wait`` returns ``value`` once fired; False if it returns True.
    carries_value: bool
    #: True if a timed-out ``wait`` raises TimeoutError; False if it returns False.
    timeout_raises: bool
    #: Make a fired object unset again (Event.clear, ValueEvent.reset); None if one-shot.
    rearm: Callable[[Any], None] | None
    #: True if firing a fired object is a RuntimeError (False: it does nothing).
    refire_raises: bool

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
        if self.timeout_raises:
            try:
                return self.wait(obj, timeout)
            except TimeoutError:
                return TIMED_OUT
        result = self.wait(obj, timeout)
        if result is False:
            return TIMED_OUT
        return result


def _event_fire(ev: Event, value: object) -> None:
    ev.set()


def _event_wait(ev: Event, timeout: float | None) -> object:
    return ev.wait(timeout)


def _result_fire(result: AsyncResult[object], value: object) -> None:
    result.set(value)


def _result_get(result: AsyncResult[object], timeout: float | None) -> object:
    return result.get(timeout=timeout)


def _result_wait(result: AsyncResult[object], timeout: float | None) -> object:
    return result.wait(timeout)


def _value_fire(ev: ValueEvent[object], value: object) -> None:
    ev.send(value)


def _value_wait(ev: ValueEvent[object], timeout: float | None) -> object:
    return ev.wait(timeout)


KINDS = [
    Kind("Event", Event, _event_fire, _event_wait, False, False, Event.clear, False),
    Kind("AsyncResult.get", AsyncResult, _result_fire, _result_get, True, True, None, True),
    Kind("AsyncResult.wait", AsyncResult, _result_fire, _result_wait, False, False, None, True),
    Kind("ValueEvent", ValueEvent, _value_fire, _value_wait, True, True, ValueEvent.reset, True),
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
