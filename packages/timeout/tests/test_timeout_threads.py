"""Timeouts in several OS threads, each with its own hub."""

from __future__ import annotations

from greensync.hub import Waiter, sleep, spawn
from greensync.hub.testing import run_in_threads
from greensync.timeout import Timeout, with_timeout


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
