"""The workloads on gevent, with its compiled primitives as installed from the package index.

The reference of every ratio.  The workloads are written once for every greenlet library
(:mod:`benchmarks._greenlets`); this module names gevent's primitives for them.  Lock is
``gevent.thread.LockType``, what a monkey-patched ``threading.Lock`` is; a timeout raises
``gevent.Timeout``.
"""

from __future__ import annotations

from typing import Any

import gevent
import gevent.event
import gevent.lock
import gevent.queue
import gevent.thread
import gevent.timeout

from benchmarks._greenlets import Library, factories, join_checking, parked_probe, workloads
from benchmarks._spec import ParkProbe, Run

LIBRARY = Library(
    name="gevent",
    spawn=gevent.spawn,
    sleep=gevent.sleep,
    join=join_checking(gevent.joinall),
    wait=gevent.Greenlet.join,
    get_hub=gevent.get_hub,
    Event=gevent.event.Event,
    AsyncResult=gevent.event.AsyncResult,
    Semaphore=gevent.lock.Semaphore,
    Lock=gevent.thread.LockType,
    RLock=gevent.lock.RLock,
    Queue=gevent.queue.Queue,
    JoinableQueue=gevent.queue.JoinableQueue,
    Timeout=gevent.timeout.Timeout,
)

WORKLOADS: dict[str, Run] = workloads(LIBRARY)
FACTORIES: dict[str, Any] = factories(LIBRARY)
parked_waiters: ParkProbe = parked_probe(LIBRARY)
