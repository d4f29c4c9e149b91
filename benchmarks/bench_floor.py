"""The floor: the same workloads on raw greenlet switches, with no library at all.

For the wake-up workloads the floor is a bare hub-style loop -- a deque of ready
``(greenlet, value)`` pairs, a heap of timers, and a switch -- with the least code each
primitive needs to be correct for *this* workload: no thread safety, no error handling, no
early-leaver bookkeeping beyond what a timeout needs.  For the uncontended workloads it is the
plain operation: a ``with`` on a minimal slotted object that flips its own state, and a bare
deque for the queue.  Nothing real can be this cheap; the floor says how much of a library's
cost is the library.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from functools import partial
from time import monotonic, perf_counter_ns
from time import sleep as os_sleep
from types import TracebackType
from typing import Any

from greenlet import getcurrent, greenlet

from benchmarks import _spec, _workloads
from benchmarks._spec import Outcome, Run


class _TimedOut:
    __slots__ = ()


#: Switched into a greenlet whose timer expired.
TIMED_OUT: Any = _TimedOut()


class MiniHub:
    """A deque of ready greenlets, a heap of timers, and a loop that switches between them.

    The thread's main greenlet drives it with :meth:`run`, which returns once nothing is ready
    and no timer is pending.  Greenlets park with ``hub.park()`` and are woken by appending
    ``(greenlet, value)`` to ``hub.ready``.
    """

    __slots__ = ("cancelled", "errors", "glet", "main", "park", "ready", "seq", "timers")

    def __init__(self) -> None:
        self.ready: deque[tuple[greenlet, Any]] = deque()
        self.timers: list[list[Any]] = []  # [deadline, seq, greenlet or None]
        self.seq = 0
        self.cancelled = 0
        self.errors: list[BaseException] = []
        self.main = getcurrent()
        self.glet = greenlet(self._loop)
        self.park: Callable[[], Any] = self.glet.switch

    def spawn(self, fn: Callable[..., None], *args: Any) -> greenlet:
        """Start ``fn(*args)`` in a new greenlet on the loop's next pass."""
        errors = self.errors

        def body(_: object) -> None:
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - a failed worker is a failed check
                errors.append(exc)

        glet = greenlet(body, parent=self.glet)
        self.ready.append((glet, None))
        return glet

    def run(self) -> str | None:
        """Run the loop until it is idle; return the first worker's exception as an error."""
        self.glet.switch()
        return f"a worker raised {self.errors[0]!r}" if self.errors else None

    def finish(self) -> tuple[int, str | None]:
        """:meth:`run`, timed: the ns it took and the first worker's exception, if any.

        With :meth:`spawn`, this makes the hub the ``Workers`` of the shared workloads.
        """
        t0 = perf_counter_ns()
        error = self.run()
        ns = perf_counter_ns() - t0
        return ns, error

    def arm(self, seconds: float, glet: greenlet) -> list[Any]:
        """Switch ``TIMED_OUT`` into ``glet`` after ``seconds`` unless cancelled first."""
        self.seq += 1
        entry = [monotonic() + seconds, self.seq, glet]
        heapq.heappush(self.timers, entry)
        return entry

    def cancel(self, entry: list[Any]) -> None:
        """Cancel a timer; the heap is compacted when cancelled entries outnumber live ones."""
        entry[2] = None
        self.cancelled += 1
        if self.cancelled > 256 and self.cancelled * 2 > len(self.timers):
            self.timers[:] = [e for e in self.timers if e[2] is not None]
            heapq.heapify(self.timers)
            self.cancelled = 0

    def _loop(self) -> None:
        ready = self.ready
        popleft = ready.popleft
        timers = self.timers
        heappop = heapq.heappop
        while True:
            while ready:
                glet, value = popleft()
                glet.switch(value)
            if timers:
                now = monotonic()
                while timers and timers[0][0] <= now:
                    entry = heappop(timers)
                    glet = entry[2]
                    if glet is None:
                        self.cancelled -= 1
                        continue
                    entry[2] = None
                    glet.switch(TIMED_OUT)
                if ready:
                    continue
                while timers and timers[0][2] is None:
                    heappop(timers)
                    self.cancelled -= 1
                if timers:
                    os_sleep(max(0.0, timers[0][0] - monotonic()))
                    continue
            self.main.switch()


class FloorEvent:
    """A flag and a dict of waiters (greenlet -> timer entry or None)."""

    __slots__ = ("_hub", "flag", "waiters")

    def __init__(self, hub: MiniHub) -> None:
        self._hub = hub
        self.flag = False
        self.waiters: dict[greenlet, list[Any] | None] = {}

    def set(self) -> None:
        self.flag = True
        waiters = self.waiters
        if waiters:
            self.waiters = {}
            hub = self._hub
            append = hub.ready.append
            for glet, entry in waiters.items():
                if entry is not None:
                    hub.cancel(entry)
                append((glet, True))

    def clear(self) -> None:
        self.flag = False

    def wait(self, timeout: float | None = None) -> bool:
        if self.flag:
            return True
        hub = self._hub
        glet = getcurrent()
        if timeout is None:
            self.waiters[glet] = None
            return hub.park() is True
        self.waiters[glet] = hub.arm(timeout, glet)
        if hub.park() is TIMED_OUT:
            del self.waiters[glet]
            return False
        return True


class FloorResult:
    """A one-shot value with at most one waiter."""

    __slots__ = ("_hub", "done", "value", "waiter")

    def __init__(self, hub: MiniHub) -> None:
        self._hub = hub
        self.done = False
        self.value: Any = None
        self.waiter: greenlet | None = None

    def set(self, value: Any) -> None:
        self.value = value
        self.done = True
        glet = self.waiter
        if glet is not None:
            self.waiter = None
            self._hub.ready.append((glet, value))

    def get(self) -> Any:
        if self.done:
            return self.value
        self.waiter = getcurrent()
        return self._hub.park()


class FloorSemaphore:
    """A counter and a FIFO of waiters (made on first use); a release hands the permit over."""

    __slots__ = ("_hub", "value", "waiters")

    def __init__(self, hub: MiniHub, value: int = 1) -> None:
        self._hub = hub
        self.value = value
        self.waiters: deque[greenlet] | None = None

    def acquire(self) -> bool:
        if self.value:
            self.value -= 1
            return True
        waiters = self.waiters
        if waiters is None:
            waiters = self.waiters = deque()
        waiters.append(getcurrent())
        self._hub.park()
        return True

    def release(self) -> None:
        waiters = self.waiters
        if waiters:
            self._hub.ready.append((waiters.popleft(), None))
        else:
            self.value += 1


class FloorQueue:
    """Items, getters and putters (made on first use); a put with a getter hands it over."""

    __slots__ = ("_hub", "getters", "items", "joiners", "maxsize", "putters", "unfinished")

    def __init__(self, hub: MiniHub, maxsize: int = 0) -> None:
        self._hub = hub
        self.maxsize = maxsize
        self.items: deque[Any] = deque()
        self.getters: deque[greenlet] | None = None
        self.putters: deque[tuple[greenlet, Any]] | None = None
        self.unfinished = 0
        self.joiners: list[greenlet] = []

    def qsize(self) -> int:
        return len(self.items)

    def put(self, item: Any) -> None:
        self.unfinished += 1
        getters = self.getters
        if getters:
            self._hub.ready.append((getters.popleft(), item))
        elif not self.maxsize or len(self.items) < self.maxsize:
            self.items.append(item)
        else:
            putters = self.putters
            if putters is None:
                putters = self.putters = deque()
            putters.append((getcurrent(), item))
            self._hub.park()

    def get(self) -> Any:
        items = self.items
        if items:
            item = items.popleft()
            putters = self.putters
            if putters:
                glet, waiting = putters.popleft()
                items.append(waiting)
                self._hub.ready.append((glet, None))
            return item
        getters = self.getters
        if getters is None:
            getters = self.getters = deque()
        getters.append(getcurrent())
        return self._hub.park()

    def task_done(self) -> None:
        self.unfinished -= 1
        if not self.unfinished and self.joiners:
            append = self._hub.ready.append
            for glet in self.joiners:
                append((glet, None))
            self.joiners = []

    def join(self) -> None:
        if self.unfinished:
            self.joiners.append(getcurrent())
            self._hub.park()


class FloorLock:
    """The least a ``with`` statement needs: a flag flipped on entry and exit."""

    __slots__ = ("locked",)

    def __init__(self) -> None:
        self.locked = False

    def __enter__(self) -> None:
        if self.locked:
            raise RuntimeError("floor lock is not reentrant")
        self.locked = True

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.locked = False


class FloorRLock:
    """The least a reentrant ``with`` needs: an owner and a count."""

    __slots__ = ("count", "owner")

    def __init__(self) -> None:
        self.owner: greenlet | None = None
        self.count = 0

    def __enter__(self) -> None:
        me = getcurrent()
        if self.owner is me:
            self.count += 1
        elif self.owner is None:
            self.owner = me
            self.count = 1
        else:
            raise RuntimeError("floor rlock is owned by another greenlet")

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.count -= 1
        if not self.count:
            self.owner = None


class FloorTimeout:
    """A timer armed on entry and cancelled on exit."""

    __slots__ = ("_hub", "entry", "seconds")

    def __init__(self, hub: MiniHub, seconds: float) -> None:
        self._hub = hub
        self.seconds = seconds
        self.entry: list[Any] | None = None

    def __enter__(self) -> None:
        self.entry = self._hub.arm(self.seconds, getcurrent())

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.entry is not None:
            self._hub.cancel(self.entry)
            self.entry = None


def sleep0(n: int) -> Outcome:
    hub = MiniHub()
    rounds = max(1, n // 2)
    trace: list[int] = []

    def worker(k: int) -> None:
        append, wake, park = trace.append, hub.ready.append, hub.park
        me = (getcurrent(), None)
        for _ in range(rounds):
            append(k)
            wake(me)
            park()

    hub.spawn(worker, 0)
    hub.spawn(worker, 1)
    ns, error = hub.finish()
    return Outcome(ns, 2 * rounds, error or _spec.check_alternating(trace, rounds))


def event_fanout(n: int) -> Outcome:
    hub = MiniHub()
    width = _spec.FANOUT
    rounds = max(1, n // width)
    events = [FloorEvent(hub) for _ in range(rounds)]
    done = [FloorEvent(hub) for _ in range(rounds)]
    left = [0, -1]  # waiters yet to wake, round signalled
    woke = [0] * width
    elapsed = [0]

    def waiter(k: int) -> None:
        count = 0
        for r in range(rounds):
            if events[r].wait() and left[1] == r:
                count += 1
            left[0] -= 1
            if not left[0]:
                done[r].set()
        woke[k] = count

    def conductor() -> None:
        t0 = perf_counter_ns()
        for r in range(rounds):
            left[0], left[1] = width, r
            events[r].set()
            done[r].wait()
        elapsed[0] = perf_counter_ns() - t0

    for k in range(width):
        hub.spawn(waiter, k)
    hub.spawn(conductor)  # runs after every waiter has parked on events[0]
    error = hub.run()
    return Outcome(
        elapsed[0], rounds * width, error or _spec.check_counts(woke, rounds, "wake-ups")
    )


def asyncresult_pingpong(n: int) -> Outcome:
    # Not the shared body: that one makes each result with ``make()``, and a FloorResult needs
    # its hub -- a factory would add a call per message to the floor.
    hub = MiniHub()
    first = FloorResult(hub)
    got: list[int] = []

    def client() -> None:
        cur = first
        for i in range(n):
            back = FloorResult(hub)
            cur.set((i, back))
            cur = back.get()

    def server() -> None:
        cur = first
        append = got.append
        for _ in range(n):
            i, back = cur.get()
            append(i)
            nxt = FloorResult(hub)
            back.set(nxt)
            cur = nxt

    hub.spawn(server)
    hub.spawn(client)
    ns, error = hub.finish()
    return Outcome(ns, n, error or _spec.check_sequence(got, n))


def _uncontended(lock: FloorLock | FloorRLock, n: int) -> Outcome:
    t0 = perf_counter_ns()
    for _ in range(n):
        with lock:
            pass
    ns = perf_counter_ns() - t0
    free = lock.locked is False if isinstance(lock, FloorLock) else lock.owner is None
    return Outcome(ns, n, None if free else "floor lock still held after the loop")


def lock_uncontended_semaphore(n: int) -> Outcome:
    return _uncontended(FloorLock(), n)


def lock_uncontended_lock(n: int) -> Outcome:
    return _uncontended(FloorLock(), n)


def lock_uncontended_rlock(n: int) -> Outcome:
    return _uncontended(FloorRLock(), n)


def semaphore_contended(n: int) -> Outcome:
    hub = MiniHub()
    workers = _spec.SEM_WORKERS
    per = max(1, n // workers)
    sem = FloorSemaphore(hub, _spec.SEM_VALUE)
    holders = [0, 0]
    cycles = [0] * workers

    def worker(k: int) -> None:
        acquire, release = sem.acquire, sem.release
        wake, park = hub.ready.append, hub.park
        me = (getcurrent(), None)
        for _ in range(per):
            acquire()
            now = holders[0] + 1
            holders[0] = now
            if now > holders[1]:
                holders[1] = now
            wake(me)
            park()
            holders[0] -= 1
            release()
        cycles[k] = per

    for k in range(workers):
        hub.spawn(worker, k)
    ns, error = hub.finish()
    return Outcome(ns, per * workers, error or _spec.check_semaphore(cycles, per, holders[1]))


def _on_a_hub(body: _workloads.Body, cls: Callable[..., Any]) -> Run:
    """Return the shared ``body`` run on a fresh MiniHub, its primitive ``cls`` bound to it."""

    def run(n: int) -> Outcome:
        hub = MiniHub()
        return body(n, partial(cls, hub), hub)

    return run


queue_pingpong = _on_a_hub(_workloads.queue_pingpong, FloorQueue)
queue_throughput = _on_a_hub(_workloads.queue_throughput, FloorQueue)
joinable_queue = _on_a_hub(_workloads.joinable_queue, FloorQueue)
timeout_fire = _on_a_hub(_workloads.timeout_fire, FloorEvent)
wait_with_timeout_notified = _on_a_hub(_workloads.wait_with_timeout_notified, FloorEvent)


def queue_unbounded_bulk(n: int) -> Outcome:
    q: deque[int] = deque()
    return _workloads.queue_unbounded_bulk(n, q.append, q.popleft)


def timeout_cancel(n: int) -> Outcome:
    hub = MiniHub()
    seconds = _spec.LONG_TIMEOUT
    t0 = perf_counter_ns()
    for _ in range(n):
        with FloorTimeout(hub, seconds):
            pass
    ns = perf_counter_ns() - t0
    live = sum(1 for entry in hub.timers if entry[2] is not None)
    return Outcome(ns, n, None if not live else f"{live} floor timers still armed")


WORKLOADS: dict[str, Run] = _spec.collect("floor", globals())

_hub = MiniHub()

FACTORIES: dict[str, Any] = {
    "Event": lambda: FloorEvent(_hub),
    "AsyncResult": lambda: FloorResult(_hub),
    "Semaphore": lambda: FloorSemaphore(_hub),
    "Lock": FloorLock,
    "RLock": FloorRLock,
    "Queue": lambda: FloorQueue(_hub),
}


def parked_waiters(n: int, on_event: bool) -> tuple[int, str | None]:
    """Park ``n`` greenlets (on one FloorEvent, or bare); return the traced bytes used."""
    hub = MiniHub()
    ev = FloorEvent(hub)
    started = [0]
    woke = [0]

    def bare() -> None:
        started[0] += 1
        hub.park()

    def waiter() -> None:
        started[0] += 1
        if ev.wait():
            woke[0] += 1

    before = _spec.traced()
    # Keep every greenlet alive: an unreferenced parked greenlet is collected (and killed).
    glets = [hub.spawn(waiter if on_event else bare) for _ in range(n)]
    hub.run()
    used = _spec.traced() - before
    if started[0] != n:
        return used, _spec.settle_limit_error(started[0], n)
    if not on_event:
        return used, None
    ev.set()
    error = hub.run()
    del glets
    return used, error or _spec.check_woke(woke[0], n)
