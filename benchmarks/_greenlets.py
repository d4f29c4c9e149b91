"""The workloads of a greenlet library -- greensync, gevent, eventlet -- written once.

A backend module describes its library in a :class:`Library`: its ``spawn``, ``sleep``, hub,
primitives and ``Timeout``, under the names the workloads call (an adapter in the backend's
module renames what differs).  :func:`workloads` turns that into the backend's ``WORKLOADS``;
:func:`factories` and :func:`parked_probe` give its memory probes.  The workloads that other
backends share are in :mod:`benchmarks._workloads`; the greenlet-only ones are here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from time import perf_counter_ns
from typing import Any

from benchmarks import _spec, _workloads
from benchmarks._spec import Outcome, ParkProbe, Run

#: Waits for every task of a list; returns the first worker's exception as an error, if any.
Join = Callable[[list[Any]], str | None]


@dataclass(frozen=True)
class Library:
    """One greenlet library's primitives, as the shared workloads call them."""

    #: The backend's name in :data:`benchmarks._spec.BACKENDS`.
    name: str
    #: ``spawn(fn, *args) -> task``: start ``fn(*args)`` in a new greenlet.
    spawn: Callable[..., Any]
    sleep: Callable[[float], object]
    #: Waits for every task (timed, inside most workloads).
    join: Join
    #: Waits for one task (``Task.join``, ``Greenlet.join``, ``GreenThread.wait``).
    wait: Callable[[Any], object]
    #: Returns the thread's hub (whose ``switch()`` parks the current greenlet).
    get_hub: Callable[[], Any]
    #: ``set()``, ``clear()``, ``wait(timeout=None)``: true unless the wait timed out.
    Event: Callable[[], Any]
    #: ``set(value)``, ``get()``.
    AsyncResult: Callable[[], Any]
    Semaphore: Callable[[int], Any]
    Lock: Callable[[], Any]
    RLock: Callable[[], Any]
    #: ``Queue()`` unbounded, ``Queue(maxsize)`` bounded.
    Queue: Callable[..., Any]
    #: A queue with ``task_done`` and ``join``.
    JoinableQueue: Callable[[], Any]
    #: The library's own Timeout class: a context manager that raises itself when it fires.
    Timeout: Any


def join_checking(joinall: Callable[[list[Any]], object]) -> Join:
    """Return the :data:`Join` of a library whose tasks keep their ``exception``."""

    def join(tasks: list[Any]) -> str | None:
        joinall(tasks)
        for task in tasks:
            if task.exception is not None:
                return f"a worker raised {task.exception!r}"
        return None

    return join


class Tasks:
    """The :class:`~benchmarks._workloads.Workers` of one run: greenlets, joined timed."""

    __slots__ = ("_lib", "tasks")

    def __init__(self, lib: Library) -> None:
        self._lib = lib
        self.tasks: list[Any] = []

    def spawn(self, fn: Callable[..., None], /, *args: Any) -> object:
        task = self._lib.spawn(fn, *args)
        self.tasks.append(task)
        return task

    def finish(self) -> tuple[int, str | None]:
        join, tasks = self._lib.join, self.tasks
        t0 = perf_counter_ns()
        error = join(tasks)
        ns = perf_counter_ns() - t0
        return ns, error


def settle(sleep: Callable[[float], object], started: list[int], target: int) -> None:
    """Yield until ``started[0]`` reaches ``target``: every worker has started and parked."""
    for _ in range(100_000):
        if started[0] >= target:
            return
        sleep(0)
    raise RuntimeError(_spec.settle_limit_error(started[0], target))


# -- the workloads, each ``name(lib, n)`` -----------------------------------------------------


def sleep0(lib: Library, n: int) -> Outcome:
    rounds = max(1, n // 2)
    trace: list[int] = []
    sleep = lib.sleep

    def worker(k: int) -> None:
        append = trace.append
        for _ in range(rounds):
            append(k)
            sleep(0)

    tasks = Tasks(lib)
    tasks.spawn(worker, 0)
    tasks.spawn(worker, 1)
    ns, error = tasks.finish()
    return Outcome(ns, 2 * rounds, error or _spec.check_alternating(trace, rounds))


def event_fanout(lib: Library, n: int) -> Outcome:
    width = _spec.FANOUT
    rounds = max(1, n // width)
    events = [lib.Event() for _ in range(rounds)]
    done = [lib.Event() for _ in range(rounds)]
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

    tasks = [lib.spawn(waiter, k) for k in range(width)]
    settle(lib.sleep, started, width)
    t0 = perf_counter_ns()
    for r in range(rounds):
        left[0], left[1] = width, r
        events[r].set()
        done[r].wait()
    ns = perf_counter_ns() - t0
    error = lib.join(tasks)
    return Outcome(ns, rounds * width, error or _spec.check_counts(woke, rounds, "wake-ups"))


def asyncresult_pingpong(lib: Library, n: int) -> Outcome:
    return _workloads.asyncresult_pingpong(n, lib.AsyncResult, Tasks(lib))


def _uncontended(lib: Library, lock: Any, n: int) -> Outcome:
    spawn, wait = lib.spawn, lib.wait

    def elsewhere(fn: Callable[[], None]) -> None:
        wait(spawn(fn))

    return _workloads.uncontended(n, lock, elsewhere)


def lock_uncontended_semaphore(lib: Library, n: int) -> Outcome:
    return _uncontended(lib, lib.Semaphore(1), n)


def lock_uncontended_lock(lib: Library, n: int) -> Outcome:
    return _uncontended(lib, lib.Lock(), n)


def lock_uncontended_rlock(lib: Library, n: int) -> Outcome:
    return _uncontended(lib, lib.RLock(), n)


def semaphore_contended(lib: Library, n: int) -> Outcome:
    workers = _spec.SEM_WORKERS
    per = max(1, n // workers)
    sem = lib.Semaphore(_spec.SEM_VALUE)
    holders = [0, 0]  # now, peak
    cycles = [0] * workers
    sleep = lib.sleep

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

    tasks = Tasks(lib)
    for k in range(workers):
        tasks.spawn(worker, k)
    ns, error = tasks.finish()
    return Outcome(ns, per * workers, error or _spec.check_semaphore(cycles, per, holders[1]))


def queue_pingpong(lib: Library, n: int) -> Outcome:
    return _workloads.queue_pingpong(n, lib.Queue, Tasks(lib))


def queue_throughput(lib: Library, n: int) -> Outcome:
    return _workloads.queue_throughput(n, lib.Queue, Tasks(lib))


def queue_unbounded_bulk(lib: Library, n: int) -> Outcome:
    q = lib.Queue()
    return _workloads.queue_unbounded_bulk(n, q.put_nowait, q.get_nowait)


def joinable_queue(lib: Library, n: int) -> Outcome:
    return _workloads.joinable_queue(n, lib.JoinableQueue, Tasks(lib))


def _timeout_fires(lib: Library) -> str | None:
    """Check that a short Timeout does fire (a Timeout that never fires would look fast)."""
    try:
        with lib.Timeout(_spec.SHORT_TIMEOUT):
            lib.sleep(1.0)
    except lib.Timeout:
        return None
    return "a 1 ms Timeout around sleep(1) did not fire"


def timeout_cancel(lib: Library, n: int) -> Outcome:
    lib.get_hub()
    seconds = _spec.LONG_TIMEOUT
    timeout = lib.Timeout
    t0 = perf_counter_ns()
    for _ in range(n):
        with timeout(seconds):
            pass
    ns = perf_counter_ns() - t0
    return Outcome(ns, n, _timeout_fires(lib))


def timeout_fire(lib: Library, n: int) -> Outcome:
    return _workloads.timeout_fire(n, lib.Event, Tasks(lib))


def wait_with_timeout_notified(lib: Library, n: int) -> Outcome:
    return _workloads.wait_with_timeout_notified(n, lib.Event, Tasks(lib))


def workloads(lib: Library, **own: Run) -> dict[str, Run]:
    """Return the ``WORKLOADS`` of ``lib``'s backend: every workload above, bound to ``lib``,
    and the backend's ``own`` workloads (by name) that are not written for every library."""
    found = _spec.collect(lib.name, {**globals(), **own})
    return {name: run if name in own else partial(run, lib) for name, run in found.items()}


# -- memory -----------------------------------------------------------------------------------


def factories(lib: Library) -> dict[str, Any]:
    """Return the ``FACTORIES`` of ``lib``'s backend: one constructor per instance kind."""
    return {
        "Event": lib.Event,
        "AsyncResult": lib.AsyncResult,
        "Semaphore": lib.Semaphore,
        "Lock": lib.Lock,
        "RLock": lib.RLock,
        "Queue": lib.Queue,
    }


def parked_waiters(lib: Library, n: int, on_event: bool) -> tuple[int, str | None]:
    """Park ``n`` greenlets (on one Event, or bare on the hub); return the traced bytes used."""
    ev = lib.Event()
    hub = lib.get_hub()
    started = [0]
    woke = [0]

    def bare() -> None:
        started[0] += 1
        hub.switch()

    def waiter() -> None:
        started[0] += 1
        if ev.wait():
            woke[0] += 1

    spawn = lib.spawn
    before = _spec.traced()
    tasks = [spawn(waiter if on_event else bare) for _ in range(n)]
    settle(lib.sleep, started, n)
    used = _spec.traced() - before
    if not on_event:
        return used, None
    ev.set()
    error = lib.join(tasks)
    return used, error or _spec.check_woke(woke[0], n)


def parked_probe(lib: Library) -> ParkProbe:
    """Return the ``parked_waiters`` probe of ``lib``'s backend."""
    return partial(parked_waiters, lib)
