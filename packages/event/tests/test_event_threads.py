"""All three primitives together: across threads, with iwait/wait, without a hub when not blocking.

The behaviour each kind shares across threads (fires from a thread without a hub, fan-out to
greenlets in many threads, fires racing timeouts) is in the contract suite.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from greensync.event import AsyncResult, Event, ValueEvent
from greensync.hub import Linkable, iwait, sleep, spawn, wait
from greensync.hub.testing import assert_no_links, run_in_threads, run_until_blocked
from greensync.hub.testing import existing_hub as _peek_hub

T = TypeVar("T")


class Boom(Exception):
    """Sent across threads by the tests."""


def test_asyncresult_exception_set_in_another_thread_is_raised_here() -> None:
    result: AsyncResult[int] = AsyncResult()
    task = spawn(lambda: result.get())
    run_until_blocked()
    thread = threading.Thread(target=result.set_exception, args=(Boom("far"),))
    thread.start()
    task.join()
    thread.join()
    assert isinstance(task.exception, Boom)


def test_non_blocking_calls_create_no_hub(
    in_plain_thread: Callable[[Callable[[], Any]], Any],
) -> None:
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
        assert result.wait(0) is None
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

    assert in_plain_thread(body) is None


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


# -- one-shot across threads ---------------------------------------------------------------

RACERS = 4
OBJECTS = 20_000  # each racer runs through all of them, so the threads overlap for a while


def _race(targets: list[T], attempt: Callable[[T, int], object]) -> list[list[int]]:
    """Every racer thread calls ``attempt(target, index)`` on every target, in the same order,
    all starting together; return, per target, the indexes whose attempt succeeded (did not
    raise RuntimeError).  Threads switch every microsecond, so they meet inside the calls."""
    wins: list[list[int]] = [[] for _ in targets]
    running: list[int] = []

    def racer(index: int) -> None:
        running.append(index)
        while len(running) < RACERS:
            pass  # spin, holding the GIL in turns, until every racer runs: then all start
        won = []
        for position, target in enumerate(targets):
            try:
                attempt(target, index)
            except RuntimeError:
                continue
            won.append(position)
        for position in won:
            wins[position].append(index)  # list.append: atomic

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        run_in_threads(racer, RACERS, timeout=120, what="one-shot race")
    finally:
        sys.setswitchinterval(previous)
    return wins


def test_racing_sets_of_one_asyncresult_from_many_threads_have_exactly_one_winner() -> None:
    results: list[AsyncResult[int]] = [AsyncResult() for _ in range(OBJECTS)]

    def attempt(result: AsyncResult[int], index: int) -> None:
        if index % 2:
            result.set(index)
        else:
            result.set_exception(Boom(index))

    wins = _race(results, attempt)
    assert sorted({len(won) for won in wins}) == [1]
    for won, result in zip(wins, results, strict=True):
        winner = won[0]
        if winner % 2:
            assert result.get() == winner  # the winner's outcome, kept
        else:
            assert result.exception is not None
            assert result.exception.args == (winner,)


def test_racing_sends_and_resets_of_valueevents_from_many_threads_have_one_winner() -> None:
    events: list[ValueEvent[int]] = [ValueEvent() for _ in range(OBJECTS)]
    wins = _race(events, lambda ev, index: ev.send(index))
    assert sorted({len(won) for won in wins}) == [1]
    assert [ev.poll() for ev in events] == [won[0] for won in wins]
    wins = _race(events, lambda ev, index: ev.reset())
    assert sorted({len(won) for won in wins}) == [1]  # one reset per send, the rest refused
    assert not any(ev.ready() for ev in events)
