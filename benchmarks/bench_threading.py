"""The workloads that have a meaningful equivalent with OS threads (``threading``, ``queue``).

The wake-ups here are OS thread switches under the GIL, so they show what greenlets save, not a
target.  The workloads are the shared ones of :mod:`benchmarks._workloads`, each worker in its
own thread.  An AsyncResult is a ``concurrent.futures.Future``.  Workloads that would need a
thousand threads, or a way to hand the CPU to a chosen thread, are left out (see
``_spec.NOT_APPLICABLE``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from time import perf_counter_ns
from typing import Any

from benchmarks import _spec, _workloads
from benchmarks._spec import Outcome, Run


class _Threads:
    """The :class:`~benchmarks._workloads.Workers` of one run: one thread per worker.

    :meth:`finish` starts them all, releases them together, and times until all have finished.
    """

    __slots__ = ("targets",)

    def __init__(self) -> None:
        self.targets: list[tuple[Callable[..., None], tuple[Any, ...]]] = []

    def spawn(self, fn: Callable[..., None], /, *args: Any) -> object:
        self.targets.append((fn, args))
        return None

    def finish(self) -> tuple[int, str | None]:
        errors: list[BaseException] = []
        gate = threading.Barrier(len(self.targets) + 1)

        def wrap(fn: Callable[..., None], args: tuple[Any, ...]) -> Callable[[], None]:
            def body() -> None:
                gate.wait()
                try:
                    fn(*args)
                except BaseException as exc:  # noqa: BLE001 - a failed worker is a failed check
                    errors.append(exc)

            return body

        threads = [
            threading.Thread(target=wrap(fn, args), daemon=True) for fn, args in self.targets
        ]
        for thread in threads:
            thread.start()
        gate.wait()
        t0 = perf_counter_ns()
        for thread in threads:
            thread.join()
        ns = perf_counter_ns() - t0
        return ns, (f"a worker raised {errors[0]!r}" if errors else None)


class _Result(Future[Any]):
    """A Future as the workloads' AsyncResult: ``set(value)`` is ``set_result``, ``get()`` is
    ``result``."""

    set = Future.set_result
    get = Future.result


def _in_thread(fn: Callable[[], None]) -> None:
    """Run ``fn`` to its end in another thread."""
    thread = threading.Thread(target=fn)
    thread.start()
    thread.join()


def _in_threads(body: _workloads.Body, make: Callable[..., Any]) -> Run:
    """Return the shared ``body`` run on OS threads, making its primitive with ``make``."""

    def run(n: int) -> Outcome:
        return body(n, make, _Threads())

    return run


asyncresult_pingpong = _in_threads(_workloads.asyncresult_pingpong, _Result)
queue_pingpong = _in_threads(_workloads.queue_pingpong, queue.Queue)
queue_throughput = _in_threads(_workloads.queue_throughput, queue.Queue)
joinable_queue = _in_threads(_workloads.joinable_queue, queue.Queue)
wait_with_timeout_notified = _in_threads(_workloads.wait_with_timeout_notified, threading.Event)


def lock_uncontended_semaphore(n: int) -> Outcome:
    return _workloads.uncontended(n, threading.Semaphore(1), _in_thread)


def lock_uncontended_lock(n: int) -> Outcome:
    return _workloads.uncontended(n, threading.Lock(), _in_thread)


def lock_uncontended_rlock(n: int) -> Outcome:
    return _workloads.uncontended(n, threading.RLock(), _in_thread)


def queue_unbounded_bulk(n: int) -> Outcome:
    q: queue.Queue[int] = queue.Queue()
    return _workloads.queue_unbounded_bulk(n, q.put_nowait, q.get_nowait)


WORKLOADS: dict[str, Run] = _spec.collect("threading", globals())

FACTORIES: dict[str, Any] = {
    "Event": threading.Event,
    "AsyncResult": Future,
    "Semaphore": threading.Semaphore,
    "Lock": threading.Lock,
    "RLock": threading.RLock,
    "Queue": queue.Queue,
}
