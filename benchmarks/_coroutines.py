"""The workloads written once for every backend whose workers are coroutines.

asyncio's own primitives (``bench_asyncio``) and greensync's asyncio face
(``bench_greensync_async``) run these bodies as they are, each in a fresh loop
(``asyncio.run``).  An :class:`AsyncLibrary` names one library's primitives and the names of
their awaitable methods, which differ (``q.get()`` in asyncio, ``q.async_get()`` in greensync);
every body looks those up once, outside its loops, so a hot loop calls the library's own bound
method exactly as hand-written code would.  Where the very shape of the code differs -- a
Future is awaited itself, asyncio bounds a wait with ``asyncio.timeout`` and greensync with a
``timeout=`` argument -- the workload stays in its backend module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Any

from benchmarks import _spec
from benchmarks._spec import Outcome


@dataclass(frozen=True)
class AsyncLibrary:
    """One library's primitives for coroutines, and the names of their awaitable methods."""

    #: ``set()``, ``clear()``, and the awaitable wait named :attr:`wait`.
    Event: Callable[[], Any]
    #: ``release()``, and the awaitable acquire named :attr:`acquire`; ``async with``.
    Semaphore: Callable[[int], Any]
    #: ``async with``.
    Lock: Callable[[], Any]
    #: ``Queue()`` unbounded, ``Queue(maxsize)`` bounded; ``qsize()``, :attr:`put`, :attr:`get`.
    Queue: Callable[..., Any]
    #: A queue with ``task_done()`` and the awaitable :attr:`join`.
    JoinableQueue: Callable[[], Any]
    #: Tells, from another task, whether a lock made by ``Lock()`` (or ``Semaphore(1)``) is
    #: held; awaited outside the timed region only.
    held: Callable[[Any], Awaitable[bool]]
    wait: str = "wait"
    acquire: str = "acquire"
    put: str = "put"
    get: str = "get"
    join: str = "join"


def run(coro: Coroutine[Any, Any, Outcome]) -> Outcome:
    """Run one workload in a fresh event loop."""
    return asyncio.run(coro)


async def join(tasks: list[asyncio.Task[None]]) -> str | None:
    """Wait for every task; return the first worker's exception as an error, if any."""
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            return f"a worker raised {result!r}"
    return None


async def timed(*coros: Coroutine[Any, Any, None]) -> tuple[int, str | None]:
    """Make a task of each coroutine, then time until all have finished."""
    tasks = [asyncio.create_task(coro) for coro in coros]
    t0 = perf_counter_ns()
    error = await join(tasks)
    ns = perf_counter_ns() - t0
    return ns, error


async def settle(started: list[int], target: int) -> None:
    """Yield until ``started[0]`` reaches ``target``: every task has started and parked."""
    for _ in range(100_000):
        if started[0] >= target:
            return
        await asyncio.sleep(0)
    raise RuntimeError(_spec.settle_limit_error(started[0], target))


async def event_fanout(lib: AsyncLibrary, n: int) -> Outcome:
    """FANOUT tasks wait on one Event per round; the conductor sets it and awaits them all."""
    width = _spec.FANOUT
    rounds = max(1, n // width)
    events = [lib.Event() for _ in range(rounds)]
    done = [lib.Event() for _ in range(rounds)]
    # Each round's bound wait, looked up before the clock starts (as every backend does).
    waits = [getattr(ev, lib.wait) for ev in events]
    done_waits = [getattr(ev, lib.wait) for ev in done]
    started = [0]
    left = [0, -1]  # waiters yet to wake, round signalled
    woke = [0] * width

    async def waiter(k: int) -> None:
        started[0] += 1
        count = 0
        for r in range(rounds):
            if await waits[r]() and left[1] == r:
                count += 1
            left[0] -= 1
            if not left[0]:
                done[r].set()
        woke[k] = count

    tasks = [asyncio.create_task(waiter(k)) for k in range(width)]
    await settle(started, width)
    t0 = perf_counter_ns()
    for r in range(rounds):
        left[0], left[1] = width, r
        events[r].set()
        await done_waits[r]()
    ns = perf_counter_ns() - t0
    error = await join(tasks)
    return Outcome(ns, rounds * width, error or _spec.check_counts(woke, rounds, "wake-ups"))


async def uncontended(lib: AsyncLibrary, lock: Any, n: int) -> Outcome:
    """``n`` uncontended ``async with lock:``; held inside, free after (``lib.held``)."""
    async with lock:
        error = None if await lib.held(lock) else "lock not held inside `async with`"
    t0 = perf_counter_ns()
    for _ in range(n):
        async with lock:
            pass
    ns = perf_counter_ns() - t0
    after = "lock still held after the loop" if await lib.held(lock) else None
    return Outcome(ns, n, error or after)


async def semaphore_contended(lib: AsyncLibrary, n: int) -> Outcome:
    """SEM_WORKERS tasks cycle acquire / sleep(0) / release on one Semaphore(SEM_VALUE)."""
    workers = _spec.SEM_WORKERS
    per = max(1, n // workers)
    sem = lib.Semaphore(_spec.SEM_VALUE)
    holders = [0, 0]  # now, peak
    cycles = [0] * workers
    nap = asyncio.sleep

    async def worker(k: int) -> None:
        acquire, release = getattr(sem, lib.acquire), sem.release
        for _ in range(per):
            await acquire()
            now = holders[0] + 1
            holders[0] = now
            if now > holders[1]:
                holders[1] = now
            await nap(0)
            holders[0] -= 1
            release()
        cycles[k] = per

    ns, error = await timed(*[worker(k) for k in range(workers)])
    return Outcome(ns, per * workers, error or _spec.check_semaphore(cycles, per, holders[1]))


async def queue_pingpong(lib: AsyncLibrary, n: int) -> Outcome:
    """Two tasks bounce an item through two unbounded queues."""
    there, back = lib.Queue(), lib.Queue()
    got: list[int] = []

    async def client() -> None:
        put, get, append = getattr(there, lib.put), getattr(back, lib.get), got.append
        for i in range(n):
            await put(i)
            append(await get())

    async def server() -> None:
        get, put = getattr(there, lib.get), getattr(back, lib.put)
        for _ in range(n):
            await put(await get())

    ns, error = await timed(server(), client())
    return Outcome(ns, n, error or _spec.check_sequence(got, n))


async def queue_throughput(lib: AsyncLibrary, n: int) -> Outcome:
    """Producer to consumer through a queue bounded at QUEUE_BOUND."""
    q = lib.Queue(_spec.QUEUE_BOUND)
    got: list[int] = []
    peak = [0]

    async def producer() -> None:
        put, qsize = getattr(q, lib.put), q.qsize
        high = 0
        for i in range(n):
            await put(i)
            size = qsize()
            if size > high:
                high = size
        peak[0] = high

    async def consumer() -> None:
        get, append = getattr(q, lib.get), got.append
        for _ in range(n):
            append(await get())

    ns, error = await timed(consumer(), producer())
    return Outcome(ns, n, error or _spec.check_bounded_queue(got, n, peak[0]))


async def joinable_queue(lib: AsyncLibrary, n: int) -> Outcome:
    """The producer puts, the consumer gets and calls ``task_done``, the producer joins."""
    q = lib.JoinableQueue()
    got: list[int] = []
    joined = [-1]

    async def consumer() -> None:
        get, done, append = getattr(q, lib.get), q.task_done, got.append
        for _ in range(n):
            append(await get())
            done()

    async def producer() -> None:
        put = getattr(q, lib.put)
        for i in range(n):
            await put(i)
        await getattr(q, lib.join)()
        joined[0] = len(got)

    ns, error = await timed(consumer(), producer())
    return Outcome(ns, n, error or _spec.check_joined(got, n, joined[0]))


async def parked_waiters(lib: AsyncLibrary, n: int, on_event: bool) -> tuple[int, str | None]:
    """Park ``n`` tasks (on one Event, or on one shared Future); return the traced bytes used."""
    ev = lib.Event()
    wait = getattr(ev, lib.wait)
    bare: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    started = [0]
    woke = [0]

    async def parked() -> None:
        started[0] += 1
        await bare

    async def waiter() -> None:
        started[0] += 1
        if await wait():
            woke[0] += 1

    before = _spec.traced()
    tasks = [asyncio.create_task(waiter() if on_event else parked()) for _ in range(n)]
    await settle(started, n)
    used = _spec.traced() - before
    if not on_event:
        bare.set_result(None)
        await join(tasks)
        return used, None
    ev.set()
    error = await join(tasks)
    return used, error or _spec.check_woke(woke[0], n)
