"""The workloads on greensync, the library under test: its greenlet face, on any hub.

The workloads are written once for every greenlet library (:mod:`benchmarks._greenlets`,
:mod:`benchmarks._workloads`); this module names greensync's primitives for them:
``greensync.hub`` (spawn, sleep, joinall), ``greensync.event``, ``.lock``, ``.queue`` and
``.timeout``, every name as the workloads call it.  The same module serves the built-in hub and
every adapter: the measuring process calls ``greensync.hub.use(...)`` before importing it, so
``greensync@gevent`` runs this very code on gevent's hub.

``cross_thread_pingpong`` is greensync's own: a greenlet in this thread and an asyncio task on
a loop in another share two greensync queues, the task through the asyncio face (``await
q.async_get()`` / ``await q.async_put(item)``).
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

import greensync.event
import greensync.hub
import greensync.lock
import greensync.queue
import greensync.timeout
from benchmarks import _crossthread
from benchmarks._greenlets import Library, factories, join_checking, parked_probe, workloads
from benchmarks._spec import Outcome, ParkProbe, Run

LIBRARY = Library(
    name="greensync",
    spawn=greensync.hub.spawn,
    sleep=greensync.hub.sleep,
    join=join_checking(greensync.hub.joinall),
    wait=greensync.hub.Task.join,
    get_hub=greensync.hub.get_hub,
    Event=greensync.event.Event,
    AsyncResult=greensync.event.AsyncResult,
    Semaphore=greensync.lock.Semaphore,
    Lock=greensync.lock.Lock,
    RLock=greensync.lock.RLock,
    Queue=greensync.queue.Queue,
    JoinableQueue=greensync.queue.JoinableQueue,
    Timeout=greensync.timeout.Timeout,
)

BRIDGE = _crossthread.Bridge(
    make=greensync.queue.Queue,
    sync_put=attrgetter("put"),
    sync_get=attrgetter("get"),
    async_put=attrgetter("async_put"),
    async_get=attrgetter("async_get"),
    put_nowait=attrgetter("put_nowait"),
)


def _in_a_greenlet(fn: Any) -> str | None:
    """Run ``fn()`` in a greenlet of this thread's hub; return the error it raised, if any."""
    return LIBRARY.join([LIBRARY.spawn(fn)])


def cross_thread_pingpong(n: int) -> Outcome:
    return _crossthread.pingpong(n, BRIDGE, _in_a_greenlet)


WORKLOADS: dict[str, Run] = workloads(LIBRARY, cross_thread_pingpong=cross_thread_pingpong)
FACTORIES: dict[str, Any] = factories(LIBRARY)
parked_waiters: ParkProbe = parked_probe(LIBRARY)
