"""The workloads that have a meaningful equivalent with OS threads (``threading``, ``queue``).

The wake-ups here are OS thread switches under the GIL, so they show what greenlets save, not a
target.  An AsyncResult is a ``concurrent.futures.Future``.  Workloads that would need a thousand
threads, or a way to hand the CPU to a chosen thread, are left out (see ``_spec.NOT_APPLICABLE``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from time import perf_counter_ns
from typing import Any

from benchmarks import _spec
from benchmarks._spec import Outcome, Run


def _timed_threads(*targets: Callable[[], None]) -> tuple[int, str | None]:
    """Run each target in its own thread, released together; time until all have finished."""
    errors: list[BaseException] = []
    gate = threading.Barrier(len(targets) + 1)

    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        def body() -> None:
            gate.wait()
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - a failed worker is a failed check
                errors.append(exc)

        return body

    threads = [threading.Thread(target=wrap(fn), daemon=True) for fn in targets]
    for thread in threads:
        thread.start()
    gate.wait()
    t0 = perf_counter_ns()
    for thread in threads:
        thread.join()
    ns = perf_counter_ns() - t0
    return ns, (f"a worker raised {errors[0]!r}" if errors else None)


def asyncresult_pingpong(n: int) -> Outcome:
    first: Future[Any] = Future()
    got: list[int] = []

    def client() -> None:
        cur = first
        for i in range(n):
            back: Future[Any] = Future()
            cur.set_result((i, back))
            cur = back.result()

    def server() -> None:
        cur = first
        append = got.append
        for _ in range(n):
            i, back = cur.result()
            append(i)
            nxt: Future[Any] = Future()
            back.set_result(nxt)
            cur = nxt

    ns, error = _timed_threads(server, client)
    return Outcome(ns, n, error or _spec.check_sequence(got, n))


def _probe(lock: Any, expect: bool) -> str | None:
    """Try ``lock`` without blocking from another thread; it must succeed iff ``expect``."""
    got: list[bool] = []

    def probe() -> None:
        ok = lock.acquire(blocking=False)
        if ok:
            lock.release()
        got.append(ok)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    if got != [expect]:
        state = "free" if expect else "held"
        return f"lock should be {state}, but a non-blocking acquire elsewhere gave {got}"
    return None


def _uncontended(lock: Any, n: int) -> Outcome:
    with lock:
        error = _probe(lock, False)
    t0 = perf_counter_ns()
    for _ in range(n):
        with lock:
            pass
    ns = perf_counter_ns() - t0
    return Outcome(ns, n, error or _probe(lock, True))


def lock_uncontended_semaphore(n: int) -> Outcome:
    return _uncontended(threading.Semaphore(1), n)


def lock_uncontended_lock(n: int) -> Outcome:
    return _uncontended(threading.Lock(), n)


def lock_uncontended_rlock(n: int) -> Outcome:
    return _uncontended(threading.RLock(), n)


def queue_pingpong(n: int) -> Outcome:
    there: queue.Queue[int] = queue.Queue()
    back: queue.Queue[int] = queue.Queue()
    got: list[int] = []

    def client() -> None:
        put, get, append = there.put, back.get, got.append
        for i in range(n):
            put(i)
            append(get())

    def server() -> None:
        get, put = there.get, back.put
        for _ in range(n):
            put(get())

    ns, error = _timed_threads(server, client)
    return Outcome(ns, n, error or _spec.check_sequence(got, n))


def queue_throughput(n: int) -> Outcome:
    bound = _spec.QUEUE_BOUND
    q: queue.Queue[int] = queue.Queue(bound)
    got: list[int] = []
    peak = [0]

    def producer() -> None:
        put, qsize = q.put, q.qsize
        high = 0
        for i in range(n):
            put(i)
            size = qsize()
            if size > high:
                high = size
        peak[0] = high

    def consumer() -> None:
        get, append = q.get, got.append
        for _ in range(n):
            append(get())

    ns, error = _timed_threads(consumer, producer)
    return Outcome(
        ns,
        n,
        _spec.first_error(
            error, _spec.check_sequence(got, n), _spec.check_bound(peak[0], bound, "queue size")
        ),
    )


def queue_unbounded_bulk(n: int) -> Outcome:
    q: queue.Queue[int] = queue.Queue()
    put, get = q.put_nowait, q.get_nowait
    t0 = perf_counter_ns()
    for i in range(n):
        put(i)
    got = [get() for _ in range(n)]
    ns = perf_counter_ns() - t0
    return Outcome(ns, n, _spec.check_sequence(got, n))


def joinable_queue(n: int) -> Outcome:
    q: queue.Queue[int] = queue.Queue()
    got: list[int] = []
    joined = [-1]

    def consumer() -> None:
        get, done, append = q.get, q.task_done, got.append
        for _ in range(n):
            append(get())
            done()

    def producer() -> None:
        put = q.put
        for i in range(n):
            put(i)
        q.join()
        joined[0] = len(got)

    ns, error = _timed_threads(consumer, producer)
    early = None if joined[0] == n else f"join() returned after {joined[0]} of {n} items"
    return Outcome(ns, n, _spec.first_error(error, _spec.check_sequence(got, n), early))


def wait_with_timeout_notified(n: int) -> Outcome:
    ping, pong = threading.Event(), threading.Event()
    seconds = _spec.LONG_TIMEOUT
    woke = [0, 0]
    turns = [0, 0]  # pings sent, pongs sent

    def client() -> None:
        notify, wait, clear = ping.set, pong.wait, pong.clear
        count = 0
        for i in range(n):
            turns[0] = i + 1
            notify()
            if wait(timeout=seconds) and turns[1] == i + 1:
                count += 1
            clear()
        woke[0] = count

    def server() -> None:
        wait, clear, notify = ping.wait, ping.clear, pong.set
        count = 0
        for i in range(n):
            if wait(timeout=seconds) and turns[0] == i + 1:
                count += 1
            clear()
            turns[1] = i + 1
            notify()
        woke[1] = count

    ns, error = _timed_threads(server, client)
    return Outcome(ns, n, error or _spec.check_counts(woke, n, "notified waits"))


WORKLOADS: dict[str, Run] = {
    "asyncresult_pingpong": asyncresult_pingpong,
    "lock_uncontended_semaphore": lock_uncontended_semaphore,
    "lock_uncontended_lock": lock_uncontended_lock,
    "lock_uncontended_rlock": lock_uncontended_rlock,
    "queue_pingpong": queue_pingpong,
    "queue_throughput": queue_throughput,
    "queue_unbounded_bulk": queue_unbounded_bulk,
    "joinable_queue": joinable_queue,
    "wait_with_timeout_notified": wait_with_timeout_notified,
}

FACTORIES: dict[str, Any] = {
    "Event": threading.Event,
    "AsyncResult": Future,
    "Semaphore": threading.Semaphore,
    "Lock": threading.Lock,
    "RLock": threading.RLock,
    "Queue": queue.Queue,
}
