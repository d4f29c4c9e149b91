"""The workloads on greensync's asyncio face: coroutines awaiting greensync's primitives.

What an asyncio program writes with greensync: ``await ev.async_wait()``, ``await
r.async_get()``, ``async with lock:``, ``await sem.async_acquire()``, ``await
q.async_put(item)`` / ``await q.async_get()`` / ``await q.async_join()``, a timed wait with the
``timeout=`` argument.  Each workload runs in a fresh loop (``asyncio.run``), in a process that
called ``greensync.hub.use("asyncio")`` first; the compared row is asyncio's own primitives
(``bench_asyncio``), and most bodies are the very same code (:mod:`benchmarks._coroutines`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any

import greensync.event
import greensync.lock
import greensync.queue
from benchmarks import _coroutines, _spec
from benchmarks._coroutines import AsyncLibrary, run, timed
from benchmarks._spec import Outcome, Run


async def _held(
    lock: greensync.lock.Lock | greensync.lock.RLock | greensync.lock.Semaphore,
) -> bool:
    """Whether another task fails to take ``lock`` at once (``async_acquire(timeout=0)``)."""

    async def take() -> bool:
        if await lock.async_acquire(timeout=0):
            lock.release()
            return True
        return False

    return not await asyncio.create_task(take())


LIBRARY = AsyncLibrary(
    Event=greensync.event.Event,
    Semaphore=greensync.lock.Semaphore,
    Lock=greensync.lock.Lock,
    Queue=greensync.queue.Queue,
    JoinableQueue=greensync.queue.JoinableQueue,
    held=_held,
    wait="async_wait",
    acquire="async_acquire",
    put="async_put",
    get="async_get",
    join="async_join",
)


def event_fanout(n: int) -> Outcome:
    return run(_coroutines.event_fanout(LIBRARY, n))


async def _asyncresult_pingpong(n: int) -> Outcome:
    # Each message carries the next result to wait on: typed Any, as asyncio's Futures are.
    make: Callable[[], greensync.event.AsyncResult[Any]] = greensync.event.AsyncResult
    first = make()
    got: list[int] = []

    async def client() -> None:
        cur = first
        for i in range(n):
            back = make()
            cur.set((i, back))
            cur = await back.async_get()

    async def server() -> None:
        cur = first
        append = got.append
        for _ in range(n):
            i, back = await cur.async_get()
            append(i)
            nxt = make()
            back.set(nxt)
            cur = nxt

    ns, error = await timed(server(), client())
    return Outcome(ns, n, error or _spec.check_sequence(got, n))


def asyncresult_pingpong(n: int) -> Outcome:
    return run(_asyncresult_pingpong(n))


def lock_uncontended_semaphore(n: int) -> Outcome:
    return run(_coroutines.uncontended(LIBRARY, greensync.lock.Semaphore(1), n))


def lock_uncontended_lock(n: int) -> Outcome:
    return run(_coroutines.uncontended(LIBRARY, greensync.lock.Lock(), n))


def lock_uncontended_rlock(n: int) -> Outcome:
    # Owned by the task: another task cannot take it while this one holds it.
    return run(_coroutines.uncontended(LIBRARY, greensync.lock.RLock(), n))


def semaphore_contended(n: int) -> Outcome:
    return run(_coroutines.semaphore_contended(LIBRARY, n))


def queue_pingpong(n: int) -> Outcome:
    return run(_coroutines.queue_pingpong(LIBRARY, n))


def queue_throughput(n: int) -> Outcome:
    return run(_coroutines.queue_throughput(LIBRARY, n))


def joinable_queue(n: int) -> Outcome:
    return run(_coroutines.joinable_queue(LIBRARY, n))


async def _timeout_fire(n: int) -> Outcome:
    width = _spec.TIMEOUT_WAITERS
    rounds = max(1, n // width)
    seconds = _spec.SHORT_TIMEOUT
    ev = greensync.event.Event()
    expired = [0] * width
    spent = [0] * width

    async def waiter(k: int) -> None:
        wait = ev.async_wait
        count = 0
        begin = perf_counter_ns()
        for _ in range(rounds):
            if not await wait(timeout=seconds):
                count += 1
        expired[k] = count
        spent[k] = perf_counter_ns() - begin

    ns, error = await timed(*[waiter(k) for k in range(width)])
    return Outcome(ns, rounds * width, error or _spec.check_expired(expired, spent, rounds))


def timeout_fire(n: int) -> Outcome:
    return run(_timeout_fire(n))


async def _wait_with_timeout_notified(n: int) -> Outcome:
    ping, pong = greensync.event.Event(), greensync.event.Event()
    seconds = _spec.LONG_TIMEOUT
    woke = [0, 0]
    turns = [0, 0]  # pings sent, pongs sent

    async def client() -> None:
        notify, wait, clear = ping.set, pong.async_wait, pong.clear
        count = 0
        for i in range(n):
            turns[0] = i + 1
            notify()
            if await wait(timeout=seconds) and turns[1] == i + 1:
                count += 1
            clear()
        woke[0] = count

    async def server() -> None:
        wait, clear, notify = ping.async_wait, ping.clear, pong.set
        count = 0
        for i in range(n):
            if await wait(timeout=seconds) and turns[0] == i + 1:
                count += 1
            clear()
            turns[1] = i + 1
            notify()
        woke[1] = count

    ns, error = await timed(server(), client())
    return Outcome(ns, n, error or _spec.check_counts(woke, n, "notified waits"))


def wait_with_timeout_notified(n: int) -> Outcome:
    return run(_wait_with_timeout_notified(n))


WORKLOADS: dict[str, Run] = _spec.collect("greensync-async", globals())
#: Bytes per instance are the greenlet face's (the same classes): only parked tasks here.
FACTORIES: dict[str, Any] = {}


def parked_waiters(n: int, on_event: bool) -> tuple[int, str | None]:
    """Park ``n`` tasks (on one greensync Event, or on one shared Future); return the bytes."""
    return asyncio.run(_coroutines.parked_waiters(LIBRARY, n, on_event))
