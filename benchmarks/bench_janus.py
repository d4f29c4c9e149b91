"""The cross-thread workload on janus, the incumbent mixed sync/async queue.

``janus.Queue`` has a synchronous face (``sync_q``), used here by the plain main thread, and an
asynchronous one (``async_q``), used by a task on a loop in another thread.  janus runs only
``cross_thread_pingpong`` (:mod:`benchmarks._crossthread`).
"""

from __future__ import annotations

from operator import attrgetter

import janus

from benchmarks import _crossthread, _spec
from benchmarks._spec import Outcome, Run

BRIDGE = _crossthread.Bridge(
    make=janus.Queue,
    sync_put=attrgetter("sync_q.put"),
    sync_get=attrgetter("sync_q.get"),
    async_put=attrgetter("async_q.put"),
    async_get=attrgetter("async_q.get"),
    put_nowait=attrgetter("sync_q.put_nowait"),
)


def cross_thread_pingpong(n: int) -> Outcome:
    return _crossthread.pingpong(n, BRIDGE, _crossthread.in_this_thread)


WORKLOADS: dict[str, Run] = _spec.collect("janus", globals())
