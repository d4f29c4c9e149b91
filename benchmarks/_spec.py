"""What the suite measures: workloads, backends, targets, and the checks every run must pass.

Every backend module (``bench_<module>.py``) provides the workloads listed here as functions
``run(n) -> Outcome`` (most of them written once, in :mod:`benchmarks._workloads`,
:mod:`benchmarks._greenlets`, :mod:`benchmarks._coroutines` and :mod:`benchmarks._crossthread`):
set up outside the timed region, time the workload itself, then check its outcome (again
outside the timed region).  A run whose check fails carries an ``error`` and is reported as
invalid, never as fast.

A :class:`Backend` is one kind of row: a library, or greensync on one hub (the same module run
after ``greensync.hub.use(hub)``) or with its asyncio face.  Each greensync row has a *host*,
the library whose own primitives it stands in for, and is judged by its paired ratio to that
host (:func:`comparisons`).
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

_T = TypeVar("_T")

#: The library under test: its rows carry targets and verdicts.
SUBJECT = "greensync"
#: The reference of the ``x gevent`` column, and of the built-in hub's targets.
BASELINE = "gevent"
#: Raw greenlet switches: what the same work costs with no library at all.
FLOOR = "floor"


@dataclass(frozen=True)
class Backend:
    """One row kind of the table: a library (or greensync on one hub), and what it is held to.

    ``hub`` is passed to ``greensync.hub.use()`` in the measuring process before anything else
    is imported; ``host`` is the library whose own primitives the row is compared with (its
    ``x host`` ratio), and ``target`` the ratio to the host that row should meet on every
    workload (``None``: report the ratio, judge nothing).  The built-in hub is held to each
    workload's own target instead (``workload_targets``).
    """

    name: str
    #: ``benchmarks.bench_<module>`` holds its workloads.
    module: str
    about: str
    hub: str | None = None
    host: str | None = None
    target: float | None = None
    workload_targets: bool = False
    #: Memory: bytes per instance of each primitive (the adapters share the built-in's classes).
    instances: bool = True
    #: Memory: bytes per parked waiter.
    parked: bool = True
    #: The only workloads it runs (a queue library made for one job); ``None``: every one.
    only: frozenset[str] | None = None

    @property
    def subject(self) -> bool:
        """True for greensync's rows, on any hub and with either face."""
        return self.name == SUBJECT or self.name.startswith((SUBJECT + "@", SUBJECT + "-"))


#: The workload that only the sync/async queue libraries share with greensync.
CROSS_THREAD = "cross_thread_pingpong"

#: Every backend, in the order the table lists them.
BACKEND_LIST: tuple[Backend, ...] = (
    Backend(
        SUBJECT,
        "greensync",
        "greensync's greenlet face on its built-in hub",
        hub="builtin",
        host=BASELINE,
        workload_targets=True,
    ),
    Backend(
        "greensync@gevent",
        "greensync",
        "greensync's greenlet face on gevent's hub (use('gevent'))",
        hub="gevent",
        host="gevent",
        target=1.0,
        instances=False,
    ),
    Backend(
        "greensync@eventlet",
        "greensync",
        "greensync's greenlet face on eventlet's hub (use('eventlet'))",
        hub="eventlet",
        host="eventlet",
        target=1.0,
        instances=False,
    ),
    Backend(
        "greensync@asyncio",
        "greensync",
        "greensync's greenlet face on the asyncio adapter (use('asyncio'))",
        hub="asyncio",
        host="asyncio",
        instances=False,
    ),
    Backend(
        "greensync-async",
        "greensync_async",
        "greensync's asyncio face (async_ methods, async with) in coroutines, use('asyncio')",
        hub="asyncio",
        host="asyncio",
        target=1.2,
        instances=False,
    ),
    Backend("gevent", "gevent", "gevent's compiled primitives"),
    Backend("eventlet", "eventlet", "eventlet's primitives"),
    Backend("asyncio", "asyncio", "asyncio's own primitives, in coroutines"),
    Backend("threading", "threading", "OS threads with threading's and queue's primitives"),
    Backend(
        "janus",
        "janus",
        "janus.Queue: a thread on its sync_q, a task on its async_q",
        instances=False,
        parked=False,
        only=frozenset({CROSS_THREAD}),
    ),
    Backend(
        "culsans",
        "culsans",
        "culsans.Queue: a thread on sync_put/sync_get, a task on async_put/async_get",
        instances=False,
        parked=False,
        only=frozenset({CROSS_THREAD}),
    ),
    Backend(FLOOR, "floor", "raw greenlet switches and the least code each workload needs"),
)
BACKENDS = tuple(b.name for b in BACKEND_LIST)
BACKEND_BY_NAME = {b.name: b for b in BACKEND_LIST}
#: The greensync hubs ``--hubs`` chooses from, and the backends each one runs.
HUBS: dict[str, tuple[str, ...]] = {
    "builtin": (SUBJECT,),
    "gevent": ("greensync@gevent",),
    "eventlet": ("greensync@eventlet",),
    "asyncio": ("greensync@asyncio", "greensync-async"),
}

#: Waiters woken by one ``Event.set()`` in ``event_fanout``.
FANOUT = 1000
#: Greenlets whose timeouts expire together in ``timeout_fire``.
TIMEOUT_WAITERS = 1000
#: The expiring timeout of ``timeout_fire``, in seconds.
SHORT_TIMEOUT = 0.001
#: The timeout that never expires in ``timeout_cancel`` and ``wait_with_timeout_notified``.
LONG_TIMEOUT = 10.0
#: Greenlets and permits of ``semaphore_contended``.
SEM_WORKERS = 100
SEM_VALUE = 10
#: The bound of ``queue_throughput``.
QUEUE_BOUND = 100

#: A parked waiter may cost this many bytes beyond its greenlet.
PARKED_WAITER_TARGET = 200.0


@dataclass(frozen=True)
class Workload:
    """One timed workload: its name, what one op is, and greensync's target ratio to gevent.

    A workload with ``versus`` holds greensync to ``target`` against each of those libraries
    instead (``target`` 1.0 there means "faster than": the ratio must be below 1), and runs only
    on greensync's ``subjects`` and those libraries.
    """

    name: str
    op: str
    target: float
    #: The smallest meaningful op count (one round); calibration starts here.
    unit: int = 1
    versus: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()


WORKLOADS: tuple[Workload, ...] = (
    Workload("sleep0", "one sleep(0), two greenlets yielding alternately", 0.8, 2),
    Workload(
        "event_fanout",
        f"one wake-up: {FANOUT} waiters on one Event, set once per round",
        0.8,
        FANOUT,
    ),
    Workload(
        "asyncresult_pingpong",
        "one round trip: producer and consumer exchange fresh AsyncResults",
        0.5,
    ),
    Workload("lock_uncontended_semaphore", "one `with sem:` on Semaphore(1), uncontended", 1.0),
    Workload("lock_uncontended_lock", "one `with lock:` on Lock, uncontended", 0.6),
    Workload("lock_uncontended_rlock", "one `with rlock:` on RLock, uncontended", 0.6),
    Workload(
        "semaphore_contended",
        f"one acquire / sleep(0) / release by one of {SEM_WORKERS} greenlets sharing "
        f"Semaphore({SEM_VALUE})",
        1.0,
        SEM_WORKERS,
    ),
    Workload(
        "queue_pingpong",
        "one round trip: two greenlets bounce an item through two unbounded queues",
        0.5,
    ),
    Workload(
        "queue_throughput",
        f"one item from producer to consumer through Queue(maxsize={QUEUE_BOUND})",
        1.0,
    ),
    Workload(
        "queue_unbounded_bulk",
        "one item: put_nowait n items, then get_nowait n items",
        1.0,
    ),
    Workload(
        "joinable_queue",
        "one item: producer puts, consumer gets and calls task_done, producer joins",
        1.0,
    ),
    Workload("timeout_cancel", f"one `with Timeout({LONG_TIMEOUT:g}):` left before it fires", 0.8),
    Workload(
        "timeout_fire",
        f"one expiry: {TIMEOUT_WAITERS} greenlets each wait on an Event with a "
        f"{SHORT_TIMEOUT * 1000:g} ms timeout that expires",
        0.5,
        TIMEOUT_WAITERS,
    ),
    Workload(
        "wait_with_timeout_notified",
        f"one round trip: event.wait(timeout={LONG_TIMEOUT:g}) woken before the timeout, both ways",
        0.5,
    ),
    Workload(
        CROSS_THREAD,
        "one round trip: a greenlet (or thread) in one OS thread and an asyncio task on a loop "
        "in another bounce an item through two queues",
        1.0,
        versus=("janus", "culsans"),
        subjects=(SUBJECT,),
    ),
)

WORKLOAD_BY_NAME = {w.name: w for w in WORKLOADS}

#: (backend, workload) pairs with no meaningful equivalent, and why.
NOT_APPLICABLE: dict[tuple[str, str], str] = {
    ("asyncio", "lock_uncontended_rlock"): "asyncio has no RLock",
    ("threading", "sleep0"): "time.sleep(0) does not hand the CPU to a chosen thread",
    ("threading", "event_fanout"): f"{FANOUT} OS threads per run",
    ("threading", "semaphore_contended"): f"{SEM_WORKERS} OS threads yielding with sleep(0)",
    ("threading", "timeout_cancel"): "threading has no timeout context manager",
    ("threading", "timeout_fire"): f"{TIMEOUT_WAITERS} OS threads per run",
    ("greensync-async", "sleep0"): "the asyncio face has no sleep: asyncio.sleep is asyncio's row",
    ("greensync-async", "timeout_cancel"): (
        "Timeout stays a greenlet tool; coroutines use asyncio.timeout, which is asyncio's row"
    ),
    ("greensync-async", "queue_unbounded_bulk"): (
        "put_nowait/get_nowait do not await: the same calls as greensync's row"
    ),
}

#: Memory kinds: bytes per instance of each primitive, and per parked waiter.
INSTANCE_KINDS = ("Event", "AsyncResult", "Semaphore", "Lock", "RLock", "Queue")
PARKED_WAITER = "parked_waiter"
MEMORY_KINDS = (*INSTANCE_KINDS, PARKED_WAITER)

#: Memory kinds a backend has no equivalent for, and why.
MEMORY_NOT_APPLICABLE: dict[tuple[str, str], str] = {
    ("asyncio", "RLock"): "asyncio has no RLock",
    ("threading", PARKED_WAITER): "100k parked OS threads",
}


def memory_kinds(backend: str) -> list[str]:
    """The memory kinds measured for ``backend``."""
    spec = BACKEND_BY_NAME[backend]
    kinds = [
        *(INSTANCE_KINDS if spec.instances else ()),
        *((PARKED_WAITER,) if spec.parked else ()),
    ]
    return [kind for kind in kinds if (backend, kind) not in MEMORY_NOT_APPLICABLE]


def why_not(backend: str, workload: str) -> str | None:
    """Return why ``backend`` does not run ``workload``, or None if it does."""
    spec = BACKEND_BY_NAME[backend]
    if spec.only is not None and workload not in spec.only:
        return f"{backend} is measured on {', '.join(sorted(spec.only))} only"
    load = WORKLOAD_BY_NAME[workload]
    if load.versus and backend not in load.versus and backend not in load.subjects:
        return f"{workload} compares greensync with {' and '.join(load.versus)} only"
    return NOT_APPLICABLE.get((backend, workload))


def applies(backend: str, workload: str) -> bool:
    """Return True if ``backend`` has an equivalent of ``workload``."""
    return why_not(backend, workload) is None


@dataclass(frozen=True)
class Comparison:
    """A ratio a greensync row is judged by: its ns/op over ``versus``'s, against ``target``.

    ``target`` None: the ratio is reported, nothing is judged.  ``strict``: the ratio must be
    below the target ("faster than"), not at or below it.
    """

    versus: str
    target: float | None
    strict: bool = False


def comparisons(workload: Workload, backend: str) -> list[Comparison]:
    """The ratios ``backend``'s row of ``workload`` is judged by (none for other libraries)."""
    spec = BACKEND_BY_NAME[backend]
    if not spec.subject:
        return []
    if workload.versus:
        return [Comparison(other, workload.target, strict=True) for other in workload.versus]
    if spec.host is None or not applies(spec.host, workload.name):
        return []
    return [Comparison(spec.host, workload.target if spec.workload_targets else spec.target)]


@dataclass
class Outcome:
    """What one timed run produced: elapsed nanoseconds, ops done, and a failed check if any."""

    ns: int
    ops: int
    error: str | None = None


#: The shape of every workload function.
Run = Callable[[int], Outcome]
#: The shape of every backend's parked-waiter probe: (bytes used, failed check or None).
ParkProbe = Callable[[int, bool], tuple[int, str | None]]


def collect(backend: str, namespace: Mapping[str, _T]) -> dict[str, _T]:
    """Return ``backend``'s workload functions: each workload it applies to, by name, in order.

    ``namespace`` (a module's ``globals()``) must define a function for every workload that
    applies to ``backend``; a missing one raises :class:`KeyError` when the module is imported.
    """
    return {w.name: namespace[w.name] for w in WORKLOADS if applies(backend, w.name)}


# -- checks, run outside the timed region ---------------------------------------------------


def first_error(*errors: str | None) -> str | None:
    """Return the first failed check, or None if every check passed."""
    for error in errors:
        if error is not None:
            return error
    return None


def check_sequence(got: Sequence[int], n: int, what: str = "items") -> str | None:
    """Check that ``got`` is exactly ``0, 1, ..., n-1``: every item, once, in order."""
    if len(got) != n:
        return f"{what}: expected {n}, got {len(got)}"
    for expected, item in enumerate(got):
        if item != expected:
            return f"{what}: out of order at position {expected}: got {item!r}"
    return None


def check_alternating(trace: Sequence[int], rounds: int) -> str | None:
    """Check that two workers took turns exactly: ``0, 1, 0, 1, ...`` for ``rounds`` each."""
    if len(trace) != 2 * rounds:
        return f"turns: expected {2 * rounds}, got {len(trace)}"
    for i, who in enumerate(trace):
        if who != i % 2:
            return f"turns: worker {who} ran twice in a row at turn {i}"
    return None


def check_counts(counts: Sequence[int], expected: int, what: str) -> str | None:
    """Check that every worker's count is ``expected``."""
    for k, count in enumerate(counts):
        if count != expected:
            return f"{what}: worker {k} has {count}, expected {expected}"
    return None


def check_bound(peak: int, bound: int, what: str, least: int = 0) -> str | None:
    """Check that a peak occupancy never exceeded ``bound`` and reached at least ``least``."""
    if peak > bound:
        return f"{what}: bound {bound} exceeded (peak {peak})"
    if peak < least:
        return f"{what}: peak {peak}, expected at least {least}"
    return None


def check_waited(ns: int, rounds: int, seconds: float) -> str | None:
    """Check that ``rounds`` back-to-back waits of ``seconds`` took at least half that long.

    ``ns`` is the shortest time any one waiter spent in its loop: each of its timed waits
    starts only after the previous one expired, so that cannot be less than ``rounds *
    seconds``.  A wait that returns at once is caught here.
    """
    if ns < rounds * seconds * 1e9 / 2:
        return (
            f"expiries: {rounds} rounds of {seconds * 1000:g} ms waits took only "
            f"{ns / 1e6:.2f} ms: the waits did not wait"
        )
    return None


def settle_limit_error(started: int, target: int) -> str:
    """The error for workers that never all started."""
    return f"only {started} of {target} workers started and parked"


# The checks of one workload each, shared by every backend that runs it.


def check_semaphore(cycles: Sequence[int], per: int, peak: int) -> str | None:
    """``semaphore_contended``: every worker did ``per`` cycles; at most SEM_VALUE holders."""
    return first_error(
        check_counts(cycles, per, "cycles"), check_bound(peak, SEM_VALUE, "holders", 1)
    )


def check_bounded_queue(got: Sequence[int], n: int, peak: int) -> str | None:
    """``queue_throughput``: every item, in order; ``qsize()`` never above QUEUE_BOUND."""
    return first_error(check_sequence(got, n), check_bound(peak, QUEUE_BOUND, "queue size"))


def check_joined(got: Sequence[int], n: int, joined: int) -> str | None:
    """``joinable_queue``: every item, in order; ``join()`` returned only after the last one."""
    early = None if joined == n else f"join() returned after {joined} of {n} items"
    return first_error(check_sequence(got, n), early)


def check_expired(expired: Sequence[int], spent: Sequence[int], rounds: int) -> str | None:
    """``timeout_fire``: every wait expired, and no waiter's loop was too quick for its waits."""
    return first_error(
        check_counts(expired, rounds, "expiries"),
        check_waited(min(spent), rounds, SHORT_TIMEOUT),
    )


def check_woke(woke: int, n: int) -> str | None:
    """The parked-waiter probe: every one of the ``n`` waiters woke."""
    return None if woke == n else f"{woke} of {n} parked waiters woke"


# -- memory ----------------------------------------------------------------------------------


def traced() -> int:
    """Return the bytes currently traced by :mod:`tracemalloc`, after a full collection."""
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def bytes_per_instance(factory: Callable[[], object], count: int) -> float:
    """Return the traced bytes one object made by ``factory()`` costs (averaged over ``count``).

    :mod:`tracemalloc` must be tracing.  The list that keeps the objects alive is allocated
    before the first measurement, so it is not counted.
    """
    keep: list[object] = [None] * count
    before = traced()
    for i in range(count):
        keep[i] = factory()
    used = traced() - before
    del keep
    return used / count
