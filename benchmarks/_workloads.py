"""The workloads written once, for every backend whose workers are plain functions.

greensync, gevent and eventlet (through :mod:`benchmarks._greenlets`), the floor and
``threading`` run these bodies as they are.  A backend passes in its primitives (a class, or a
factory bound to its hub) and a :class:`Workers` that starts the workers and then runs them to
the end, timed.  Only the workload is timed; its checks (:mod:`benchmarks._spec`) run after.

A body calls every primitive by one set of names:

* Event: ``set()``, ``clear()``, ``wait(timeout=None)`` -- true unless the wait timed out;
* AsyncResult: ``set(value)``, ``get()``;
* Queue: ``put``, ``get``, ``qsize``; the joinable queue adds ``task_done`` and ``join``;
* locks: ``with lock:`` and ``acquire(blocking=False)`` / ``release()``.

A library whose names differ adapts them in its own module, by subclasses that rename methods
(``bench_eventlet``, ``bench_threading``), so a hot loop calls the library's own methods; the
one adapter that is a call of its own is eventlet's ``set()``, a ``partial`` of ``send(True)``.
Loop-invariant bound methods are hoisted into locals the same way for every backend.  asyncio's
workloads await, so they are written apart, in ``bench_asyncio``.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter_ns
from typing import Any, Protocol

from benchmarks import _spec
from benchmarks._spec import Outcome


class Workers(Protocol):
    """The workers of one run: started first, then run to the end with the clock on."""

    def spawn(self, fn: Callable[..., None], /, *args: Any) -> object:
        """Start ``fn(*args)``: it runs once :meth:`finish` is called, not before."""

    def finish(self) -> tuple[int, str | None]:
        """Run every started worker to its end; return the ns that took and the first error."""


#: Runs a function to its end on another worker (another greenlet, another thread).
Elsewhere = Callable[[Callable[[], None]], None]
#: A shared workload body: ``body(n, make, workers)``, ``make`` making its primitive.
Body = Callable[[int, Any, Workers], Outcome]


def timed(workers: Workers, *fns: Callable[[], None]) -> tuple[int, str | None]:
    """Start each of ``fns`` on ``workers``, in order, then :meth:`~Workers.finish` them."""
    for fn in fns:
        workers.spawn(fn)
    return workers.finish()


def asyncresult_pingpong(n: int, make: Callable[[], Any], workers: Workers) -> Outcome:
    """Producer and consumer exchange fresh results from ``make()``; each carries the next."""
    first = make()
    got: list[int] = []

    def client() -> None:
        cur = first
        for i in range(n):
            back = make()
            cur.set((i, back))
            cur = back.get()

    def server() -> None:
        cur = first
        append = got.append
        for _ in range(n):
            i, back = cur.get()
            append(i)
            nxt = make()
            back.set(nxt)
            cur = nxt

    ns, error = timed(workers, server, client)
    return Outcome(ns, n, error or _spec.check_sequence(got, n))


def _probe(lock: Any, expect: bool, elsewhere: Elsewhere) -> str | None:
    """Try ``lock`` without blocking from another worker; it must succeed iff ``expect``."""
    got: list[bool] = []

    def probe() -> None:
        ok = lock.acquire(blocking=False)
        if ok:
            lock.release()
        got.append(ok)

    elsewhere(probe)
    if got != [expect]:
        state = "free" if expect else "held"
        return f"lock should be {state}, but a non-blocking acquire elsewhere gave {got}"
    return None


def uncontended(n: int, lock: Any, elsewhere: Elsewhere) -> Outcome:
    """``n`` uncontended ``with lock:``; held inside (another worker cannot take it), free after."""
    with lock:
        error = _probe(lock, False, elsewhere)
    t0 = perf_counter_ns()
    for _ in range(n):
        with lock:
            pass
    ns = perf_counter_ns() - t0
    return Outcome(ns, n, error or _probe(lock, True, elsewhere))


def queue_pingpong(n: int, make: Callable[[], Any], workers: Workers) -> Outcome:
    """Two workers bounce an item through two unbounded queues from ``make()``."""
    there, back = make(), make()
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

    ns, error = timed(workers, server, client)
    return Outcome(ns, n, error or _spec.check_sequence(got, n))


def queue_throughput(n: int, make: Callable[[int], Any], workers: Workers) -> Outcome:
    """Producer to consumer through ``make(QUEUE_BOUND)``, a bounded queue."""
    q = make(_spec.QUEUE_BOUND)
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

    ns, error = timed(workers, consumer, producer)
    return Outcome(ns, n, error or _spec.check_bounded_queue(got, n, peak[0]))


def queue_unbounded_bulk(n: int, put: Callable[[int], object], get: Callable[[], int]) -> Outcome:
    """``put`` n items without blocking, then ``get`` them back (every backend runs this one)."""
    t0 = perf_counter_ns()
    for i in range(n):
        put(i)
    got = [get() for _ in range(n)]
    ns = perf_counter_ns() - t0
    return Outcome(ns, n, _spec.check_sequence(got, n))


def joinable_queue(n: int, make: Callable[[], Any], workers: Workers) -> Outcome:
    """The producer puts, the consumer gets and calls ``task_done``, the producer joins."""
    q = make()
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

    ns, error = timed(workers, consumer, producer)
    return Outcome(ns, n, error or _spec.check_joined(got, n, joined[0]))


def timeout_fire(n: int, make: Callable[[], Any], workers: Workers) -> Outcome:
    """TIMEOUT_WAITERS workers each wait, over and over, on an Event from ``make()`` that is
    never set: every wait's timeout expires."""
    width = _spec.TIMEOUT_WAITERS
    rounds = max(1, n // width)
    seconds = _spec.SHORT_TIMEOUT
    ev = make()
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

    for k in range(width):
        workers.spawn(waiter, k)
    ns, error = workers.finish()
    return Outcome(ns, rounds * width, error or _spec.check_expired(expired, spent, rounds))


def wait_with_timeout_notified(n: int, make: Callable[[], Any], workers: Workers) -> Outcome:
    """Two workers wake each other through two Events from ``make()``, each wait timed."""
    ping, pong = make(), make()
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

    ns, error = timed(workers, server, client)
    return Outcome(ns, n, error or _spec.check_counts(woke, n, "notified waits"))
