"""The cross-thread workload on culsans, the incumbent thread-safe async-aware queue.

``culsans.Queue`` (built on aiologic) takes both faces as methods of the queue itself --
``sync_put``/``sync_get`` for the plain main thread, ``async_put``/``async_get`` for a task on
a loop in another thread -- one call shorter than its janus-style ``sync_q``/``async_q``
proxies.  culsans runs only ``cross_thread_pingpong`` (:mod:`benchmarks._crossthread`).
"""

from __future__ import annotations

from operator import attrgetter

import culsans

from benchmarks import _crossthread, _spec
from benchmarks._spec import Outcome, Run

BRIDGE = _crossthread.Bridge(
    make=culsans.Queue,
    sync_put=attrgetter("sync_put"),
    sync_get=attrgetter("sync_get"),
    async_put=attrgetter("async_put"),
    async_get=attrgetter("async_get"),
    put_nowait=attrgetter("put_nowait"),
)


def cross_thread_pingpong(n: int) -> Outcome:
    return _crossthread.pingpong(n, BRIDGE, _crossthread.in_this_thread)


WORKLOADS: dict[str, Run] = _spec.collect("culsans", globals())
