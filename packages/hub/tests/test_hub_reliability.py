"""Reliability of the hub itself: bad input everywhere, threads, leaks, and the Waiter contract.

Stress versions (marked ``stress``) run only with GREENSYNC_STRESS=1 (``nox -s stress``); the
default run carries the same code at a small scale.
"""

from __future__ import annotations

import gc
import math
import os
import threading
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from greensync.hub import (
    Task,
    Waiter,
    get_hub,
    iwait,
    joinall,
    sleep,
    spawn,
    spawn_later,
    wait,
)
from greensync.hub.testing import (
    Trace,
    assert_no_links,
    run_in_threads,
    run_until_blocked,
    spawn_all,
)

STRESS = bool(os.environ.get("GREENSYNC_STRESS"))

BAD_TIMEOUTS: list[tuple[Any, type[Exception]]] = [
    (-1, ValueError),
    (-0.001, ValueError),
    (math.nan, ValueError),
    (-math.inf, ValueError),
    ("1", TypeError),
    (True, TypeError),
    (object(), TypeError),
    ([1], TypeError),
]


# -- bad input: each call fails clearly and the hub keeps working ----------------------------


def _hub_still_works() -> None:
    trace = Trace()
    get_hub().run_callback(trace, "alive")
    sleep(0)
    assert trace == ["alive"]
    waiter: Waiter[int] = Waiter()
    get_hub().call_later(0, waiter.switch, 1)
    assert waiter.get(timeout=10) == 1


@pytest.mark.parametrize(("bad", "error"), BAD_TIMEOUTS)
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda t: Waiter().get(timeout=t), id="Waiter.get"),
        pytest.param(lambda t: spawn(sleep, 0).join(timeout=t), id="Task.join"),
        pytest.param(lambda t: spawn(sleep, 0).get(timeout=t), id="Task.get"),
        pytest.param(lambda t: spawn(sleep, 0).kill(timeout=t), id="Task.kill"),
        pytest.param(lambda t: list(iwait([Waiter()], timeout=t)), id="iwait"),
        pytest.param(lambda t: wait([Waiter()], timeout=t), id="wait"),
        pytest.param(lambda t: wait(timeout=t), id="wait-loop"),
        pytest.param(lambda t: joinall([], timeout=t), id="joinall"),
    ],
)
def test_bad_timeouts_are_rejected_everywhere(
    call: Callable[[Any], object], bad: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match="`timeout`"):
        call(bad)
    _hub_still_works()


@pytest.mark.parametrize(("bad", "error"), [*BAD_TIMEOUTS, (None, TypeError)])
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda s: get_hub().call_later(s, len, ()), id="call_later"),
        pytest.param(lambda s: spawn_later(s, len, ()), id="spawn_later"),
        pytest.param(lambda s: sleep(s), id="sleep"),
    ],
)
def test_bad_delays_are_rejected_everywhere(
    call: Callable[[Any], object], bad: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match="`seconds`"):
        call(bad)
    _hub_still_works()


@pytest.mark.parametrize("bad", [None, 3, "fn", object()])
def test_non_callables_are_rejected_everywhere(bad: Any) -> None:
    hub = get_hub()
    for call in (
        lambda: hub.run_callback(bad),
        lambda: hub.run_callback_threadsafe(bad),
        lambda: hub.call_later(0, bad),
        lambda: hub.call_at(hub.time(), bad),
        lambda: spawn(bad),
        lambda: spawn_later(0, bad),
        lambda: Waiter().rawlink(bad),
        lambda: spawn(len, ()).rawlink(bad),
    ):
        with pytest.raises(TypeError, match="must be callable"):
            call()
    _hub_still_works()


@pytest.mark.parametrize(
    ("bad", "error"), [(math.nan, ValueError), ("x", TypeError), (None, TypeError)]
)
def test_call_at_rejects_bad_deadlines(bad: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="`when`"):
        get_hub().call_at(bad, len, ())
    _hub_still_works()


@pytest.mark.parametrize("bad", [[object()], [Waiter(), 3], ["event"]])
def test_waiting_on_something_not_linkable_is_a_type_error(bad: list[Any]) -> None:
    calls: list[Callable[[], object]] = [
        lambda: list(iwait(bad)),
        lambda: wait(bad),
        lambda: joinall(bad),
    ]
    for call in calls:
        with pytest.raises(TypeError, match="linkable"):
            call()
    _hub_still_works()


@pytest.mark.parametrize(("bad", "error"), [(-1, ValueError), (1.5, TypeError), ("2", TypeError)])
def test_iwait_rejects_bad_counts(bad: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="`count`"):
        iwait([Waiter()], count=bad)
    _hub_still_works()


def test_waiter_misuse_from_another_thread_is_clear() -> None:
    waiter: Waiter[int] = Waiter()
    waiter.switch(1)
    errors: list[BaseException] = []

    def body() -> None:
        try:
            waiter.switch(2)
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert len(errors) == 1
    assert "one-shot" in str(errors[0])
    assert waiter.get() == 1


def test_blocking_from_a_rawlink_callback_is_refused_and_the_link_survives_nothing() -> None:
    outcome: list[str] = []
    trigger: Waiter[int] = Waiter()

    def blocking(_obj: object) -> None:
        try:
            Waiter().get(timeout=1)
        except RuntimeError as exc:
            outcome.append("refused" if "cannot block inside the hub" in str(exc) else str(exc))

    trigger.rawlink(blocking)
    trigger.switch(1)
    sleep(0)
    assert outcome == ["refused"]
    assert trigger.linkcount() == 0
    _hub_still_works()


# -- threads ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scale",
    [pytest.param(1, id="reduced"), pytest.param(25, id="full", marks=pytest.mark.stress)],
)
def test_waiters_handed_across_threads_are_each_woken_once(scale: int) -> None:
    """4 threads x 25 greenlets ping-pong Waiters with a partner in the next thread."""
    threads, greenlets, rounds = 4, 25, 4 * scale
    inboxes: list[list[list[Waiter[int]]]] = [
        [[Waiter() for _ in range(rounds)] for _ in range(greenlets)] for _ in range(threads)
    ]
    received = [0] * threads

    def body(t: int) -> int:
        def worker(g: int) -> int:
            total = 0
            for r in range(rounds):
                inboxes[(t + 1) % threads][g][r].switch(r)  # post to the next thread
                total += inboxes[t][g][r].get(timeout=60)  # and wait for our own
            return total

        tasks = spawn_all(worker, range(greenlets))
        received[t] = sum(task.get() for task in tasks)
        return len(tasks)

    run_in_threads(body, threads, timeout=120, what="cross-thread Waiters")
    expected = greenlets * sum(range(rounds))
    assert received == [expected] * threads
    for box in inboxes:
        for line in box:
            assert all(w.linkcount() == 0 for w in line)


# -- leaks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "count",
    [
        pytest.param(20_000, id="reduced"),
        pytest.param(1_000_000, id="full", marks=pytest.mark.stress),
    ],
)
def test_timed_out_waits_leave_nothing_behind(count: int) -> None:
    """Many waits that time out, on one long-lived Waiter and on fresh ones."""
    shared: Waiter[int] = Waiter()
    hub = get_hub()
    batch = 1000

    def round_of_waits() -> None:
        for _ in range(batch // 2):
            try:
                shared.get(timeout=0)
            except TimeoutError:
                pass
            try:
                Waiter().get(timeout=0)
            except TimeoutError:
                pass

    round_of_waits()  # warm-up: caches, the hub, the lines
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(count // batch):
            round_of_waits()
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert shared.linkcount() == 0
    assert hub._pending() == 0
    assert after - before < 256 * 1024, f"memory grew by {after - before} bytes"


def test_killed_tasks_release_nothing_they_did_not_hold() -> None:
    """Tasks killed while parked on Waiters, while running, and before starting."""
    waiters: list[Waiter[int]] = [Waiter() for _ in range(30)]
    finished = Trace()

    def parked(i: int) -> None:
        waiters[i].get()
        finished(f"woke {i}")

    tasks: list[Task[None]] = spawn_all(parked, range(30))
    run_until_blocked()
    for task in tasks[::2]:
        task.kill(block=False)
    not_started = spawn(finished, "never")
    not_started.kill()
    joinall(tasks[::2])
    for i in range(1, 30, 2):
        waiters[i].switch(i)
    joinall(tasks)
    assert sorted(finished) == sorted(f"woke {i}" for i in range(1, 30, 2))
    assert_no_links(*waiters, *tasks)
    assert all(task.ready() for task in tasks)
