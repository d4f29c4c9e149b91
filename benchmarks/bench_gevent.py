"""The workloads on gevent, with its compiled primitives as installed from the package index.

The reference of every ratio.  Each function mirrors its twin in ``bench_greensync``.
"""

from __future__ import annotations

from time import perf_counter_ns
from typing import Any

from gevent import Greenlet, get_hub, joinall, sleep, spawn
from gevent.event import AsyncResult, Event
from gevent.lock import RLock, Semaphore
from gevent.queue import JoinableQueue, Queue
from gevent.thread import LockType as Lock
from gevent.timeout import Timeout

from benchmarks import _spec
from benchmarks._spec import Outcome, Run


def _join(tasks: list[Greenlet]) -> str | None:
    """Wait for every task; return the first worker's exception as an error, if any."""
    joinall(tasks)
    for task in tasks:
        if task.exception is not None:
            return f"a worker raised {task.exception!r}"
    return None


def _settle(started: list[int], target: int) -> None:
    """Yield until ``started[0]`` reaches ``target``: every worker has started and parked."""
    for _ in range(100_000):
        if started[0] >= target:
            return
        sleep(0)
    raise RuntimeError(_spec.settle_limit_error(started[0], target))


def sleep0(n: int) -> Outcome:
    rounds = max(1, n // 2)
    trace: list[int] = []

    def worker(k: int) -> None:
        append = trace.append
        for _ in range(rounds):
            append(k)
            sleep(0)

    tasks = [spawn(worker, 0), spawn(worker, 1)]
    t0 = perf_counter_ns()
    error = _join(tasks)
    ns = perf_counter_ns() - t0
    return Outcome(ns, 2 * rounds, error or _spec.check_alternating(trace, rounds))


def event_fanout(n: int) -> Outcome:
    width = _spec.FANOUT
    rounds = max(1, n // width)
    events = [Event() for _ in range(rounds)]
    done = [Event() for _ in range(rounds)]
    started = [0]
    left = [0, -1]  # waiters yet to wake, round signalled
    woke = [0] * width

    def waiter(k: int) -> None:
        started[0] += 1
        count = 0
        for r in range(rounds):
            if events[r].wait() and left[1] == r:
                count += 1
            left[0] -= 1
            if not left[0]:
                done[r].set()
        woke[k] = count

    tasks = [spawn(waiter, k) for k in range(width)]
    _settle(started, width)
    t0 = perf_counter_ns()
    for r in range(rounds):
        left[0], left[1] = width, r
        events[r].set()
        done[r].wait()
    ns = perf_counter_ns() - t0
    error = _join(tasks)
    return Outcome(ns, rounds * width, error or _spec.check_counts(woke, rounds, "wake-ups"))


def asyncresult_pingpong(n: int) -> Outcome:
    first: AsyncResult = AsyncResult()
    got: list[int] = []

    def client() -> None:
        cur = first
        for i in range(n):
            back: AsyncResult = AsyncResult()
            cur.set((i, back))
            cur = back.get()

    def server() -> None:
        cur = first
        append = got.append
        for _ in range(n):
            i, back = cur.get()
            append(i)
            nxt: AsyncResult = AsyncResult()
            back.set(nxt)
            cur = nxt

    tasks = [spawn(server), spawn(client)]
    t0 = perf_counter_ns()
    error = _join(tasks)
    ns = perf_counter_ns() - t0
    return Outcome(ns, n, error or _spec.check_sequence(got, n))


def _probe(lock: Any, expect: bool) -> str | None:
    """Try ``lock`` without blocking from another greenlet; it must succeed iff ``expect``."""
    got: list[bool] = []

    def probe() -> None:
        ok = lock.acquire(blocking=False)
        if ok:
            lock.release()
        got.append(ok)

    spawn(probe).join()
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
    return _uncontended(Semaphore(1), n)


def lock_uncontended_lock(n: int) -> Outcome:
    return _uncontended(Lock(), n)


def lock_uncontended_rlock(n: int) -> Outcome:
    return _uncontended(RLock(), n)


def semaphore_contended(n: int) -> Outcome:
    workers, value = _spec.SEM_WORKERS, _spec.SEM_VALUE
    per = max(1, n // workers)
    sem = Semaphore(value)
    holders = [0, 0]  # now, peak
    cycles = [0] * workers

    def worker(k: int) -> None:
        acquire, release = sem.acquire, sem.release
        for _ in range(per):
            acquire()
            now = holders[0] + 1
            holders[0] = now
            if now > holders[1]:
                holders[1] = now
            sleep(0)
            holders[0] -= 1
            release()
        cycles[k] = per

    tasks = [spawn(worker, k) for k in range(workers)]
    t0 = perf_counter_ns()
    error = _join(tasks)
    ns = perf_counter_ns() - t0
    return Outcome(
        ns,
        per * workers,
        _spec.first_error(
            error,
            _spec.check_counts(cycles, per, "cycles"),
            _spec.check_bound(holders[1], value, "holders", 1),
        ),
    )


def queue_pingpong(n: int) -> Outcome:
    there: Queue = Queue()
    back: Queue = Queue()
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

    tasks = [spawn(server), spawn(client)]
    t0 = perf_counter_ns()
    error = _join(tasks)
    ns = perf_counter_ns() - t0
    return Outcome(ns, n, error or _spec.check_sequence(got, n))


def queue_throughput(n: int) -> Outcome:
    bound = _spec.QUEUE_BOUND
    q: Queue = Queue(bound)
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

    tasks = [spawn(consumer), spawn(producer)]
    t0 = perf_counter_ns()
    error = _join(tasks)
    ns = perf_counter_ns() - t0
    return Outcome(
        ns,
        n,
        _spec.first_error(
            error, _spec.check_sequence(got, n), _spec.check_bound(peak[0], bound, "queue size")
        ),
    )


def queue_unbounded_bulk(n: int) -> Outcome:
    q: Queue = Queue()
    put, get = q.put_nowait, q.get_nowait
    t0 = perf_counter_ns()
    for i in range(n):
        put(i)
    got = [get() for _ in range(n)]
    ns = perf_counter_ns() - t0
    return Outcome(ns, n, _spec.check_sequence(got, n))


def joinable_queue(n: int) -> Outcome:
    q: JoinableQueue = JoinableQueue()
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

    tasks = [spawn(consumer), spawn(producer)]
    t0 = perf_counter_ns()
    error = _join(tasks)
    ns = perf_counter_ns() - t0
    early = None if joined[0] == n else f"join() returned after {joined[0]} of {n} items"
    return Outcome(ns, n, _spec.first_error(error, _spec.check_sequence(got, n), early))


def _timeout_fires() -> str | None:
    """Check that a short Timeout does fire (a Timeout that never fires would look fast)."""
    try:
        with Timeout(_spec.SHORT_TIMEOUT):
            sleep(1.0)
    except Timeout:
        return None
    return "a 1 ms Timeout around sleep(1) did not fire"


def timeout_cancel(n: int) -> Outcome:
    get_hub()
    seconds = _spec.LONG_TIMEOUT
    t0 = perf_counter_ns()
    for _ in range(n):
        with Timeout(seconds):
            pass
    ns = perf_counter_ns() - t0
    return Outcome(ns, n, _timeout_fires())


def timeout_fire(n: int) -> Outcome:
    width = _spec.TIMEOUT_WAITERS
    rounds = max(1, n // width)
    seconds = _spec.SHORT_TIMEOUT
    ev = Event()
    expired = [0] * width
    spent = [0] * width

    def waiter(k: int) -> None:
        wait = ev.wait
        count = 0
        begin = perf_counter_ns()
        for _ in range(rounds):
            if not wait(timeout=seconds):
                count += 1
        expired[k] = count
        spent[k] = perf_counter_ns() - begin

    tasks = [spawn(waiter, k) for k in range(width)]
    t0 = perf_counter_ns()
    error = _join(tasks)
    ns = perf_counter_ns() - t0
    return Outcome(
        ns,
        rounds * width,
        _spec.first_error(
            error,
            _spec.check_counts(expired, rounds, "expiries"),
            _spec.check_waited(min(spent), rounds, seconds),
        ),
    )


def wait_with_timeout_notified(n: int) -> Outcome:
    ping, pong = Event(), Event()
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

    tasks = [spawn(server), spawn(client)]
    t0 = perf_counter_ns()
    error = _join(tasks)
    ns = perf_counter_ns() - t0
    return Outcome(ns, n, error or _spec.check_counts(woke, n, "notified waits"))


WORKLOADS: dict[str, Run] = {
    "sleep0": sleep0,
    "event_fanout": event_fanout,
    "asyncresult_pingpong": asyncresult_pingpong,
    "lock_uncontended_semaphore": lock_uncontended_semaphore,
    "lock_uncontended_lock": lock_uncontended_lock,
    "lock_uncontended_rlock": lock_uncontended_rlock,
    "semaphore_contended": semaphore_contended,
    "queue_pingpong": queue_pingpong,
    "queue_throughput": queue_throughput,
    "queue_unbounded_bulk": queue_unbounded_bulk,
    "joinable_queue": joinable_queue,
    "timeout_cancel": timeout_cancel,
    "timeout_fire": timeout_fire,
    "wait_with_timeout_notified": wait_with_timeout_notified,
}

FACTORIES: dict[str, Any] = {
    "Event": Event,
    "AsyncResult": AsyncResult,
    "Semaphore": Semaphore,
    "Lock": Lock,
    "RLock": RLock,
    "Queue": Queue,
}


def parked_waiters(n: int, on_event: bool) -> tuple[int, str | None]:
    """Park ``n`` greenlets (on one Event, or bare on the hub); return the traced bytes used."""
    ev = Event()
    hub = get_hub()
    started = [0]
    woke = [0]

    def bare() -> None:
        started[0] += 1
        hub.switch()

    def waiter() -> None:
        started[0] += 1
        if ev.wait():
            woke[0] += 1

    before = _spec.traced()
    tasks = [spawn(waiter if on_event else bare) for _ in range(n)]
    _settle(started, n)
    used = _spec.traced() - before
    if not on_event:
        return used, None
    ev.set()
    error = _join(tasks)
    return used, error or (None if woke[0] == n else f"{woke[0]} of {n} parked waiters woke")
