"""gevent greenlets and asyncio tasks sharing one Queue and one Lock, mid-migration.

A program moving off gevent (or eventlet) toward asyncio rarely moves in one step.  Here the
old part still runs on gevent in one thread -- greenlets produce jobs and take a Lock -- while
the new part runs on an asyncio loop in another thread, with tasks consuming the same queue and
taking the same Lock.  One greensync ``Queue`` and one ``Lock`` serve both kinds of waiter in
one FIFO line: greenlets call ``put``/``with lock:``, tasks ``await q.async_get()`` and
``async with lock:``, and nobody polls.  gevent's hub is picked up by itself in its thread:
greensync sees that gevent's hub exists there and uses it (no ``use()`` call needed).
"""

from __future__ import annotations

import asyncio
import threading

import gevent

from greensync.hub import get_hub
from greensync.lock import Lock
from greensync.queue import Queue

JOBS = 6
CONSUMERS = 2


def gevent_side(jobs: Queue[int | None], lock: Lock, log: list[str]) -> None:
    """The old code: gevent greenlets producing work and sharing the lock."""

    def producer(first: int) -> None:
        for n in range(first, JOBS, 2):
            with lock:  # the same lock the asyncio tasks take
                log.append(f"gevent greenlet {first} holds the lock, puts job {n}")
            jobs.put(n)  # bounded queue: this greenlet waits while it is full
            gevent.sleep(0.001)

    producers: list[gevent.Greenlet[[int], None]] = [gevent.spawn(producer, n) for n in (0, 1)]
    gevent.joinall(producers)
    for _ in range(CONSUMERS):
        jobs.put(None)  # one "no more work" marker per consumer


async def asyncio_side(jobs: Queue[int | None], lock: Lock, log: list[str]) -> list[int]:
    """The new code: asyncio tasks consuming the same queue, taking the same lock."""
    done: list[int] = []

    async def consumer(name: str) -> None:
        while (n := await jobs.async_get()) is not None:
            async with lock:
                log.append(f"asyncio task {name} holds the lock, got job {n}")
                done.append(n)

    await asyncio.gather(*(consumer(f"c{i}") for i in range(CONSUMERS)))
    return done


def main() -> None:
    jobs: Queue[int | None] = Queue(maxsize=2)
    lock = Lock()
    log: list[str] = []
    results: list[list[int]] = []

    consumer_thread = threading.Thread(
        target=lambda: results.append(asyncio.run(asyncio_side(jobs, lock, log)))
    )
    consumer_thread.start()
    gevent.get_hub()  # this thread runs gevent: greensync uses gevent's hub here by itself
    gevent_side(jobs, lock, log)
    consumer_thread.join(timeout=30)

    for line in log:
        print(f"  {line}")
    print(f"main: greensync runs on {type(get_hub()).__name__} in the gevent thread")
    done = sorted(results[0]) if results else []
    print(f"main: every job consumed exactly once: {done == list(range(JOBS))}")
    print(f"main: nothing left waiting: queue {jobs.qsize()} items, lock locked={lock.locked()}")


if __name__ == "__main__":
    main()
