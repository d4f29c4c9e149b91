"""Timeouts in several OS threads, each with its own hub.

The stress version (marked ``stress``, GREENSYNC_STRESS=1) runs 4 threads x 100 greenlets and
100k operations; the default run carries the same code at 4 x 25 greenlets and 4k operations.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from greenlet import getcurrent

from greensync.hub import Waiter, get_hub, sleep, spawn
from greensync.hub.testing import assert_no_links, run_in_threads
from greensync.timeout import Timeout, with_timeout

THREADS = 4


@pytest.fixture(autouse=True)
def _main_thread_hub_first() -> None:
    # Work-around for the eventlet adapter: a thread in which eventlet is imported for the first
    # time never finishes (its body returns, is_alive() stays True), so the threads below would
    # look deadlocked when this module runs on its own.  Making the main thread's hub first
    # imports eventlet here.  Harmless for every other hub.
    get_hub()


def test_each_thread_times_out_its_own_greenlets() -> None:
    def body(index: int) -> tuple[int, int, int]:
        fired = silent = survived = 0

        def worker(n: int) -> None:
            nonlocal fired, silent, survived
            if n % 3 == 0:
                try:
                    with Timeout(0.01) as timeout:
                        Waiter[None]().get()
                except Timeout as exc:
                    fired += exc is timeout
            elif n % 3 == 1:
                with Timeout(0.01, False):
                    sleep(1)
                silent += 1
            else:
                with Timeout(10):
                    sleep(0.01)
                survived += 1

        tasks = [spawn(worker, n) for n in range(30)]
        for task in tasks:
            task.join()
        return fired, silent, survived

    assert run_in_threads(body, 4) == [(10, 10, 10)] * 4


def test_a_shared_timeout_object_is_started_separately_in_each_thread() -> None:
    # Copies are independent: each thread starts its own (a pending Timeout belongs to one
    # greenlet), and with_timeout makes a fresh one per call.
    template = Timeout(0.01, False)

    def body(index: int) -> list[str]:
        results = [with_timeout(0.01, sleep, 1, timeout_value="late")]
        with Timeout(template.seconds, template.exception):
            sleep(1)
        results.append("left")
        return [str(r) for r in results]

    assert run_in_threads(body, 3) == [["late", "left"]] * 3
    assert not template.pending


@pytest.mark.parametrize(
    ("greenlets", "ops"),
    [
        pytest.param(25, 40, id="4x25-4k"),
        pytest.param(100, 250, id="4x100-100k", marks=pytest.mark.stress),
    ],
)
def test_timeouts_in_many_threads_fire_only_in_their_own_greenlet(
    items_cls: Any, greenlets: int, ops: int
) -> None:
    """Each greenlet cycles through six operations, ``ops`` in all:

    0. ``with Timeout(10)`` around a ``sleep(0)``: armed and cancelled, never fires;
    1. ``with Timeout(0)`` around a ``sleep(0)``: fires, caught by its own block;
    2. and 5. a silent ``Timeout(0.001)`` around a get from a line shared by every thread
       (twice as many gets as puts, so many of them time out);
    3. a put of a fresh token into that line (another thread's getter may be handed it
       while its timeout fires: the token then passes on or goes back into the line);
    4. nested: ``Timeout(0)`` inside ``Timeout(10)``: only the inner one fires.

    Every Timeout caught must be the catcher's own, each operation has exactly one outcome,
    tokens are conserved, no link is left.
    """
    shared = items_cls()

    def body(thread: int) -> dict[str, Any]:
        counts = {"ops": 0, "fired": 0, "quiet": 0, "got": 0, "missed": 0, "foreign": 0}
        tried = [0] * 6
        taken: list[int] = []
        put: list[int] = []

        def worker(g: int) -> None:
            me = getcurrent()
            for n in range(ops):
                op = (g + n) % 6
                tried[op] += 1
                if op == 0:
                    with Timeout(10) as timeout:
                        sleep(0)
                    counts["quiet"] += not timeout.pending
                elif op == 1:
                    try:
                        with Timeout(0) as timeout:
                            sleep(0)
                    except Timeout as exc:
                        own = exc is timeout and getcurrent() is me
                        counts["fired" if own else "foreign"] += 1
                elif op in (2, 5):
                    got = None
                    with Timeout(0.001, False):
                        got = shared.get()
                    if got is None:
                        counts["missed"] += 1
                    else:
                        counts["got"] += 1
                        taken.append(got)
                elif op == 3:
                    token = (thread * greenlets + g) * ops + n
                    put.append(token)
                    shared.put(token)
                elif op == 4:
                    with Timeout(10) as outer:
                        try:
                            with Timeout(0) as inner:
                                sleep(0)
                        except Timeout as exc:
                            own = exc is inner and outer.pending
                            counts["fired" if own else "foreign"] += 1
                counts["ops"] += 1

        tasks = [spawn(worker, g) for g in range(greenlets)]
        for task in tasks:
            task.join()
        failed = [task.exception for task in tasks if task.exception is not None]
        return {"counts": counts, "tried": tried, "taken": taken, "put": put, "failed": failed}

    started = time.monotonic()
    results: list[Any] = run_in_threads(body, THREADS, timeout=120, what="threads of timeouts")
    elapsed = time.monotonic() - started
    for result in results:
        counts, tried = result["counts"], result["tried"]
        assert result["failed"] == []
        assert counts["foreign"] == 0
        assert counts["ops"] == greenlets * ops
        assert counts["fired"] == tried[1] + tried[4]  # each fired exactly once
        assert counts["quiet"] == tried[0]
        assert counts["got"] + counts["missed"] == tried[2] + tried[5]
    taken = [token for result in results for token in result["taken"]]
    put = [token for result in results for token in result["put"]]
    assert len(set(taken)) == len(taken), "a token was taken twice"
    assert sorted(taken + list(shared.items)) == sorted(put), "a token was lost"
    assert_no_links(shared)
    print(
        f"\n{THREADS} threads x {greenlets} greenlets: {THREADS * greenlets * ops} operations, "
        f"{sum(r['counts']['fired'] + r['counts']['missed'] for r in results)} timeouts fired, "
        f"{len(taken)} tokens taken, {shared.reclaimed} handed back by a timeout, "
        f"{len(shared.items)} left, {elapsed:.2f}s"
    )
