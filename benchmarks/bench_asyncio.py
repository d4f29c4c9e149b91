"""The workloads on asyncio: the async equivalent of each, on the default event loop.

Each workload runs in a fresh loop (``asyncio.run``) and times itself inside it.  Most are the
coroutine bodies of :mod:`benchmarks._coroutines`, shared with greensync's asyncio face; the
ones whose code has its own shape are here.  An AsyncResult is a Future; a timed wait is
``async with asyncio.timeout(...)`` (Python 3.11+), the cheapest way asyncio has to bound an
await.  asyncio has no RLock.
"""

from __future__ import annotations

import asyncio
from time import perf_counter_ns
from typing import Any

from benchmarks import _coroutines, _spec, _workloads
from benchmarks._coroutines import AsyncLibrary, run, timed
from benchmarks._spec import Outcome, Run


async def _held(lock: asyncio.Semaphore | asyncio.Lock) -> bool:
    return lock.locked()


LIBRARY = AsyncLibrary(
    Event=asyncio.Event,
    Semaphore=asyncio.Semaphore,
    Lock=asyncio.Lock,
    Queue=asyncio.Queue,
    JoinableQueue=asyncio.Queue,
    held=_held,
)


async def _sleep0(n: int) -> Outcome:
    rounds = max(1, n // 2)
    trace: list[int] = []
    nap = asyncio.sleep

    async def worker(k: int) -> None:
        append = trace.append
        for _ in range(rounds):
            append(k)
            await nap(0)

    ns, error = await timed(worker(0), worker(1))
    return Outcome(ns, 2 * rounds, error or _spec.check_alternating(trace, rounds))


def sleep0(n: int) -> Outcome:
    return run(_sleep0(n))


def event_fanout(n: int) -> Outcome:
    return run(_coroutines.event_fanout(LIBRARY, n))


async def _asyncresult_pingpong(n: int) -> Outcome:
    loop = asyncio.get_running_loop()
    new = loop.create_future
    first: asyncio.Future[Any] = new()
    got: list[int] = []

    async def client() -> None:
        cur = first
        for i in range(n):
            back: asyncio.Future[Any] = new()
            cur.set_result((i, back))
            cur = await back

    async def server() -> None:
        cur = first
        append = got.append
        for _ in range(n):
            i, back = await cur
            append(i)
            nxt: asyncio.Future[Any] = new()
            back.set_result(nxt)
            cur = nxt

    ns, error = await timed(server(), client())
    return Outcome(ns, n, error or _spec.check_sequence(got, n))


def asyncresult_pingpong(n: int) -> Outcome:
    return run(_asyncresult_pingpong(n))


def lock_uncontended_semaphore(n: int) -> Outcome:
    return run(_coroutines.uncontended(LIBRARY, asyncio.Semaphore(1), n))


def lock_uncontended_lock(n: int) -> Outcome:
    return run(_coroutines.uncontended(LIBRARY, asyncio.Lock(), n))


def semaphore_contended(n: int) -> Outcome:
    return run(_coroutines.semaphore_contended(LIBRARY, n))


def queue_pingpong(n: int) -> Outcome:
    return run(_coroutines.queue_pingpong(LIBRARY, n))


def queue_throughput(n: int) -> Outcome:
    return run(_coroutines.queue_throughput(LIBRARY, n))


def queue_unbounded_bulk(n: int) -> Outcome:
    q: asyncio.Queue[int] = asyncio.Queue()
    return _workloads.queue_unbounded_bulk(n, q.put_nowait, q.get_nowait)


def joinable_queue(n: int) -> Outcome:
    return run(_coroutines.joinable_queue(LIBRARY, n))


async def _timeout_fires() -> str | None:
    try:
        async with asyncio.timeout(_spec.SHORT_TIMEOUT):
            await asyncio.sleep(1.0)
    except TimeoutError:
        return None
    return "a 1 ms asyncio.timeout around sleep(1) did not fire"


async def _timeout_cancel(n: int) -> Outcome:
    seconds = _spec.LONG_TIMEOUT
    timeout = asyncio.timeout
    t0 = perf_counter_ns()
    for _ in range(n):
        async with timeout(seconds):
            pass
    ns = perf_counter_ns() - t0
    return Outcome(ns, n, await _timeout_fires())


def timeout_cancel(n: int) -> Outcome:
    return run(_timeout_cancel(n))


async def _timeout_fire(n: int) -> Outcome:
    width = _spec.TIMEOUT_WAITERS
    rounds = max(1, n // width)
    seconds = _spec.SHORT_TIMEOUT
    ev = asyncio.Event()
    expired = [0] * width
    spent = [0] * width
    timeout = asyncio.timeout

    async def waiter(k: int) -> None:
        wait = ev.wait
        count = 0
        begin = perf_counter_ns()
        for _ in range(rounds):
            try:
                async with timeout(seconds):
                    await wait()
            except TimeoutError:
                count += 1
        expired[k] = count
        spent[k] = perf_counter_ns() - begin

    ns, error = await timed(*[waiter(k) for k in range(width)])
    return Outcome(ns, rounds * width, error or _spec.check_expired(expired, spent, rounds))


def timeout_fire(n: int) -> Outcome:
    return run(_timeout_fire(n))


async def _wait_with_timeout_notified(n: int) -> Outcome:
    ping, pong = asyncio.Event(), asyncio.Event()
    seconds = _spec.LONG_TIMEOUT
    woke = [0, 0]
    turns = [0, 0]  # pings sent, pongs sent
    timeout = asyncio.timeout

    async def client() -> None:
        notify, wait, clear = ping.set, pong.wait, pong.clear
        count = 0
        for i in range(n):
            turns[0] = i + 1
            notify()
            async with timeout(seconds):
                if await wait() and turns[1] == i + 1:
                    count += 1
            clear()
        woke[0] = count

    async def server() -> None:
        wait, clear, notify = ping.wait, ping.clear, pong.set
        count = 0
        for i in range(n):
            async with timeout(seconds):
                if await wait() and turns[0] == i + 1:
                    count += 1
            clear()
            turns[1] = i + 1
            notify()
        woke[1] = count

    ns, error = await timed(server(), client())
    return Outcome(ns, n, error or _spec.check_counts(woke, n, "notified waits"))


def wait_with_timeout_notified(n: int) -> Outcome:
    return run(_wait_with_timeout_notified(n))


WORKLOADS: dict[str, Run] = _spec.collect("asyncio", globals())

_loop = asyncio.new_event_loop()

FACTORIES: dict[str, Any] = {
    "Event": asyncio.Event,
    "AsyncResult": _loop.create_future,
    "Semaphore": asyncio.Semaphore,
    "Lock": asyncio.Lock,
    "Queue": asyncio.Queue,
}


def parked_waiters(n: int, on_event: bool) -> tuple[int, str | None]:
    """Park ``n`` tasks (on one Event, or on one shared Future); return the traced bytes used."""
    return asyncio.run(_coroutines.parked_waiters(LIBRARY, n, on_event))
