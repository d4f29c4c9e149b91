"""Greenlet code under a live asyncio loop, talking to coroutines through greensync.

``run_greenlet`` starts blocking-style greenlet code from a coroutine; the greenlet parks on
greensync primitives and the asyncio loop resumes it.  ``wait_ready`` lets a coroutine await a
greensync object that a greenlet sets.
"""

from __future__ import annotations

import asyncio

from greensync.event import AsyncResult
from greensync.hub import sleep
from greensync.hub.aio import run_greenlet, wait_ready


def blocking_style(result: AsyncResult[int]) -> str:
    total = 0
    for n in range(1, 4):
        sleep(0.005)  # parks the greenlet; the asyncio loop keeps running
        total += n
        print(f"  greenlet: step {n}, total {total}")
    result.set(total)
    return "greenlet finished"


async def main() -> None:
    result: AsyncResult[int] = AsyncResult()
    greenlet_done = asyncio.ensure_future(run_greenlet(blocking_style, result))
    print("coroutine: awaiting the AsyncResult the greenlet will set")
    await wait_ready(result)
    print(f"coroutine: the greenlet computed {result.get()}")
    print(f"coroutine: {await greenlet_done}")


if __name__ == "__main__":
    asyncio.run(main())
