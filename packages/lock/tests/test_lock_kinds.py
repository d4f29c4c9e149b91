"""Every kind of waiter in one line: greenlets, asyncio tasks and plain threads (DESIGN rule 9).

The contract is written once and run for each kind of waiter:

* ``greenlet`` -- a greenlet of the scenario's thread;
* ``task`` -- an asyncio task on the scenario's own loop, in the same thread;
* ``task_thread`` -- an asyncio task on a loop running in another OS thread;
* ``thread`` -- a plain OS thread (its blocking calls park its main greenlet on its own hub).

Each scenario runs in a fresh OS thread under ``asyncio.run``, with the thread's greensync hub
bound to that loop (``aio.run_greenlet``): the driver is a greenlet there, so greenlets and
tasks of that thread are run by the same loop, and the other kinds by their own threads.  An
:class:`Agent` of each kind carries out one job (acquire with a timeout, hold, release) and
reports what happened; the driver lines agents up one at a time, waiting until each is
counted in the primitive's line (counts include every kind), so arrival order is known.
The contract tests are marked ``contract``: under the chaos session's seeds the waiter
threads run seeded chaos hubs.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from typing import Any

import pytest

from greensync.hub import aio, sleep, spawn
from greensync.hub.testing import existing_hub, run_in_threads, run_with_hub
from greensync.lock import (
    Barrier,
    BoundedSemaphore,
    CappedSemaphore,
    Condition,
    DummySemaphore,
    Lock,
    RLock,
    Semaphore,
)

KINDS = ["greenlet", "task", "task_thread", "thread"]
#: How long a wait that must not time out may take, at most (a deadlock fails fast).
LONG = 20.0

MUTEXES: dict[str, Callable[[], Any]] = {
    "Semaphore": lambda: Semaphore(1),
    "BoundedSemaphore": lambda: BoundedSemaphore(1),
    "CappedSemaphore": lambda: CappedSemaphore(1),
    "Lock": Lock,
    "RLock": RLock,
}


# -- the harness -------------------------------------------------------------------------------


class Loops:
    """Helper threads for the ``task_thread`` and ``thread`` kinds, made on first need."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._threads: list[threading.Thread] = []

    def loop(self) -> asyncio.AbstractEventLoop:
        """An asyncio loop running in another OS thread."""
        if self._loop is None:
            ready = threading.Event()
            box: list[asyncio.AbstractEventLoop] = []

            def run() -> None:
                loop = asyncio.new_event_loop()
                box.append(loop)
                ready.set()
                loop.run_forever()
                loop.close()

            self._thread = threading.Thread(target=run, name="kinds-loop", daemon=True)
            self._thread.start()
            assert ready.wait(LONG)
            self._loop = box[0]
        return self._loop

    def thread(self, fn: Callable[[], None]) -> None:
        def run() -> None:
            try:
                fn()
            finally:
                hub = existing_hub()  # its blocking calls made one: close it (and its loop)
                if hub is not None:
                    hub.destroy()

        thread = threading.Thread(target=run, name="kinds-thread", daemon=True)
        self._threads.append(thread)
        thread.start()

    def close(self) -> None:
        for thread in self._threads:
            thread.join(LONG)
            assert not thread.is_alive(), "a waiter thread is stuck"
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            assert self._thread is not None
            self._thread.join(LONG)


class Agent:
    """One waiter of a given kind, running ``job`` (blocking) or ``ajob`` (a coroutine)."""

    def __init__(
        self,
        kind: str,
        loops: Loops,
        job: Callable[[], object],
        ajob: Callable[[], Awaitable[object]],
    ) -> None:
        self.kind = kind
        self.done = threading.Event()
        self.result: object = None
        self.error: BaseException | None = None
        self.task: Any = None
        self.glet: Any = None
        self.future: Future[object] | None = None

        def run() -> None:
            try:
                self.result = job()
            except BaseException as exc:  # noqa: BLE001 - reported to the driver
                self.error = exc
            finally:
                self.done.set()

        async def arun() -> None:
            try:
                self.result = await ajob()
            except BaseException as exc:  # noqa: BLE001 - reported to the driver
                self.error = exc
                if isinstance(exc, asyncio.CancelledError):
                    return
            finally:
                self.done.set()

        if kind == "greenlet":
            self.glet = spawn(run)
        elif kind == "task":
            self.task = _scenario_loop().create_task(arun())
        elif kind == "task_thread":
            loop = loops.loop()
            self.future = asyncio.run_coroutine_threadsafe(_as_task(arun(), self), loop)
        else:
            loops.thread(run)

    def cancel(self) -> None:
        """Cancel a task, kill a greenlet (the thread kind cannot be stopped)."""
        if self.kind == "greenlet":
            self.glet.kill(block=False)
        elif self.kind == "task":
            self.task.cancel()
        elif self.kind == "task_thread":
            loop = self.task.get_loop()
            loop.call_soon_threadsafe(self.task.cancel)


async def _as_task(coro: Awaitable[None], agent: Agent) -> None:
    agent.task = asyncio.current_task()
    await coro


def settle(until: Callable[[], object] = lambda: False, seconds: float = LONG) -> None:
    """Let the loop (and the other threads) run until ``until()`` is true or a moment passes."""
    for _ in range(20):
        sleep(0)
        if until():
            return
    deadline = time.monotonic() + seconds
    while not until():
        assert time.monotonic() < deadline, "settle: the condition never came true"
        sleep(0.001)


def run_async(main: Callable[[], Awaitable[None]]) -> None:
    """``asyncio.run(main())`` in a fresh OS thread (this one may run a hub's own loop).

    That thread's greensync hub is the built-in one whatever ``GREENSYNC_HUB`` says: under
    ``use("asyncio")`` a hub runs a private loop of its own, and a blocking call from a
    coroutine of another loop is not refused there (see the report of issue 13's port).
    """

    def thread_main() -> None:
        asyncio.run(main())  # type: ignore[arg-type]

    run_with_hub("builtin", thread_main, timeout=60.0)


def scenario(body: Callable[[Loops], None]) -> None:
    """Run ``body(loops)`` as a greenlet on a fresh thread's loop-bound hub."""

    def thread_main(_: int) -> None:
        loops = Loops()

        async def main() -> None:
            _LOOP[0] = asyncio.get_running_loop()
            try:
                await aio.run_greenlet(body, loops)
            finally:
                _LOOP[0] = None

        try:
            asyncio.run(main())
        finally:
            loops.close()

    run_in_threads(thread_main, 1, timeout=60.0, what="a waiter-kinds scenario")


_LOOP: list[asyncio.AbstractEventLoop | None] = [None]


def _scenario_loop() -> asyncio.AbstractEventLoop:
    loop = _LOOP[0]
    assert loop is not None
    return loop


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    chosen: str = request.param
    return chosen


@pytest.fixture(params=sorted(MUTEXES))
def make(request: pytest.FixtureRequest) -> Callable[[], Any]:
    return MUTEXES[request.param]


Jobs = tuple[Callable[[], object], Callable[[], Awaitable[object]]]


def hold_then_release(prim: Any, log: list[str], name: str, timeout: float | None = LONG) -> Jobs:
    """The jobs of an agent that acquires ``prim``, logs ``name``, and releases it."""

    def job() -> object:
        got = prim.acquire(timeout=timeout)
        if got:
            log.append(name)
            prim.release()
        return got

    async def ajob() -> object:
        got = await prim.async_acquire(timeout=timeout)
        if got:
            log.append(name)
            prim.release()
        return got

    return job, ajob


# -- the contract, for every kind --------------------------------------------------------------


@pytest.mark.contract
def test_waiters_of_each_kind_are_served_in_arrival_order(
    kind: str, make: Callable[[], Any]
) -> None:
    def body(loops: Loops) -> None:
        prim = make()
        assert prim.acquire()
        log: list[str] = []
        agents = []
        for i, name in enumerate("abc"):
            agents.append(Agent(kind, loops, *hold_then_release(prim, log, name)))
            settle(_counted(prim, i + 1))  # counted: it waits in the line
        assert "waiters=3" in repr(prim) or "acquirers=3" in repr(prim)
        if isinstance(prim, Semaphore):
            assert prim.balance == -3
        prim.release()
        for agent in agents:
            assert _wait_done(agent), f"{kind} waiter never ran"
            assert (agent.error, agent.result) == (None, True)
        assert log == ["a", "b", "c"]
        settle(lambda: prim.linkcount() == 0)
        assert prim.acquire(blocking=False) is True
        prim.release()

    scenario(body)


@pytest.mark.contract
def test_a_wait_of_each_kind_times_out_and_leaves_nothing(
    kind: str, make: Callable[[], Any]
) -> None:
    def body(loops: Loops) -> None:
        prim = make()
        assert prim.acquire()
        log: list[str] = []
        agent = Agent(kind, loops, *hold_then_release(prim, log, "a", timeout=0.02))
        assert _wait_done(agent)
        assert (agent.error, agent.result, log) == (None, False, [])
        assert prim.linkcount() == 0
        prim.release()
        assert prim.acquire(blocking=False) is True  # nothing was lost
        prim.release()

    scenario(body)


@pytest.mark.contract
@pytest.mark.parametrize("kind_", ["greenlet", "task", "task_thread"])
def test_a_waiter_cancelled_after_the_hand_off_passes_it_on(
    kind_: str, make: Callable[[], Any]
) -> None:
    """The cancel (or kill) arrives after the release handed the lock or permit to the
    waiter and before it ran: the waiter leaves like a timed-out one, and what it was handed
    goes to the next waiter, which gets it."""

    def body(loops: Loops) -> None:
        prim = make()
        assert prim.acquire()
        log: list[str] = []
        first = Agent(kind_, loops, *hold_then_release(prim, log, "first"))
        settle(lambda: prim.linkcount() == 1)
        second = Agent("greenlet", loops, *hold_then_release(prim, log, "second"))
        settle(lambda: prim.linkcount() == 2)
        if kind_ == "task_thread":
            # Hold the other loop while the release hands over and the cancel is queued, so
            # the cancel reaches the task before it runs.
            gate = threading.Event()
            held = threading.Event()

            def hold_the_loop() -> None:
                held.set()
                gate.wait(LONG)

            first.task.get_loop().call_soon_threadsafe(hold_the_loop)
            assert held.wait(LONG)
            prim.release()
            first.cancel()
            gate.set()
        elif kind_ == "greenlet":
            first.cancel()  # the kill is queued first, then the release hands over: the
            prim.release()  # greenlet is handed the permit before the kill reaches it
        else:
            prim.release()  # the task's future is resolved at once...
            first.cancel()  # ...and the cancel comes before the task steps
        assert _wait_done(first)
        assert _wait_done(second)
        assert second.result is True
        if first.error is not None:
            assert log == ["second"]  # cancelled: it held nothing, and lost nothing
        else:
            assert log == ["first", "second"]  # (only a task in another thread may win)
            assert kind_ == "task_thread"
        settle(lambda: prim.linkcount() == 0)
        assert prim.acquire(blocking=False) is True
        prim.release()

    scenario(body)


@pytest.mark.contract
def test_mixed_kinds_share_one_fifo_line(make: Callable[[], Any]) -> None:
    """Tasks, greenlets and threads queued on one primitive are served in arrival order."""

    def body(loops: Loops) -> None:
        prim = make()
        assert prim.acquire()
        log: list[str] = []
        order = ["thread", "task", "greenlet", "task_thread", "task", "thread", "greenlet"]
        agents = []
        for i, kind in enumerate(order):
            agents.append(Agent(kind, loops, *hold_then_release(prim, log, f"{i}:{kind}")))
            settle(_counted(prim, i + 1))
        prim.release()
        for agent in agents:
            assert _wait_done(agent)
            assert (agent.error, agent.result) == (None, True)
        assert log == [f"{i}:{kind}" for i, kind in enumerate(order)]

    scenario(body)


@pytest.mark.contract
def test_condition_notifies_every_kind_in_order(kind: str) -> None:
    def body(loops: Loops) -> None:
        cond = Condition(Lock() if kind != "thread" else RLock())
        log: list[str] = []
        agents = []

        def waiter(name: str) -> Jobs:
            def job() -> object:
                with cond:
                    ok = cond.wait(LONG)
                    log.append(name)
                    return ok

            async def ajob() -> object:
                async with cond:
                    ok = await cond.async_wait(LONG)
                    log.append(name)
                    return ok

            return job, ajob

        for i, name in enumerate("abc"):
            agents.append(Agent(kind, loops, *waiter(name)))
            settle(_counted(cond._line, i + 1))
        with cond:
            cond.notify(2)
            assert log == []  # queued for the lock, which we still hold
        for agent in agents[:2]:
            assert _wait_done(agent)
        with cond:
            cond.notify_all()
        assert _wait_done(agents[2])
        assert log == ["a", "b", "c"]
        assert all(agent.result is True for agent in agents)
        assert cond._line.linkcount() == 0
        assert not cond.locked()

    scenario(body)


@pytest.mark.contract
def test_barrier_trips_with_parties_of_every_kind() -> None:
    def body(loops: Loops) -> None:
        barrier = Barrier(len(KINDS) + 1)
        agents = [Agent(kind, loops, barrier.wait, barrier.async_wait) for kind in KINDS]
        settle(lambda: barrier.n_waiting == len(KINDS))
        last = barrier.wait(LONG)
        assert last == len(KINDS)
        for agent in agents:
            assert _wait_done(agent)
            assert agent.error is None
        assert sorted([last, *(agent.result for agent in agents)]) == list(range(len(KINDS) + 1))  # type: ignore[type-var]

    scenario(body)


def _counted(obj: Any, n: int) -> Callable[[], bool]:
    return lambda: bool(obj.linkcount() == n)


def _wait_done(agent: Agent) -> bool:
    settle(agent.done.is_set)
    return agent.done.is_set()


# -- the asyncio face: same arguments, results and errors ---------------------------------------


@pytest.mark.parametrize(
    "cls", [Semaphore, BoundedSemaphore, CappedSemaphore, DummySemaphore, Lock, RLock]
)
def test_async_acquire_and_async_with(cls: Callable[..., Any]) -> None:
    async def main() -> None:
        prim = cls(1) if cls not in (Lock, RLock) else cls()
        async with prim as entered:
            assert entered is True
            if cls is RLock:
                assert await prim.async_acquire() is True  # the task re-enters
                prim.release()
            elif cls is not DummySemaphore:
                assert await prim.async_acquire(timeout=0) is False
                assert await prim.async_acquire(timeout=0.01) is False
        assert await prim.async_acquire() is True
        prim.release()
        with pytest.raises(ValueError, match="`timeout`"):
            await prim.async_acquire(timeout=-1)
        with pytest.raises(TypeError, match="`timeout`"):
            await prim.async_acquire(timeout="1")  # type: ignore[arg-type]

    run_async(main)


@pytest.mark.parametrize("make_prim", sorted(MUTEXES), ids=str)
def test_blocking_calls_in_a_coroutine_name_the_async_twin(make_prim: str) -> None:
    async def main() -> None:
        prim = MUTEXES[make_prim]()
        assert prim.acquire(blocking=False) is True  # non-blocking calls stay allowed
        holder = asyncio.current_task()

        async def other() -> None:
            with pytest.raises(RuntimeError, match="async_acquire"):
                prim.acquire()
            with pytest.raises(RuntimeError, match="async with"), prim:
                pass

        await asyncio.create_task(other())
        assert asyncio.current_task() is holder
        prim.release()  # allowed in a coroutine
        assert prim.acquire(blocking=False) is True
        prim.release()

    run_async(main)


def test_condition_and_barrier_blocking_calls_in_a_coroutine_name_the_twin() -> None:
    async def main() -> None:
        cond = Condition(Lock())
        async with cond:
            with pytest.raises(RuntimeError, match="async_wait"):
                cond.wait(0.01)
            assert cond.locked()  # refused before it let go of the lock
            cond.notify()  # allowed: it never blocks
            assert await cond.async_wait(0.01) is False
            assert await cond.async_wait_for(lambda: True) is True
            assert await cond.async_wait_for(lambda: 0, timeout=0.01) == 0
        barrier = Barrier(2)
        with pytest.raises(RuntimeError, match="async_wait"):
            barrier.wait(0.01)
        assert barrier.broken is True  # it had arrived: leaving breaks it, as a kill does
        barrier.reset()
        results = await asyncio.gather(barrier.async_wait(), barrier.async_wait())
        assert sorted(results) == [0, 1]

    run_async(main)


def test_rlock_is_owned_by_the_task() -> None:
    """A task's RLock: it re-enters (async or a non-blocking acquire), releases with a plain
    ``release()``, and another task neither re-enters nor releases it."""

    async def main() -> None:
        rlock = RLock()
        await rlock.async_acquire()
        assert rlock.acquire(blocking=False) is True  # the same task: one more level
        assert rlock.acquire() is True  # re-entering never blocks: allowed in a coroutine
        rlock.release()
        assert rlock._is_owned()

        async def other() -> None:
            assert rlock.acquire(blocking=False) is False
            assert await rlock.async_acquire(timeout=0.01) is False
            with pytest.raises(RuntimeError, match="owned by"):
                rlock.release()

        await asyncio.create_task(other())
        rlock.release()
        rlock.release()
        assert not rlock.locked()

    run_async(main)


def test_rlock_async_acquire_takes_a_free_lock_at_once_and_counts_each_level() -> None:
    async def main() -> None:
        rlock = RLock()
        assert await rlock.async_acquire(timeout=0) is True  # free: taken without waiting
        assert rlock._is_owned()
        assert await rlock.async_acquire(timeout=0) is True  # the owner: one more level
        assert await rlock.async_acquire() is True
        assert "count=3" in repr(rlock)
        rlock.release()
        rlock.release()
        assert rlock.locked()
        assert rlock._is_owned()
        assert "count=1" in repr(rlock)
        rlock.release()  # the last level: free again
        assert not rlock.locked()
        assert not rlock._is_owned()
        async with rlock:
            async with rlock:
                assert "count=2" in repr(rlock)
            assert rlock.locked()
        assert not rlock.locked()

    run_async(main)


def test_async_wait_with_a_zero_timeout_answers_without_yielding_to_the_loop() -> None:
    async def main() -> None:
        sem = Semaphore(0)
        loop = asyncio.get_running_loop()
        ran: list[str] = []
        loop.call_soon(ran.append, "callback")
        loop.call_soon(sem.release)  # would make a permit free if the wait let the loop run
        assert await sem.async_wait(timeout=0) == 0
        assert ran == [], "async_wait(timeout=0) yielded to the loop"
        assert sem.linkcount() == 0
        await asyncio.sleep(0)
        assert ran == ["callback"]
        assert sem.counter == 1
        assert await sem.async_wait() == 1  # a permit is free: at once, and not taken
        assert await sem.async_wait(timeout=0) == 1
        assert sem.counter == 1

    run_async(main)


def test_capped_async_release_checks_its_timeout_first() -> None:
    async def main() -> None:
        sem = CappedSemaphore(0, upper_bound=1)
        with pytest.raises(ValueError, match="`timeout`"):
            await sem.async_release(timeout=-1)
        with pytest.raises(TypeError, match="`timeout`"):
            await sem.async_release(timeout="1")  # type: ignore[arg-type]
        assert sem.counter == 0, "a release with a bad timeout went through"
        assert await sem.async_release() is True
        assert await sem.async_release(timeout=0) is False  # at the upper bound
        with pytest.raises(ValueError, match="`timeout`"):
            await sem.async_release(timeout=-1)
        assert sem.counter == 1

    run_async(main)


@pytest.mark.parametrize("how", ["cancel", "timeout", "wait_for"])
def test_cancelled_task_gives_back_what_it_was_handed(how: str) -> None:
    async def main() -> None:
        sem = Semaphore(0)
        waiter = asyncio.create_task(_cancellable(sem, how))
        behind = asyncio.create_task(sem.async_acquire(timeout=LONG))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        if how == "cancel":
            assert sem.linkcount() == 2
        sem.release()  # handed to ``waiter`` (if still there), which has not run yet...
        if how == "cancel":
            waiter.cancel()  # ...and is cancelled before it does
            with pytest.raises(asyncio.CancelledError):
                await waiter
        else:
            # Its own timeout races the hand-off: either outcome, nothing lost.
            try:
                assert await waiter is True
                sem.release()  # it got the permit: it gives it back
            except (asyncio.CancelledError, TimeoutError):
                pass
        assert await behind is True  # the permit went on
        assert (sem.counter, sem.linkcount()) == (0, 0)

    run_async(main)


async def _cancellable(sem: Semaphore, how: str) -> bool:
    if how == "timeout":
        async with asyncio.timeout(0.001):
            return await sem.async_acquire()
    if how == "wait_for":
        return await asyncio.wait_for(sem.async_acquire(), 0.001)
    return await sem.async_acquire()


# -- weak references and memory -----------------------------------------------------------------


def _public_classes() -> Iterator[type]:
    import greensync.lock as package

    for name in package.__all__:
        obj = getattr(package, name)
        if isinstance(obj, type):
            yield obj


_MAKERS: dict[str, Callable[[], object]] = {
    "Barrier": lambda: Barrier(2),
    "CappedSemaphore": lambda: CappedSemaphore(1),
}


@pytest.mark.parametrize("cls", list(_public_classes()), ids=lambda cls: cls.__name__)
def test_every_public_class_can_be_weakly_referenced(cls: type) -> None:
    import gc
    import weakref

    obj = _MAKERS.get(cls.__name__, cls)()
    ref = weakref.ref(obj)
    assert ref() is obj
    del obj
    gc.collect()
    assert ref() is None  # and nothing kept it alive


@pytest.mark.parametrize(
    ("make_prim", "target"),
    [(Semaphore, 152), (Lock, 176), (RLock, 216)],
    ids=["Semaphore", "Lock", "RLock"],
)
def test_memory_per_instance_is_within_the_benchmark_targets(
    make_prim: Callable[[], object], target: int
) -> None:
    """Bytes per instance as the benchmarks trace them (gevent's figures are the targets)."""
    import gc
    import tracemalloc

    count = 1000
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        keep = [make_prim() for _ in range(count)]
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    per = (after - before - sys.getsizeof(keep)) / count
    print(f"\n[lock memory] {make_prim.__name__}: {per:.0f} bytes per instance")
    assert per <= target


@pytest.mark.parametrize("lock_kind", ["Lock", "RLock"])
def test_a_notified_task_cancelled_before_it_runs_passes_the_notification_on(
    lock_kind: str,
) -> None:
    """``notify`` moved the task onto the lock's line and the release handed it the lock;
    it is cancelled before it runs.  It gives the lock back, takes it again (a Condition's
    waiter leaves holding the lock), passes the notification on and raises CancelledError:
    the other waiter wakes, holding the lock, and nothing is left behind."""

    async def main() -> None:
        cond = Condition(Lock() if lock_kind == "Lock" else RLock())
        woke: list[str] = []

        async def waiter(name: str) -> None:
            async with cond:
                assert await cond.async_wait(LONG) is True
                woke.append(name)

        first = asyncio.create_task(waiter("first"))
        second = asyncio.create_task(waiter("second"))
        for _ in range(3):
            await asyncio.sleep(0)
        assert cond._line.linkcount() == 2
        await cond.async_acquire()
        cond.notify()  # "first" moves onto the lock's line
        cond.release()  # and is handed the lock...
        first.cancel()  # ...but is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await first
        await asyncio.wait_for(second, LONG)
        assert woke == ["second"]
        assert (cond.locked(), cond._line.linkcount(), cond._lock.linkcount()) == (False, 0, 0)

    run_async(main)
