"""The workloads on eventlet.

The workloads are written once for every greenlet library (:mod:`benchmarks._greenlets`); this
module names eventlet's primitives for them, and adapts the ones whose names differ.  eventlet's
one-shot ``Event`` stands in for both Event and AsyncResult: ``send``/``wait``/``reset`` instead
of ``set``/``wait``/``clear``, and a ``wait`` that times out returns None.  The adapters are
subclasses that only rename (``set`` sends True, so a woken ``wait`` returns a true value), so
the workloads call eventlet's own methods.  Its RLock is ``eventlet.green.threading.RLock``, the
one a monkey-patched ``threading`` provides; its ``Queue`` is joinable; a failed greenthread
raises from ``wait()``; a timeout raises ``eventlet.Timeout``.
"""

from __future__ import annotations

from functools import partialmethod
from typing import Any

import eventlet
import eventlet.green.threading
import eventlet.greenthread
import eventlet.hubs
import eventlet.lock
import eventlet.queue
import eventlet.semaphore
import eventlet.timeout
from eventlet.event import Event

from benchmarks._greenlets import Library, factories, parked_probe, workloads
from benchmarks._spec import ParkProbe, Run


class _Event(Event):  # type: ignore[misc]  # eventlet ships no types
    """eventlet's Event as the workloads' Event: ``set()`` is ``send(True)``, ``clear()``
    is ``reset()``; ``wait(timeout)`` returns True once sent, None when it times out."""

    set = partialmethod(Event.send, True)
    clear = Event.reset


class _AsyncResult(Event):  # type: ignore[misc]  # eventlet ships no types
    """eventlet's Event as the workloads' AsyncResult: ``set(value)`` is ``send``, ``get()``
    is ``wait``."""

    set = Event.send
    get = Event.wait


def _join(tasks: list[eventlet.greenthread.GreenThread]) -> str | None:
    """Wait for every task; return the first worker's exception as an error, if any."""
    error = None
    for task in tasks:
        try:
            task.wait()
        except Exception as exc:  # noqa: BLE001 - a failed worker is a failed check
            error = error or f"a worker raised {exc!r}"
    return error


LIBRARY = Library(
    name="eventlet",
    spawn=eventlet.spawn,
    sleep=eventlet.sleep,
    join=_join,
    wait=eventlet.greenthread.GreenThread.wait,
    get_hub=eventlet.hubs.get_hub,
    Event=_Event,
    AsyncResult=_AsyncResult,
    Semaphore=eventlet.semaphore.Semaphore,
    Lock=eventlet.lock.Lock,
    RLock=eventlet.green.threading.RLock,
    Queue=eventlet.queue.Queue,
    JoinableQueue=eventlet.queue.Queue,  # eventlet's Queue has task_done() and join()
    Timeout=eventlet.timeout.Timeout,
)

WORKLOADS: dict[str, Run] = workloads(LIBRARY)
#: Memory is measured on eventlet's own Event, for both Event and AsyncResult.
FACTORIES: dict[str, Any] = {**factories(LIBRARY), "Event": Event, "AsyncResult": Event}
parked_waiters: ParkProbe = parked_probe(LIBRARY)
