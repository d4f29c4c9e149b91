"""Leaks: many timeouts entered, left and fired leave no timer armed and memory flat; killed
tasks holding a pending Timeout leave nothing armed.

Stress versions (marked ``stress``) run only with GREENSYNC_STRESS=1 (``nox -s stress``); the
default run carries the same code at a small scale.  Armed timers are counted by the
``timers`` spy (the hub's public ``call_later``/``call_at`` and ``TimerHandle.pending``), so
every test runs on every hub.  Memory is measured with tracemalloc after a warm-up and
``gc.collect()``; the bound is generous, so only growth that scales with the count fails -- a
hub whose heap kept its cancelled timers would fail it.
"""

from __future__ import annotations

import gc
import os
import traceback
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from greensync.hub import Waiter, get_hub, iwait, sleep, spawn
from greensync.hub.testing import assert_no_links
from greensync.timeout import Timeout, with_timeout
from greensync.timeout._timeout import _raised_by

#: Growth allowed over a whole run, whatever its count: far below one byte per operation at
#: the stress scale, far above the noise of tracemalloc's own bookkeeping.
MEMORY_BOUND = 256 * 1024


class Boom(Exception):
    pass


@contextmanager
def memory_growth(report: list[int], warm_up: Callable[[], object]) -> Iterator[None]:
    """Trace memory from before ``warm_up()``; append what is traced after it and after the
    block (each after a hub turn and ``gc.collect()``) to ``report``."""
    tracemalloc.start()
    try:
        warm_up()
        sleep(0)  # let the hub drop cancelled callbacks
        gc.collect()
        before, _ = tracemalloc.get_traced_memory()
        yield
        sleep(0)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    report += [before, after]


def enter_and_exit(count: int) -> None:
    """``count`` with-blocks that do not fire: reused and fresh timeouts, timers and zero."""
    reused = Timeout(10)
    silent = Timeout(10, False)
    for n in range(count):
        kind = n % 4
        if kind == 0:
            with reused:
                pass
        elif kind == 1:
            with Timeout(10, Boom):
                pass
        elif kind == 2:
            with silent, Timeout(5):  # nested
                pass
        else:
            with Timeout(0):  # a ready callback, not a timer: dropped on the hub's next turn
                pass
            if n % 1024 == 3:
                sleep(0)


def fire(count: int) -> None:
    """``count`` timeouts that fire: loud, silent, with an exception class or instance,
    nested, through with_timeout, and (one in 16) on a real timer."""
    boom = Boom("instance")
    waiter: Waiter[None] = Waiter()
    for n in range(count):
        kind = n % 8
        try:
            if kind == 0:
                with Timeout(0):
                    sleep(0)
            elif kind == 1:
                with Timeout(0, False):
                    sleep(0)
            elif kind == 2:
                with Timeout(0, Boom):
                    sleep(0)
            elif kind == 3:
                with Timeout(0, boom):
                    sleep(0)
            elif kind == 4:
                with Timeout(10), Timeout(0, False):
                    sleep(0)
            elif kind == 5:
                with_timeout(0, sleep, 0, timeout_value=None)
            elif kind == 6:
                with Timeout(0):
                    waiter.get()
            elif n % 16 == 7:
                with Timeout(0.0001, False):
                    sleep(1)
        except (Timeout, Boom):
            continue
    assert_no_links(waiter)


@pytest.mark.parametrize(
    "count",
    [pytest.param(20_000, id="20k"), pytest.param(1_000_000, id="1M", marks=pytest.mark.stress)],
)
def test_entering_and_leaving_leaves_no_timer_armed_and_memory_flat(
    count: int, timers: Callable[[], int]
) -> None:
    enter_and_exit(1000)
    sleep(0)
    armed = timers()
    report: list[int] = []
    with memory_growth(report, lambda: enter_and_exit(1000)):
        enter_and_exit(count)
    before, after = report
    print(f"\n{count} with-blocks: traced memory {before} -> {after} bytes")
    assert timers() == armed == 0
    # The hub's heap included: cancelled timers that stayed in it would show here.
    assert after - before < MEMORY_BOUND, f"memory grew by {after - before} bytes"


@pytest.mark.parametrize(
    "count",
    [pytest.param(8_000, id="8k"), pytest.param(200_000, id="200k", marks=pytest.mark.stress)],
)
def test_fired_timeouts_leave_nothing_behind(count: int) -> None:
    registered = len(_raised_by)
    report: list[int] = []
    with memory_growth(report, lambda: fire(800)):
        fire(count)
    before, after = report
    print(f"\n{count} fired timeouts: traced memory {before} -> {after} bytes")
    assert len(_raised_by) == registered == 0  # no exception is remembered once settled
    assert after - before < MEMORY_BOUND, f"memory grew by {after - before} bytes"


def test_fired_timeouts_leave_no_timer_armed(timers: Callable[[], int]) -> None:
    fire(200)
    sleep(0)
    armed = timers()
    fire(2000)
    sleep(0)
    assert timers() == armed


# -- killed tasks -----------------------------------------------------------------------------


def holders(gate: Waiter[None], timeouts: list[Timeout]) -> list[Callable[[], None]]:
    """Bodies that park on ``gate`` holding pending timeouts, each in its own way."""

    def in_with() -> None:
        with Timeout(10) as timeout:
            timeouts.append(timeout)
            gate.get()

    def nested() -> None:
        with Timeout(10) as outer, Timeout(5, False) as inner:
            timeouts.extend([outer, inner])
            gate.get()

    def by_hand() -> None:
        timeout = Timeout.start_new(10, Boom)
        timeouts.append(timeout)
        try:
            gate.get()
        finally:
            timeout.cancel()

    def in_sleep() -> None:
        with Timeout(10) as timeout:
            timeouts.append(timeout)
            sleep(10)

    def in_with_timeout() -> None:
        def body() -> None:
            with Timeout(10) as timeout:
                timeouts.append(timeout)
                gate.get()

        with_timeout(10, body)

    return [in_with, nested, by_hand, in_sleep, in_with_timeout]


@pytest.mark.parametrize("started", [True, False], ids=["parked", "not-yet-started"])
def test_killed_tasks_holding_pending_timeouts_leave_nothing_armed(
    started: bool, reported: list[tuple[object, BaseException]]
) -> None:
    gate: Waiter[None] = Waiter()
    timeouts: list[Timeout] = []
    tasks = [spawn(body) for body in holders(gate, timeouts) for _ in range(20)]
    if started:
        sleep(0)
        sleep(0)  # all parked, timeouts pending
        assert len(timeouts) == 20 * 6
        assert all(timeout.pending for timeout in timeouts)
    for task in tasks:
        task.kill()
    assert all(task.ready() and task.successful() for task in tasks)
    assert [timeout for timeout in timeouts if timeout.pending] == []
    assert_no_links(gate)
    assert reported == []
    sleep(0.02)  # nothing fires later either
    assert reported == []


def test_killed_tasks_leave_the_hub_with_the_timers_it_had(timers: Callable[[], int]) -> None:
    sleep(0)
    armed = timers()
    gate: Waiter[None] = Waiter()
    timeouts: list[Timeout] = []
    tasks = [spawn(body) for body in holders(gate, timeouts) for _ in range(50)]
    sleep(0)
    sleep(0)
    assert timers() > armed
    for task in tasks:
        task.kill(block=False)  # all in one turn
    for task in tasks:
        task.join()
    assert timers() == armed


def test_a_hand_started_timeout_left_in_a_killed_task_fires_harmlessly(
    reported: list[tuple[object, BaseException]],
) -> None:
    # Started by hand and never cancelled (no try/finally): it stays armed until it fires,
    # then finds its greenlet dead -- it raises nowhere and remembers nothing.
    gate: Waiter[None] = Waiter()
    timeouts: list[Timeout] = []

    def careless() -> None:
        timeouts.append(Timeout.start_new(0.01, Boom("late")))
        gate.get()

    task = spawn(careless)
    sleep(0)
    task.kill()
    timeout = timeouts[0]
    states = [timeout.pending]  # armed until it fires: cancelling is the task's job
    sleep(0.03)
    states.append(timeout.pending)
    assert states == [True, False]
    assert repr(timeouts[0]) == "<Timeout seconds=0.01 exception=Boom('late')>"  # not expired
    assert len(_raised_by) == 0
    assert reported == []
    assert_no_links(gate)


def test_many_tasks_timing_out_and_being_killed_leave_nothing(items_cls: Any) -> None:
    items = items_cls()
    outcomes: dict[str, int] = {"timed out": 0, "got": 0}

    def worker(n: int) -> None:
        try:
            with Timeout(0.001 * (n % 3)):
                items.get()
            outcomes["got"] += 1
        except Timeout:
            outcomes["timed out"] += 1

    for round_ in range(20):
        tasks = [spawn(worker, n) for n in range(30)]
        sleep(0)
        for n in range(5):
            items.put(round_ * 5 + n)
        for task in tasks[::4]:
            task.kill(block=False)
        for task in tasks:
            task.join()
    killed = 20 * 30 - outcomes["got"] - outcomes["timed out"]
    assert killed > 0
    assert outcomes["got"] + len(items.items) == 100  # every item taken or still there
    assert_no_links(items)


@pytest.mark.parametrize(
    "exception", [None, False, Boom("shared")], ids=["itself", "silent", "instance"]
)
def test_a_timeout_fired_again_and_again_does_not_grow_its_traceback(exception: Any) -> None:
    # Raising the same exception object again appends to its old traceback, which keeps every
    # earlier frame alive; a timeout starts each firing from a clean traceback.
    timeout = Timeout(0, exception)
    depths = []
    for _ in range(10):
        try:
            with timeout:
                sleep(0)
            raised: BaseException = timeout  # silent: the block swallowed it
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            raised = exc
        depths.append(len(traceback.extract_tb(raised.__traceback__)))
    assert len(set(depths)) == 1, depths


def test_a_timeout_cutting_short_a_wait_with_its_own_timeout_leaves_neither_timer_armed(
    items_cls: Any, timers: Callable[[], int]
) -> None:
    sleep(0)
    armed = timers()
    items = items_cls()
    waiter: Waiter[None] = Waiter()
    gate: Waiter[None] = Waiter()
    task = spawn(gate.get)
    r, w = os.pipe()
    waits: list[Callable[[], object]] = [
        lambda: waiter.get(timeout=10),
        lambda: items.get(timeout=10),
        lambda: get_hub().wait_readable(r, timeout=10),
        lambda: task.join(timeout=10),
        lambda: task.get(timeout=10),
        lambda: list(iwait([items, waiter], timeout=10)),
        lambda: sleep(10),
    ]
    try:
        for wait in waits:
            with Timeout(0.001, False):
                wait()
            assert timers() == armed, wait
    finally:
        os.close(r)
        os.close(w)
        gate.switch(None)
        task.join()
    assert_no_links(items, waiter, gate)
