"""The cross-thread workload, written once: blocking code in one OS thread, a task in another.

``cross_thread_pingpong``: the measuring process's main thread runs the client -- a greenlet
on greensync's hub, or the plain thread itself for janus and culsans, whose synchronous side
blocks the thread -- and a second OS thread runs an asyncio loop with one task, the server.
The client puts ``i`` into one queue and waits for it to come back through the other; the
server awaits each item and puts it back.  A :class:`Bridge` names, for one library, how each
side reaches a queue.  Only the client's loop is timed; the loop thread is started, and both
queues made inside its running loop (janus binds a queue to the loop that first uses it), before
the clock starts.

If the server fails (a missing method, an exception), it puts :data:`STOP` into the client's
queue without blocking, so the client ends at once and the run is reported invalid with the
server's error, not as a hang; the client does the same for the server.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Any

from benchmarks import _spec
from benchmarks._spec import Outcome

#: Passed instead of an item when one side failed: the other side stops at once.
STOP: Any = object()
#: Seconds to wait for the loop thread to start, and then to end.
THREAD_TIMEOUT = 30.0


@dataclass(frozen=True)
class Bridge:
    """How each side of one library reaches a queue (each a getter of a bound method)."""

    #: Makes one unbounded queue; called in the loop thread, inside its running loop.
    make: Callable[[], Any]
    #: The blocking put and get of the client's side.
    sync_put: Callable[[Any], Callable[[Any], object]]
    sync_get: Callable[[Any], Callable[[], Any]]
    #: The awaitable put and get of the server's side.
    async_put: Callable[[Any], Callable[[Any], Awaitable[object]]]
    async_get: Callable[[Any], Callable[[], Awaitable[Any]]]
    #: A put that never blocks, callable from either thread (to pass :data:`STOP`).
    put_nowait: Callable[[Any], Callable[[Any], object]]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def pingpong(
    n: int, bridge: Bridge, run_client: Callable[[Callable[[], None]], str | None]
) -> Outcome:
    """``n`` round trips between the client (run by ``run_client``) and a task in another thread.

    ``run_client(fn)`` runs ``fn()`` to its end in this thread and returns the error it raised,
    if any (a greenlet library spawns and joins it; a plain thread calls it).
    """
    ready = threading.Event()
    shared: dict[str, Any] = {}

    async def serve() -> None:
        there, back = bridge.make(), bridge.make()
        shared["queues"] = there, back
        try:
            get, put = bridge.async_get(there), bridge.async_put(back)
            ready.set()
            for _ in range(n):
                item = await get()
                if item is STOP:
                    return
                await put(item)
        except Exception as exc:  # noqa: BLE001 - reported as the run's error
            shared["server_error"] = exc
            bridge.put_nowait(back)(STOP)

    def loop_thread() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # noqa: BLE001 - reported as the run's error
            shared.setdefault("server_error", exc)
        finally:
            ready.set()

    thread = threading.Thread(target=loop_thread, name="bench-loop", daemon=True)
    thread.start()
    if not ready.wait(THREAD_TIMEOUT) or "queues" not in shared:
        error = shared.get("server_error")
        why = _describe(error) if error is not None else f"not ready in {THREAD_TIMEOUT:g} s"
        return Outcome(0, 0, f"the loop thread failed to start: {why}")
    there, back = shared["queues"]
    got: list[int] = []
    elapsed = [0]

    def client() -> None:
        put, get, append = bridge.sync_put(there), bridge.sync_get(back), got.append
        t0 = perf_counter_ns()
        for i in range(n):
            put(i)
            item = get()
            if item is STOP:
                break
            append(item)
        elapsed[0] = perf_counter_ns() - t0

    client_error = run_client(client)
    if client_error is not None:
        bridge.put_nowait(there)(STOP)
    thread.join(THREAD_TIMEOUT)
    server_error = shared.get("server_error")
    return Outcome(
        elapsed[0],
        n,
        _spec.first_error(
            client_error,
            None if server_error is None else f"the task raised {_describe(server_error)}",
            "the loop thread did not end" if thread.is_alive() else None,
            _spec.check_sequence(got, n),
        ),
    )


def in_this_thread(fn: Callable[[], None]) -> str | None:
    """Run ``fn()`` in this thread (the client is the plain thread); return its error."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - a failed client is a failed check
        return f"the client raised {_describe(exc)}"
    return None
