"""The workloads on greensync, the library under test.

The workloads are written once for every greenlet library (:mod:`benchmarks._greenlets`,
:mod:`benchmarks._workloads`); this module names greensync's primitives for them:
``greensync.hub`` (spawn, sleep, joinall), ``greensync.event``, ``.lock``, ``.queue`` and
``.timeout``, every name as the workloads call it.
"""

from __future__ import annotations

from typing import Any

import greensync.event
import greensync.hub
import greensync.lock
import greensync.queue
import greensync.timeout
from benchmarks._greenlets import Library, factories, join_checking, parked_probe, workloads
from benchmarks._spec import ParkProbe, Run

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

WORKLOADS: dict[str, Run] = workloads(LIBRARY)
FACTORIES: dict[str, Any] = factories(LIBRARY)
parked_waiters: ParkProbe = parked_probe(LIBRARY)
