"""Barrier: threading's semantics, with the trip handed to each waiter directly."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from greenlet import GreenletExit, getcurrent

from greensync.hub import Task, get_hub, joinall, sleep, spawn
from greensync.hub.testing import (
    ChaosHub,
    Trace,
    assert_no_links,
    run_in_threads,
    run_until_blocked,
)
from greensync.hub.testing import existing_hub as _peek_hub
from greensync.lock import Barrier, BrokenBarrierError


class Boom(Exception):
    pass


def deterministic() -> bool:
    """True unless the hub is the chaos scheduler, which reorders each turn's callbacks."""
    return not isinstance(get_hub(), ChaosHub)


def in_turn(*fns: Callable[[], Any]) -> list[Task[Any]]:
    """Spawn each function in order, letting each block before the next starts."""
    tasks = []
    for fn in fns:
        tasks.append(spawn(fn))
        run_until_blocked()
    return tasks


def _killed(task: Task[Any]) -> bool:
    value: object = task.value
    return isinstance(value, GreenletExit)


def _outcome(task: Task[Any]) -> str:
    exc = task.exception
    if exc is None:
        return f"passed {task.value}"
    return type(exc).__name__


def test_indices_follow_arrival_and_the_last_runs_the_action() -> None:
    trace = Trace()
    names: dict[object, str] = {}

    def action() -> None:
        trace(f"action in {names[getcurrent()]}")

    barrier = Barrier(3, action=action)

    def party(name: str) -> None:
        names[getcurrent()] = name
        trace(f"{name} arrives")
        index = barrier.wait()
        trace(f"{name} passed {index}")

    tasks = [spawn(party, "a")]
    run_until_blocked()
    tasks.append(spawn(party, "b"))
    run_until_blocked()
    assert barrier.n_waiting == 2
    tasks.append(spawn(party, "c"))
    run_until_blocked()
    assert trace == [
        "a arrives",
        "b arrives",
        "c arrives",
        "action in c",
        "c passed 2",
        "a passed 0",
        "b passed 1",
    ]
    assert all(task.successful() for task in tasks)
    assert (barrier.n_waiting, barrier.broken) == (0, False)
    assert_no_links(barrier._line)


def test_barrier_is_reusable_and_runs_the_action_once_per_trip() -> None:
    trips = 0

    def action() -> None:
        nonlocal trips
        trips += 1

    barrier = Barrier(3, action=action)
    indices: list[list[int]] = [[], [], []]

    def party(i: int) -> None:
        for _ in range(4):
            indices[i].append(barrier.wait())

    joinall([spawn(party, i) for i in range(3)])
    assert trips == 4
    assert [sorted(trip) for trip in zip(*indices, strict=True)] == [[0, 1, 2]] * 4
    assert barrier.n_waiting == 0


def test_single_party_barrier_never_blocks_nor_needs_a_hub() -> None:
    seen: list[object] = []

    def body() -> None:
        calls: list[int] = []
        barrier = Barrier(1, action=lambda: calls.append(1))
        assert [barrier.wait() for _ in range(3)] == [0, 0, 0]
        assert calls == [1, 1, 1]
        seen.append(_peek_hub())

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [None]


def test_timeout_breaks_the_barrier_for_everyone() -> None:
    barrier = Barrier(3)
    patient = spawn(barrier.wait)
    impatient = spawn(barrier.wait, 0.01)
    joinall([patient, impatient])
    assert _outcome(impatient) == "BrokenBarrierError"
    assert _outcome(patient) == "BrokenBarrierError"
    assert (barrier.broken, barrier.n_waiting) == (True, 0)
    with pytest.raises(BrokenBarrierError, match="is broken"):
        barrier.wait()
    assert_no_links(barrier._line)
    barrier.reset()
    assert (barrier.broken, barrier.n_waiting) == (False, 0)
    tasks = [spawn(barrier.wait) for _ in range(3)]
    joinall(tasks)
    assert sorted(task.get() for task in tasks) == [0, 1, 2]
    if deterministic():
        assert [task.get() for task in tasks] == [0, 1, 2]


def test_default_timeout_comes_from_the_constructor() -> None:
    barrier = Barrier(2, timeout=0.01)
    with pytest.raises(BrokenBarrierError, match="timed out"):
        barrier.wait()
    assert barrier.broken is True


def test_abort_breaks_current_and_future_waits() -> None:
    barrier = Barrier(3)
    tasks = [spawn(barrier.wait) for _ in range(2)]
    run_until_blocked()
    barrier.abort()
    run_until_blocked()
    assert [_outcome(task) for task in tasks] == ["BrokenBarrierError"] * 2
    assert barrier.broken is True
    with pytest.raises(BrokenBarrierError):
        barrier.wait()
    barrier.reset()
    assert barrier.broken is False


def test_reset_releases_waiters_with_an_error_and_starts_afresh() -> None:
    barrier = Barrier(2)
    waiting = spawn(barrier.wait)
    run_until_blocked()
    barrier.reset()
    run_until_blocked()
    assert _outcome(waiting) == "BrokenBarrierError"
    assert barrier.broken is False
    tasks = in_turn(barrier.wait, barrier.wait)
    joinall(tasks)
    assert [task.get() for task in tasks] == [0, 1]


def test_action_error_raises_in_the_last_party_and_breaks_the_rest() -> None:
    def action() -> None:
        raise Boom("action failed")

    barrier = Barrier(3, action=action)
    tasks = in_turn(barrier.wait, barrier.wait, barrier.wait)
    assert [_outcome(task) for task in tasks] == [
        "BrokenBarrierError",
        "BrokenBarrierError",
        "Boom",
    ]
    assert barrier.broken is True


def test_killed_waiter_breaks_the_barrier() -> None:
    barrier = Barrier(3)
    first, second = spawn(barrier.wait), spawn(barrier.wait)
    run_until_blocked()
    first.kill()
    run_until_blocked()
    assert _killed(first)
    assert _outcome(second) == "BrokenBarrierError"
    assert barrier.broken is True
    assert_no_links(barrier._line)


def test_waiter_killed_after_the_trip_does_not_break_it() -> None:
    barrier = Barrier(2)
    waiter = spawn(barrier.wait)
    run_until_blocked()
    waiter.kill(block=False)  # arrives before the waiter runs with its pass
    assert barrier.wait() == 1
    run_until_blocked()
    if deterministic():
        assert _killed(waiter)
    else:  # the kill may come after the waiter went through
        assert waiter.value == 0 or _killed(waiter)
    assert barrier.broken is False
    tasks = in_turn(barrier.wait, barrier.wait)
    joinall(tasks)
    assert [task.get() for task in tasks] == [0, 1]


def test_exception_thrown_into_a_waiter_breaks_the_barrier() -> None:
    barrier = Barrier(3)
    trace = Trace()

    def party(name: str) -> None:
        try:
            barrier.wait()
        except Boom:
            trace(f"{name} interrupted")
        except BrokenBarrierError:
            trace(f"{name} broken")

    tasks = [spawn(party, "a")]
    run_until_blocked()
    tasks.append(spawn(party, "b"))
    run_until_blocked()
    hub = get_hub()
    hub.run_callback(hub.throw_into, tasks[0], Boom())
    run_until_blocked()
    assert trace == ["a interrupted", "b broken"]
    assert barrier.broken is True


def test_arrivals_during_the_action_wait_for_the_next_trip() -> None:
    trace = Trace()

    def action() -> None:
        trace("action starts")
        sleep(0.01)  # lets other greenlets run meanwhile
        trace("action ends")

    barrier = Barrier(2, action=action)

    def party(name: str) -> None:
        index = barrier.wait()
        trace(f"{name} passed {index}")

    first = [spawn(party, "a")]
    run_until_blocked()
    first.append(spawn(party, "b"))
    run_until_blocked()
    late = spawn(party, "late")
    run_until_blocked()
    assert trace == ["action starts"]
    assert barrier.n_waiting == 0
    joinall(first)
    assert trace == ["action starts", "action ends", "b passed 1", "a passed 0"]
    run_until_blocked()
    assert barrier.n_waiting == 1  # "late" starts the next trip
    last = spawn(party, "last")
    joinall([late, last])
    assert trace[4:] == ["action starts", "action ends", "last passed 1", "late passed 0"]


def test_timeout_during_the_action_breaks_the_trip() -> None:
    def action() -> None:
        sleep(0.03)

    barrier = Barrier(2, action=action)
    impatient = spawn(barrier.wait, 0.01)
    run_until_blocked()
    with pytest.raises(BrokenBarrierError, match="while its action ran"):
        barrier.wait()
    impatient.join()
    assert _outcome(impatient) == "BrokenBarrierError"
    assert barrier.broken is True


def test_reset_during_the_action_fails_that_trip() -> None:
    barrier = Barrier(2, action=lambda: barrier.reset())
    waiter = spawn(barrier.wait)
    run_until_blocked()
    with pytest.raises(BrokenBarrierError, match="broken or reset"):
        barrier.wait()
    run_until_blocked()
    assert _outcome(waiter) == "BrokenBarrierError"
    assert barrier.broken is False


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="`parties` must be a positive int, got 0"):
        Barrier(0)
    with pytest.raises(ValueError, match="`parties`"):
        Barrier(-3)
    with pytest.raises(TypeError, match="`parties`"):
        Barrier(2.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`action`"):
        Barrier(2, action=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`timeout`"):
        Barrier(2, timeout="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`timeout`"):
        Barrier(2, timeout=-1)
    barrier = Barrier(2)
    with pytest.raises(TypeError, match="`timeout`"):
        barrier.wait("soon")  # type: ignore[arg-type]
    assert (barrier.n_waiting, barrier.broken) == (0, False)
    tasks = in_turn(barrier.wait, barrier.wait)
    joinall(tasks)
    assert [task.get() for task in tasks] == [0, 1]


def test_broken_barrier_error_is_threadings() -> None:
    assert issubclass(BrokenBarrierError, threading.BrokenBarrierError)
    assert issubclass(BrokenBarrierError, RuntimeError)


def test_properties_and_repr() -> None:
    barrier = Barrier(3)
    assert barrier.parties == 3
    assert repr(barrier) == "<Barrier filling waiters=0/3>"
    task = spawn(barrier.wait)
    run_until_blocked()
    assert repr(barrier) == "<Barrier filling waiters=1/3>"
    barrier.abort()
    run_until_blocked()
    assert task.ready()
    assert repr(barrier) == "<Barrier broken waiters=0/3>"


def test_barrier_across_threads() -> None:
    trips = 0
    guard = threading.Lock()

    def action() -> None:
        nonlocal trips
        trips += 1

    barrier = Barrier(8, action=action)
    indices: list[list[int]] = []

    def thread(_: int) -> None:
        def party() -> None:
            mine = [barrier.wait() for _ in range(10)]
            with guard:
                indices.append(mine)

        tasks = [spawn(party) for _ in range(2)]
        joinall(tasks)
        assert all(task.successful() for task in tasks)

    run_in_threads(thread, 4, what="barrier stress")
    assert trips == 10
    assert len(indices) == 8
    assert [sorted(trip) for trip in zip(*indices, strict=True)] == [list(range(8))] * 10
    assert barrier.broken is False
    assert_no_links(barrier._line)


def test_pass_of_a_waiter_killed_after_the_trip_is_not_given_to_the_next_trip() -> None:
    barrier = Barrier(2)
    order = Trace()
    guard = threading.Lock()
    tripped = threading.Event()
    next_parked = threading.Event()

    def note(label: str) -> None:
        with guard:
            order(label)

    def thread(i: int) -> None:
        if i == 0:
            first = spawn(barrier.wait)
            run_until_blocked()
            first.kill(block=False)  # lands after the hand-off, before "first" runs
            assert barrier.wait() == 1
            tripped.set()
            assert next_parked.wait(10)  # a waiter of the next trip is queued now
            run_until_blocked()
            note("second trip: last arrives")
            assert barrier.wait() == 1
            return

        def late() -> None:
            index = barrier.wait()
            note(f"late passed {index}")

        assert tripped.wait(10)
        task = spawn(late)
        get_hub().run_callback(next_parked.set)
        task.join()

    run_in_threads(thread, 2, what="barrier pass of a killed waiter")
    assert order == ["second trip: last arrives", "late passed 0"]
    assert barrier.broken is False


def test_main_greenlet_waiting_forever_gets_loop_exit_and_breaks_the_barrier() -> None:
    from greensync.hub import LoopExit

    barrier = Barrier(2)
    with pytest.raises(LoopExit, match="Barrier") as info:
        barrier.wait()
    assert info.value.waiting_on is barrier
    assert barrier.broken is True
    assert_no_links(barrier._line)
    barrier.reset()
    tasks = in_turn(barrier.wait, barrier.wait)
    assert [task.get() for task in tasks] == [0, 1]
