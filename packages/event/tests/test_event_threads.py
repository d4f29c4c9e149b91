"""All three primitives across OS threads, with iwait/wait, and without a hub when not blocking."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from greensync.event import AsyncResult, Event, ValueEvent
from greensync.hub import Linkable, iwait, sleep, spawn, wait
from greensync.hub._loop import _peek_hub
from greensync.hub.testing import Trace, assert_no_links, run_in_threads, run_until_blocked

T = TypeVar("T")


class Boom(Exception):
    """Sent across threads by the tests."""


@dataclass
class Kind:
    """How to make, fire and wait on one of the three primitives, for shared tests."""

    name: str
    make: Callable[[], Linkable]
    fire: Callable[[Any], None]
    wait: Callable[[Any, float | None], object]

    def __str__(self) -> str:
        return self.name


def _wait_result(r: AsyncResult[object], timeout: float | None) -> object:
    return r.get(timeout=timeout)


KINDS = [
    Kind("Event", Event, lambda e: e.set(), lambda e, t: e.wait(t)),
    Kind("AsyncResult", AsyncResult, lambda r: r.set(True), _wait_result),
    Kind("ValueEvent", ValueEvent, lambda v: v.send(True), lambda v, t: v.wait(t)),
]


def in_fresh_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a new OS thread (with no hub yet) and return its result or raise."""
    out: list[Any] = []

    def body() -> None:
        try:
            out.append(("ok", fn()))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            out.append(("error", exc))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join(60)
    assert out, "the thread did not finish"
    status, value = out[0]
    if status == "error":
        raise value
    return value  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_firing_from_a_plain_thread_wakes_greenlets_parked_here_in_order(kind: Kind) -> None:
    obj = kind.make()
    trace = Trace()
    tasks = [spawn(lambda n: trace(f"{n} {kind.wait(obj, None)}"), name) for name in "abc"]
    run_until_blocked()
    assert obj.linkcount() == 3
    hub_in_setter: list[object] = []

    def setter() -> None:
        kind.fire(obj)
        hub_in_setter.append(_peek_hub())

    thread = threading.Thread(target=setter)
    thread.start()
    for task in tasks:
        task.join()
    thread.join()
    assert trace == ["a True", "b True", "c True"]
    assert hub_in_setter == [None]  # waking another thread's greenlets made no hub here
    assert_no_links(obj)


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_one_thread_fires_and_greenlets_in_every_other_thread_wake(kind: Kind) -> None:
    obj = kind.make()
    waiting_threads, per_thread = 3, 4

    def body(index: int) -> object:
        if index == waiting_threads:
            while obj.linkcount() < waiting_threads * per_thread:
                sleep(0.001)
            kind.fire(obj)
            return "fired"
        tasks = [spawn(kind.wait, obj, None) for _ in range(per_thread)]
        return [task.get() for task in tasks]

    results = run_in_threads(body, waiting_threads + 1, timeout=30, what=f"{kind} fan-out")
    assert results == [[True] * per_thread] * waiting_threads + ["fired"]
    assert_no_links(obj)


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_timeouts_racing_a_fire_from_another_thread_resolve_to_one_outcome(kind: Kind) -> None:
    for _ in range(10):
        obj = kind.make()
        outcomes: list[object] = []

        def body(index: int, obj: Linkable = obj, outcomes: list[object] = outcomes) -> None:
            if index == 0:
                sleep(0.002)
                kind.fire(obj)
                return

            def one() -> None:
                try:
                    outcomes.append(kind.wait(obj, 0.002))
                except TimeoutError:
                    outcomes.append("timeout")

            tasks = [spawn(one) for _ in range(20)]
            for task in tasks:
                task.join()

        run_in_threads(body, 3, timeout=30, what=f"{kind} timeout race")
        assert len(outcomes) == 40
        assert set(outcomes) <= {True, False, "timeout"}
        assert_no_links(obj)
        assert kind.wait(obj, None) is True  # fired, and still answers


def test_asyncresult_exception_set_in_another_thread_is_raised_here() -> None:
    result: AsyncResult[int] = AsyncResult()
    task = spawn(lambda: result.get())
    run_until_blocked()
    thread = threading.Thread(target=result.set_exception, args=(Boom("far"),))
    thread.start()
    task.join()
    thread.join()
    assert isinstance(task.exception, Boom)


def test_non_blocking_calls_create_no_hub() -> None:
    def body() -> object:
        ev = Event()
        assert ev.wait(0) is False
        ev.set()
        for _ in range(100):
            assert ev.wait() is True
            assert ev.wait(5) is True
        ev.clear()
        assert (ev.is_set(), ev.isSet(), ev.ready(), ev.linkcount()) == (False, False, False, 0)
        assert ev.wait(0) is False
        repr(ev)

        result: AsyncResult[int] = AsyncResult()
        assert result.wait(0) is False
        for call in (result.get_nowait, lambda: result.get(block=False)):
            try:
                call()
            except TimeoutError:
                pass
            else:
                raise AssertionError("expected TimeoutError")
        result.set(1)
        assert [result.get(), result.get_nowait(), result.wait(), result.wait(1)] == [1] * 4
        failed: AsyncResult[int] = AsyncResult()
        failed.set_exception(Boom)
        try:
            failed.get()
        except Boom:
            pass
        repr(result)

        value: ValueEvent[int] = ValueEvent()
        assert value.poll(-1) == -1
        try:
            value.wait(0)
        except TimeoutError:
            pass
        value.send(2)
        assert [value.wait(), value.wait(3), value.poll(), value.poll_result()] == [2] * 4
        value.reset()
        value.send_exception(Boom)
        assert isinstance(value.poll_exception(), Boom)
        repr(value)
        return _peek_hub()

    assert in_fresh_thread(body) is None


def test_iwait_yields_each_kind_as_it_becomes_ready_and_unlinks() -> None:
    ev = Event()
    result: AsyncResult[int] = AsyncResult()
    value: ValueEvent[str] = ValueEvent()

    def setter() -> None:
        result.set(1)
        sleep(0)
        value.send("v")
        sleep(0)
        ev.set()

    spawn(setter)
    objects: list[Linkable] = [ev, result, value]
    assert list(iwait(objects)) == [result, value, ev]
    assert_no_links(ev, result, value)


def test_wait_returns_what_was_ready_within_the_timeout_and_leaves_no_links() -> None:
    ev = Event()
    result: AsyncResult[int] = AsyncResult()
    value: ValueEvent[str] = ValueEvent()
    objects: list[Linkable] = [ev, result, value]
    assert wait(objects, timeout=0.01) == []
    assert_no_links(ev, result, value)
    value.send("x")
    assert wait(objects, timeout=0.01) == [value]
    assert_no_links(ev, result, value)
    spawn(result.set_exception, Boom())  # an exception counts as ready, and is not raised
    assert wait(objects, count=2) == [value, result]
    assert_no_links(ev, result, value)
    ev.set()
    assert wait(objects) == [ev, result, value]
    assert_no_links(ev, result, value)
