"""The workloads on asyncio: the async equivalent of each, on the default event loop.

Each workload runs in a fresh loop (``asyncio.run``) and times itself inside it.  An
AsyncResult is a Future; a timed wait is ``async with asyncio.timeout(...)`` (Python 3.11+), the
cheapest way asyncio has to bound an await.  asyncio has no RLock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from time import perf_counter_ns
from typing import Any

from benchmarks import _spec, _workloads
from benchmarks._spec import Outcome, Run


def _run(make: Coroutine[Any, Any, Outcome]) -> Outcome:
    return asyncio.run(make)


async def _join(tasks: list[asyncio.Task[None]]) -> str | None:
    """Wait for every task; return the first worker's exception as an error, if any."""
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            return f"a worker raised {result!r}"
    return None


async def _timed(*coros: Coroutine[Any, Any, None]) -> tuple[int, str | None]:
    """Make a task of each coroutine, then time until all have finished."""
    tasks = [asyncio.create_task(coro) for coro in coros]
    t0 = perf_counter_ns()
    error = await _join(tasks)
    ns = perf_counter_ns() - t0
    return ns, error


async def _settle(started: list[int], target: int) -> None:
    """Yield until ``started[0]`` reaches ``target``: every task has started and parked."""
    for _ in range(100_000):
        if started[0] >= target:
            return
        await asyncio.sleep(0)
    raise RuntimeError(_spec.settle_limit_error(started[0], target))


async def _sleep0(n: int) -> Outcome:
    rounds = max(1, n // 2)
    trace: list[int] = []
    nap = asyncio.sleep

    async def worker(k: int) -> None:
        append = trace.append
        for _ in range(rounds):
            append(k)
            await nap(0)

    ns, error = await _timed(worker(0), worker(1))
    return Outcome(ns, 2 * rounds, error or _spec.check_alternating(trace, rounds))


def sleep0(n: int) -> Outcome:
    return _run(_sleep0(n))


async def _event_fanout(n: int) -> Outcome:
    width = _spec.FANOUT
    rounds = max(1, n // width)
    events = [asyncio.Event() for _ in range(rounds)]
    done = [asyncio.Event() for _ in range(rounds)]
    started = [0]
    left = [0, -1]  # waiters yet to wake, round signalled
    woke = [0] * width

    async def waiter(k: int) -> None:
        started[0] += 1
        count = 0
        for r in range(rounds):
            if await events[r].wait() and left[1] == r:
                count += 1
            left[0] -= 1
            if not left[0]:
                done[r].set()
        woke[k] = count

    tasks = [asyncio.create_task(waiter(k)) for k in range(width)]
    await _settle(started, width)
    t0 = perf_counter_ns()
    for r in range(rounds):
        left[0], left[1] = width, r
        events[r].set()
        await done[r].wait()
    ns = perf_counter_ns() - t0
    error = await _join(tasks)
    return Outcome(ns, rounds * width, error or _spec.check_counts(woke, rounds, "wake-ups"))


def event_fanout(n: int) -> Outcome:
    return _run(_event_fanout(n))


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

    ns, error = await _timed(server(), client())
    return Outcome(ns, n, error or _spec.check_sequence(got, n))


def asyncresult_pingpong(n: int) -> Outcome:
    return _run(_asyncresult_pingpong(n))


async def _uncontended(lock: asyncio.Semaphore | asyncio.Lock, n: int) -> Outcome:
    async with lock:
        error = None if lock.locked() else "lock not locked inside `async with`"
    t0 = perf_counter_ns()
    for _ in range(n):
        async with lock:
            pass
    ns = perf_counter_ns() - t0
    after = "lock still locked after the loop" if lock.locked() else None
    return Outcome(ns, n, error or after)


def lock_uncontended_semaphore(n: int) -> Outcome:
    return _run(_uncontended(asyncio.Semaphore(1), n))


def lock_uncontended_lock(n: int) -> Outcome:
    return _run(_uncontended(asyncio.Lock(), n))


async def _semaphore_contended(n: int) -> Outcome:
    workers = _spec.SEM_WORKERS
    per = max(1, n // workers)
    sem = asyncio.Semaphore(_spec.SEM_VALUE)
    holders = [0, 0]
    cycles = [0] * workers
    nap = asyncio.sleep

    async def worker(k: int) -> None:
        acquire, release = sem.acquire, sem.release
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

    ns, error = await _timed(*[worker(k) for k in range(workers)])
    return Outcome(ns, per * workers, error or _spec.check_semaphore(cycles, per, holders[1]))


def semaphore_contended(n: int) -> Outcome:
    return _run(_semaphore_contended(n))


async def _queue_pingpong(n: int) -> Outcome:
    there: asyncio.Queue[int] = asyncio.Queue()
    back: asyncio.Queue[int] = asyncio.Queue()
    got: list[int] = []

    async def client() -> None:
        put, get, append = there.put, back.get, got.append
        for i in range(n):
            await put(i)
            append(await get())

    async def server() -> None:
        get, put = there.get, back.put
        for _ in range(n):
            await put(await get())

    ns, error = await _timed(server(), client())
    return Outcome(ns, n, error or _spec.check_sequence(got, n))


def queue_pingpong(n: int) -> Outcome:
    return _run(_queue_pingpong(n))


async def _queue_throughput(n: int) -> Outcome:
    bound = _spec.QUEUE_BOUND
    q: asyncio.Queue[int] = asyncio.Queue(bound)
    got: list[int] = []
    peak = [0]

    async def producer() -> None:
        put, qsize = q.put, q.qsize
        high = 0
        for i in range(n):
            await put(i)
            size = qsize()
            if size > high:
                high = size
        peak[0] = high

    async def consumer() -> None:
        get, append = q.get, got.append
        for _ in range(n):
            append(await get())

    ns, error = await _timed(consumer(), producer())
    return Outcome(ns, n, error or _spec.check_bounded_queue(got, n, peak[0]))


def queue_throughput(n: int) -> Outcome:
    return _run(_queue_throughput(n))


def queue_unbounded_bulk(n: int) -> Outcome:
    q: asyncio.Queue[int] = asyncio.Queue()
    return _workloads.queue_unbounded_bulk(n, q.put_nowait, q.get_nowait)


async def _joinable_queue(n: int) -> Outcome:
    q: asyncio.Queue[int] = asyncio.Queue()
    got: list[int] = []
    joined = [-1]

    async def consumer() -> None:
        get, done, append = q.get, q.task_done, got.append
        for _ in range(n):
            append(await get())
            done()

    async def producer() -> None:
        put = q.put
        for i in range(n):
            await put(i)
        await q.join()
        joined[0] = len(got)

    ns, error = await _timed(consumer(), producer())
    return Outcome(ns, n, error or _spec.check_joined(got, n, joined[0]))


def joinable_queue(n: int) -> Outcome:
    return _run(_joinable_queue(n))


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
    return _run(_timeout_cancel(n))


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

    ns, error = await _timed(*[waiter(k) for k in range(width)])
    return Outcome(ns, rounds * width, error or _spec.check_expired(expired, spent, rounds))


def timeout_fire(n: int) -> Outcome:
    return _run(_timeout_fire(n))


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

    ns, error = await _timed(server(), client())
    return Outcome(ns, n, error or _spec.check_counts(woke, n, "notified waits"))


def wait_with_timeout_notified(n: int) -> Outcome:
    return _run(_wait_with_timeout_notified(n))


WORKLOADS: dict[str, Run] = _spec.collect("asyncio", globals())

_loop = asyncio.new_event_loop()

FACTORIES: dict[str, Any] = {
    "Event": asyncio.Event,
    "AsyncResult": _loop.create_future,
    "Semaphore": asyncio.Semaphore,
    "Lock": asyncio.Lock,
    "Queue": asyncio.Queue,
}


async def _parked_waiters(n: int, on_event: bool) -> tuple[int, str | None]:
    ev = asyncio.Event()
    bare: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    started = [0]
    woke = [0]

    async def parked() -> None:
        started[0] += 1
        await bare

    async def waiter() -> None:
        started[0] += 1
        if await ev.wait():
            woke[0] += 1

    before = _spec.traced()
    tasks = [asyncio.create_task(waiter() if on_event else parked()) for _ in range(n)]
    await _settle(started, n)
    used = _spec.traced() - before
    if not on_event:
        bare.set_result(None)
        await _join(tasks)
        return used, None
    ev.set()
    error = await _join(tasks)
    return used, error or _spec.check_woke(woke[0], n)


def parked_waiters(n: int, on_event: bool) -> tuple[int, str | None]:
    """Park ``n`` tasks (on one Event, or on one shared Future); return the traced bytes used."""
    return asyncio.run(_parked_waiters(n, on_event))
