"""Every kind of waiter in one line: the queue contract, run once per kind of waiter.

A waiter is a greenlet (here on the driver's asyncio loop, through ``run_greenlet``), an asyncio
task on the driver's loop, a task on a loop running in another thread, or a plain OS thread
(with its own hub).  Greenlets and threads call the blocking methods, tasks their ``async_``
twins; all of them wait in the same FIFO lines (DESIGN rule 9).  Each test runs in a fresh
thread whose asyncio loop drives it: it starts waiters one at a time, each counted in
``getting()``/``putting()`` before the next starts, so the order they came in is known and the
assertions are about that order, never about timing.

Part of the contract suite (the chaos session runs it under many seeds).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest
from greenlet import GreenletExit

from greensync.hub import Task, spawn
from greensync.hub.aio import bind_running_loop, wait_ready
from greensync.hub.testing import assert_no_links, existing_hub, run_in_threads
from greensync.queue import (
    Channel,
    Empty,
    Full,
    LifoQueue,
    PriorityQueue,
    Queue,
    ShutDown,
    SimpleQueue,
)

pytestmark = pytest.mark.contract

KINDS = ["greenlet", "task", "task elsewhere", "thread"]
#: The kinds that can be cancelled while they wait (a plain thread cannot).
CANCELLABLE = ["greenlet", "task", "task elsewhere"]

MAKERS: dict[str, Callable[[], Any]] = {
    "Queue": lambda: Queue(1),
    "SimpleQueue": lambda: SimpleQueue(1),
    "LifoQueue": lambda: LifoQueue(1),
    "PriorityQueue": lambda: PriorityQueue(1),
    "Channel": Channel,
}
QUEUES = [Queue, SimpleQueue, LifoQueue, PriorityQueue]
#: Long enough never to expire in a passing test; a deadlock still fails fast.
PATIENCE = 10.0


@pytest.fixture(params=sorted(MAKERS))
def make(request: pytest.FixtureRequest) -> Callable[[], Any]:
    """A factory of an empty queue (room for one item) or channel."""
    factory: Callable[[], Any] = MAKERS[request.param]
    return factory


class OtherLoop:
    """An asyncio loop running in a thread of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> RemoteTask:
        return RemoteTask(self.loop, coro)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(PATIENCE)
        assert not self.thread.is_alive(), "the other loop's thread did not stop"
        self.loop.close()


class RemoteTask:
    """A task on another thread's loop, whose true outcome (a cancellation that came too late
    included) is reported in :attr:`outcome`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> None:
        self.loop = loop
        self.outcome: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.task: asyncio.Task[Any] | None = None
        loop.call_soon_threadsafe(self._create, coro)

    def _create(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.task = self.loop.create_task(coro)
        self.task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            self.outcome.set_exception(asyncio.CancelledError())
        elif task.exception() is not None:
            self.outcome.set_exception(task.exception())
        else:
            self.outcome.set_result(task.result())

    def cancel(self) -> None:
        def cancel() -> None:
            assert self.task is not None  # created by an earlier callback of the same loop
            self.task.cancel()

        self.loop.call_soon_threadsafe(cancel)


class Waiters:
    """Starts waiters of each kind on the driver's loop; see the module documentation."""

    def __init__(self) -> None:
        self.other: OtherLoop | None = None
        self.threads: list[threading.Thread] = []
        self.greenlets: dict[asyncio.Future[Any], Task[Any]] = {}
        self.remote: dict[asyncio.Future[Any], RemoteTask] = {}

    def start(
        self,
        kind: str,
        call: Callable[[], Any],
        acall: Callable[[], Coroutine[Any, Any, Any]],
    ) -> asyncio.Future[Any]:
        """Start ``call()`` (greenlet, thread) or ``await acall()`` (tasks) as a ``kind``."""
        if kind == "greenlet":
            bind_running_loop()  # greenlets of this thread run on the driver's loop
            task = spawn(call)
            future = asyncio.ensure_future(self._result_of(task))
            self.greenlets[future] = task
            return future
        if kind == "task":
            return asyncio.ensure_future(acall())
        if kind == "task elsewhere":
            if self.other is None:
                self.other = OtherLoop()
            remote = self.other.submit(acall())
            wrapped = asyncio.wrap_future(remote.outcome)
            self.remote[wrapped] = remote
            return wrapped
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def body() -> None:
            try:
                done.set_result(call())
            except BaseException as exc:  # noqa: BLE001 - handed to the driver
                done.set_exception(exc)
            finally:
                hub = existing_hub()
                if hub is not None:
                    hub.destroy()

        thread = threading.Thread(target=body, daemon=True)
        thread.start()
        self.threads.append(thread)
        return asyncio.wrap_future(done)

    @staticmethod
    async def _result_of(task: Task[Any]) -> Any:
        await wait_ready(task)
        return task.get(block=False)

    def cancel(self, future: asyncio.Future[Any]) -> None:
        """Kill the greenlet, or cancel the task, behind ``future``."""
        task = self.greenlets.get(future)
        remote = self.remote.get(future)
        if task is not None:
            task.kill(block=False)
        elif remote is not None:
            remote.cancel()
        else:
            future.cancel()

    async def until(self, condition: Callable[[], object], what: str) -> None:
        """Let the others run until ``condition()`` holds; fail, naming ``what``, if it never
        does."""
        deadline = time.monotonic() + PATIENCE
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"never happened: {what}")
            await asyncio.sleep(0.001)

    async def outcome(self, future: asyncio.Future[Any]) -> str:
        """How a waiter ended: ``"got <x>"`` (or ``"done"`` for None), or its exception's name."""
        try:
            result = await asyncio.wait_for(asyncio.shield(future), PATIENCE)
        except asyncio.CancelledError:
            return "cancelled"
        except (Empty, Full, ShutDown) as exc:
            return type(exc).__name__
        except BaseException as exc:  # noqa: BLE001 - a kill shows up as GreenletExit
            return type(exc).__name__
        if isinstance(result, GreenletExit):
            return "cancelled"  # a killed greenlet's value
        return "done" if result is None else f"got {result!r}"

    def close(self) -> None:
        for thread in self.threads:
            thread.join(PATIENCE)
        assert not any(thread.is_alive() for thread in self.threads), "a waiter thread hangs"
        if self.other is not None:
            self.other.close()


def drive(body: Callable[[Waiters], Awaitable[None]]) -> None:
    """Run ``await body(waiters)`` on an asyncio loop in a fresh thread."""

    async def main() -> None:
        waiters = Waiters()
        try:
            await body(waiters)
        finally:
            waiters.close()

    run_in_threads(lambda _: asyncio.run(main()), 1, timeout=60, what="the waiter kinds")


def settled(q: Any) -> None:
    assert (q.getting(), q.putting()) == (0, 0)
    assert_no_links(q)


def fill(q: Any) -> list[Any]:
    """Make a put on ``q`` block; return what gets return before any later put's item."""
    if isinstance(q, Channel):
        return []
    q.put_nowait(-1)
    return [-1]


async def get_eventually(w: Waiters, q: Any) -> Any:
    """``q.get_nowait()`` once an item is there (a putter handed room stores it when it runs)."""
    box: list[Any] = []

    def got() -> bool:
        try:
            box.append(q.get_nowait())
        except Empty:
            return False
        return True

    await w.until(got, f"an item to get from {q!r}")
    return box[0]


def getter(w: Waiters, kind: str, q: Any, timeout: float = PATIENCE) -> asyncio.Future[Any]:
    return w.start(kind, lambda: q.get(timeout=timeout), lambda: q.async_get(timeout=timeout))


def putter(
    w: Waiters, kind: str, q: Any, item: Any, timeout: float = PATIENCE
) -> asyncio.Future[Any]:
    return w.start(
        kind, lambda: q.put(item, timeout=timeout), lambda: q.async_put(item, timeout=timeout)
    )


# -- one kind at a time ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_getters_of_every_kind_are_served_in_the_order_they_came(
    kind: str, make: Callable[[], Any]
) -> None:
    async def body(w: Waiters) -> None:
        q = make()
        waiting = []
        for n in range(1, 4):
            waiting.append(getter(w, kind, q))
            await w.until(lambda n=n: q.getting() == n, f"{n} getters")  # type: ignore[misc]
        for item in [3, 1, 2]:
            q.put_nowait(item)  # each handed to the first getter still waiting
        got = [await w.outcome(future) for future in waiting]
        if isinstance(q, PriorityQueue):
            # Claims on the heap: each takes the lowest item there when it runs, and getters
            # in other threads may run in any order.
            assert sorted(got) == ["got 1", "got 2", "got 3"]
        else:
            assert got == ["got 3", "got 1", "got 2"]
        assert q.qsize() == 0
        settled(q)

    drive(body)


@pytest.mark.parametrize("kind", KINDS)
def test_putters_of_every_kind_are_served_in_the_order_they_came(
    kind: str, make: Callable[[], Any]
) -> None:
    async def body(w: Waiters) -> None:
        q = make()
        before = fill(q)
        waiting = []
        for n in range(1, 4):
            waiting.append(putter(w, kind, q, n - 1))
            await w.until(lambda n=n: q.putting() == n, f"{n} putters")  # type: ignore[misc]
        got = [await get_eventually(w, q) for _ in range(len(before) + 3)]
        assert got == [*before, 0, 1, 2]
        assert [await w.outcome(future) for future in waiting] == ["done"] * 3
        settled(q)

    drive(body)


@pytest.mark.parametrize("kind", KINDS)
def test_waits_of_every_kind_time_out_and_leave_nothing_behind(
    kind: str, make: Callable[[], Any]
) -> None:
    async def body(w: Waiters) -> None:
        q = make()
        assert await w.outcome(getter(w, kind, q, timeout=0.01)) == "Empty"
        settled(q)
        before = fill(q)
        assert await w.outcome(putter(w, kind, q, "late", timeout=0.01)) == "Full"
        assert q.qsize() == len(before)
        settled(q)
        # Still works, both ways.
        assert [q.get_nowait() for _ in before] == before
        waiting = getter(w, kind, q)
        await w.until(lambda: q.getting() == 1, "a getter")
        q.put_nowait("x")
        assert await w.outcome(waiting) == "got 'x'"
        settled(q)

    drive(body)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cls", QUEUES, ids=lambda cls: cls.__name__)
def test_shutdown_wakes_getters_and_putters_of_every_kind(kind: str, cls: Any) -> None:
    async def body(w: Waiters) -> None:
        empty, full = cls(1), cls(1)
        full.put_nowait("kept")
        waiting = [getter(w, kind, empty)]
        await w.until(lambda: empty.getting() == 1, "a getter")
        waiting.append(putter(w, kind, full, "refused"))
        await w.until(lambda: full.putting() == 1, "a putter")
        empty.shutdown()
        full.shutdown()
        assert [await w.outcome(future) for future in waiting] == ["ShutDown", "ShutDown"]
        assert full.get_nowait() == "kept"
        settled(empty)
        settled(full)

    drive(body)


@pytest.mark.parametrize("kind", KINDS)
def test_peek_and_join_wait_for_every_kind(kind: str) -> None:
    async def body(w: Waiters) -> None:
        q: Queue[str] = Queue()
        peeker = w.start(kind, lambda: q.peek(timeout=PATIENCE), lambda: q.async_peek(PATIENCE))
        await asyncio.sleep(0.02)
        assert not peeker.done()
        q.put_nowait("x")
        assert await w.outcome(peeker) == "got 'x'"
        assert q.get_nowait() == "x"  # a peek leaves the item
        joiner = w.start(kind, lambda: q.join(timeout=PATIENCE), lambda: q.async_join(PATIENCE))
        await asyncio.sleep(0.02)
        assert not joiner.done()
        q.task_done()
        assert await w.outcome(joiner) == "got True"
        settled(q)

    drive(body)


# -- every kind in one line -----------------------------------------------------------------


def test_getters_of_every_kind_share_one_fifo_line(make: Callable[[], Any]) -> None:
    async def body(w: Waiters) -> None:
        q = make()
        kinds = KINDS * 2
        waiting = []
        for n, kind in enumerate(kinds, 1):
            waiting.append(getter(w, kind, q))
            await w.until(lambda n=n: q.getting() == n, f"{n} getters")  # type: ignore[misc]
        for item in range(len(kinds)):
            q.put_nowait(item)
        got = [await w.outcome(future) for future in waiting]
        if isinstance(q, PriorityQueue):
            assert sorted(got) == sorted(f"got {i}" for i in range(len(kinds)))
        else:
            assert got == [f"got {i}" for i in range(len(kinds))]
        settled(q)

    drive(body)


def test_putters_of_every_kind_share_one_fifo_line(make: Callable[[], Any]) -> None:
    async def body(w: Waiters) -> None:
        q = make()
        before = fill(q)
        kinds = KINDS * 2
        waiting = []
        for n, kind in enumerate(kinds, 1):
            waiting.append(putter(w, kind, q, n))
            await w.until(lambda n=n: q.putting() == n, f"{n} putters")  # type: ignore[misc]
        got = [await get_eventually(w, q) for _ in range(len(before) + len(kinds))]
        assert got == [*before, *range(1, len(kinds) + 1)]
        assert [await w.outcome(future) for future in waiting] == ["done"] * len(kinds)
        settled(q)

    drive(body)


# -- cancelled at the moment of hand-off ------------------------------------------------------


@pytest.mark.parametrize("kind", CANCELLABLE)
def test_a_getter_cancelled_after_it_was_handed_an_item_passes_it_on(
    kind: str, make: Callable[[], Any]
) -> None:
    # The item is handed over and the cancellation sent in the same step of the driver, before
    # the getter ran: it leaves as a timed-out greenlet would, and the item goes to the next
    # getter.  (On another loop or hub the getter may run first: then it has the item.)
    async def body(w: Waiters) -> None:
        q = make()
        first = getter(w, kind, q)
        await w.until(lambda: q.getting() == 1, "the first getter")
        second = getter(w, kind, q)
        await w.until(lambda: q.getting() == 2, "the second getter")
        q.put_nowait("x")
        w.cancel(first)
        outcomes = [await w.outcome(first)]
        if outcomes[0] == "got 'x'":
            q.put_nowait("y")  # the first ran before its cancellation: the second needs one
        outcomes.append(await w.outcome(second))
        assert outcomes in (["cancelled", "got 'x'"], ["got 'x'", "got 'y'"]), outcomes
        if kind == "task":
            assert outcomes == ["cancelled", "got 'x'"]  # same loop: cancelled before it ran
        assert q.qsize() == 0
        settled(q)

    drive(body)


@pytest.mark.parametrize("kind", CANCELLABLE)
@pytest.mark.parametrize("cls", QUEUES, ids=lambda cls: cls.__name__)
def test_a_getter_cancelled_after_it_was_handed_the_only_item_gives_it_back(
    kind: str, cls: Any
) -> None:
    async def body(w: Waiters) -> None:
        q = cls()
        waiting = getter(w, kind, q)
        await w.until(lambda: q.getting() == 1, "a getter")
        q.put_nowait("x")
        w.cancel(waiting)
        outcome = await w.outcome(waiting)
        if outcome == "cancelled":
            await w.until(lambda: q.qsize() == 1, "the item back in the queue")
            assert q.get_nowait() == "x"
        else:
            assert outcome == "got 'x'"
        assert q.qsize() == 0
        if isinstance(q, Queue):
            assert q.unfinished_tasks == 1
        settled(q)

    drive(body)


@pytest.mark.parametrize("kind", CANCELLABLE)
@pytest.mark.parametrize("cls", QUEUES, ids=lambda cls: cls.__name__)
def test_a_putter_cancelled_after_it_was_handed_room_never_puts_and_passes_the_room_on(
    kind: str, cls: Any
) -> None:
    async def body(w: Waiters) -> None:
        q = cls(1)
        q.put_nowait("a")
        first = putter(w, kind, q, "b")
        await w.until(lambda: q.putting() == 1, "the first putter")
        second = putter(w, kind, q, "c")
        await w.until(lambda: q.putting() == 2, "the second putter")
        assert q.get_nowait() == "a"  # room for the first putter...
        w.cancel(first)  # ...cancelled before it ran
        outcomes = [await w.outcome(first)]
        got = [await get_eventually(w, q)]
        if outcomes[0] == "done":
            got.append(await get_eventually(w, q))  # it ran first, and put "b"
        outcomes.append(await w.outcome(second))
        if outcomes[0] == "cancelled":
            assert got == ["c"]  # a put that raised never put anything
        else:
            assert got == ["b", "c"]
        assert outcomes[1] == "done"
        if kind == "task":
            assert outcomes[0] == "cancelled"
        if isinstance(q, Queue):
            assert q.unfinished_tasks == 1 + len(got)
        settled(q)

    drive(body)


@pytest.mark.parametrize("kind", CANCELLABLE)
def test_a_channel_putter_cancelled_while_it_waits_delivers_nothing(kind: str) -> None:
    async def body(w: Waiters) -> None:
        ch: Channel[str] = Channel()
        first = putter(w, kind, ch, "a")
        await w.until(lambda: ch.putting() == 1, "the first putter")
        second = putter(w, kind, ch, "b")
        await w.until(lambda: ch.putting() == 2, "the second putter")
        w.cancel(first)
        assert await w.outcome(first) == "cancelled"
        await w.until(lambda: ch.putting() == 1, "the first putter gone")
        assert ch.get_nowait() == "b"
        assert await w.outcome(second) == "done"
        with pytest.raises(Empty):
            ch.get_nowait()
        settled(ch)

    drive(body)


# -- iteration ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_iteration_of_every_kind_ends_at_stopiteration_or_shutdown(kind: str) -> None:
    async def body(w: Waiters) -> None:
        for stop in ("StopIteration", "shutdown"):
            q: Queue[Any] = Queue()

            async def collect(q: Queue[Any] = q) -> list[Any]:
                return [item async for item in q]

            consumer = w.start(kind, lambda q=q: list(q), collect)  # type: ignore[misc]
            await w.until(lambda q=q: q.getting() == 1, "the consumer")  # type: ignore[misc]
            q.put_nowait(1)
            q.put_nowait(2)
            if stop == "shutdown":
                q.shutdown()
            else:
                q.put_nowait(StopIteration)
            assert await w.outcome(consumer) == "got [1, 2]"
            settled(q)

    drive(body)
