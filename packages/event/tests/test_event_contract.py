"""The contract Event, AsyncResult and ValueEvent share, written once and run against each.

After the way CPython's ``Lib/test/lock_tests.py`` and trio's generic lock tests parametrize
over implementations (in spirit; the code is ours): the ``kind`` fixture (see conftest) says how
to set each kind, what its wait returns and what a timed-out wait does; the ``waiters``
fixture says who waits -- a greenlet, an asyncio task of the same thread, a task on a loop in
another thread, a plain thread -- so each test about waiters runs once per kind of waiter
(DESIGN rule 9), from one body.

Marked ``contract``: the nox ``chaos`` session runs this module under the seeded chaos scheduler,
which shuffles each hub turn's callbacks and makes every blocking point yield once first.  So
the tests assert what the protocol promises -- waiters wake in the order they *began to wait*
(each is started only once the previous one waits in the line), all of them, once; nothing is
left behind -- never the interleaving of unrelated greenlets.  Order is asserted among waiters
that one scheduler runs (a thread's hub, one loop); plain threads run as the OS schedules them.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from greenlet import getcurrent

from greensync.hub import LoopExit, get_hub, iwait, sleep, spawn, wait
from greensync.hub.testing import (
    ChaosHub,
    assert_no_links,
    existing_hub,
    pending_callbacks,
    run_in_threads,
    run_until_blocked,
    spawn_all,
)

if TYPE_CHECKING:
    from packages.event.tests.conftest import Kind, Waiters

pytestmark = pytest.mark.contract

TIMED_OUT = "timed out"  # what Kind.outcome() returns for a timed-out wait
PATIENCE = 30.0


def wait_for(predicate: Callable[[], bool], what: str, limit: float = PATIENCE) -> None:
    """Let the hub run until ``predicate()`` holds (polling; never asserts a duration)."""
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        sleep(0.001)


# -- waiting on a fired object ------------------------------------------------------------------


def test_fired_object_is_ready_and_waits_return_at_once_without_a_hub(
    kind: Kind, in_plain_thread: Callable[[Callable[[], Any]], Any]
) -> None:
    value = object()

    def body() -> object:
        obj = kind.make()
        assert obj.ready() is False
        assert kind.outcome(obj, 0) == TIMED_OUT  # a zero timeout only looks
        kind.fire(obj, value)  # no waiters: no hub needed
        assert obj.ready() is True
        expected = kind.expect(value)
        for timeout in (None, 0, 0.0, 5, 2.5, math.inf):
            assert kind.wait(obj, timeout) is expected

        async def twin() -> None:
            for timeout in (None, 0, 5, math.inf):
                assert await kind.async_wait(obj, timeout) is expected

        asyncio.run(twin())
        assert obj.linkcount() == 0
        assert obj.waitline is None  # nobody ever had to wait: no line was made
        return existing_hub()

    assert in_plain_thread(body) is None


def test_waiting_on_a_fired_object_neither_yields_nor_queues_a_callback(kind: Kind) -> None:
    obj = kind.make()
    kind.fire(obj, "v")
    ran: list[str] = []
    spawn(ran.append, "other")
    before = pending_callbacks()
    for timeout in (None, 0, 1.5):
        assert kind.wait(obj, timeout) == kind.expect("v")
    assert ran == []  # the other greenlet did not get to run: nobody yielded
    assert pending_callbacks() == before
    run_until_blocked()
    assert ran == ["other"]


def test_awaiting_a_fired_object_does_not_yield_to_the_loop(
    kind: Kind, in_plain_thread: Callable[[Callable[[], Any]], Any]
) -> None:
    obj = kind.make()
    kind.fire(obj, "v")

    async def main() -> list[object]:
        seen: list[object] = []
        other = asyncio.get_running_loop().create_task(asyncio.sleep(0, "other"))
        other.add_done_callback(lambda task: seen.append(task.result()))
        for timeout in (None, 0, 1.5):
            seen.append(await kind.async_wait(obj, timeout))
        await other
        return seen

    expected = kind.expect("v")
    assert in_plain_thread(lambda: asyncio.run(main())) == [expected, expected, expected, "other"]


@pytest.mark.parametrize(
    "method",
    ["run_callback", "run_callback_threadsafe", "call_later", "call_at", "switch", "_wake"],
)
def test_uncontended_calls_make_no_hub_call_even_when_a_hub_exists(
    kind: Kind, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    obj = kind.make()
    hub = get_hub()

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"hub.{method} was called")

    monkeypatch.setattr(hub, method, forbidden)
    assert kind.outcome(obj, 0) == TIMED_OUT  # looking at an unset object
    kind.fire(obj, "v")  # firing with nobody waiting
    for timeout in (None, 0, 5, math.inf):
        assert kind.wait(obj, timeout) == kind.expect("v")  # waiting on a fired object
    if kind.rearm is not None:
        kind.rearm(obj)
        kind.fire(obj, "w")
        assert kind.wait(obj, None) == kind.expect("w")
    assert obj.waitline is None  # and none of it needed a wait line
    monkeypatch.undo()
    assert_no_links(obj)


# -- waking ------------------------------------------------------------------------------------


def test_waiters_wake_in_the_order_they_began_to_wait_and_only_after_fire_returns(
    kind: Kind, waiters: Waiters
) -> None:
    obj = kind.make()
    names = ["a", "b", "c", "d", "e", "f"]
    for name in names:
        waiters.start(name, kind, obj)
    assert obj.linkcount() == len(names)
    value = object()
    waiters.fire(kind, obj, value)
    if waiters.same_thread:
        assert waiters.woke == []  # firing never switches away from the caller
    waiters.finish()
    assert waiters.results() == dict.fromkeys(names, kind.expect(value))
    assert all(w.after_fire for w in waiters.woke)
    if waiters.ordered:
        assert waiters.order() == names
    assert_no_links(obj)


def test_one_fire_wakes_every_waiter_without_a_hub_callback_per_waiter(
    kind: Kind, monkeypatch: pytest.MonkeyPatch
) -> None:
    obj = kind.make()
    tasks = spawn_all(lambda _: kind.wait(obj, None), range(100))
    run_until_blocked()
    assert obj.linkcount() == 100
    hub = get_hub()
    calls: list[object] = []
    for name in ("run_callback", "run_callback_threadsafe"):
        original = getattr(hub, name)

        def spy(fn: Callable[..., object], *args: Any, _original: Any = original) -> Any:
            calls.append(fn)
            return _original(fn, *args)

        monkeypatch.setattr(hub, name, spy)
    kind.fire(obj, 7)
    # The built-in hub queues each woken greenlet's switch itself; an adapter runs one host
    # callback for the whole batch.  Never one callback per waiter, and nobody ran yet.
    assert len(calls) <= 1
    assert not any(task.dead for task in tasks)
    monkeypatch.undo()
    run_until_blocked()
    assert [task.get() for task in tasks] == [kind.expect(7)] * 100
    assert_no_links(obj)


def test_firing_again_does_nothing_or_is_an_error_and_wakes_nobody_twice(
    kind: Kind, waiters: Waiters
) -> None:
    obj = kind.make()
    for name in "abc":
        waiters.start(name, kind, obj)
    waiters.fire(kind, obj, "first")
    before = pending_callbacks()
    if kind.refire_raises:
        with pytest.raises(RuntimeError, match="already"):
            kind.fire(obj, "second")
    else:
        kind.fire(obj, "second")
    assert pending_callbacks() == before  # the second fire scheduled nothing here
    waiters.finish()
    assert waiters.results() == dict.fromkeys("abc", kind.expect("first"))
    assert len(waiters.woke) == 3
    assert kind.wait(obj, None) == kind.expect("first")  # the first outcome is kept
    assert_no_links(obj)


def test_waiters_woken_by_a_fire_keep_its_outcome_across_a_rearm_and_refire(
    rearmable: Kind, waiters: Waiters
) -> None:
    kind = rearmable
    assert kind.rearm is not None
    obj = kind.make()
    a = waiters.start("a", kind, obj)
    b = waiters.start("b", kind, obj)
    waiters.fire(kind, obj, "first")
    kind.rearm(obj)
    kind.fire(obj, "second")
    kind.rearm(obj)  # unset again, before any waiter of this thread ran
    waiters.finish(a, b)
    assert waiters.results() == {"a": kind.expect("first"), "b": kind.expect("first")}
    # A new waiter waits for the next fire, not for anything that came before.
    late = waiters.start("late", kind, obj)
    sleep(0.01)
    assert not late.outcome
    assert obj.linkcount() == 1
    kind.fire(obj, "third")
    waiters.finish(late)
    assert late.result == kind.expect("third")
    assert_no_links(obj)


# -- timeouts ----------------------------------------------------------------------------------


def test_wait_that_times_out_returns_false_or_raises_per_kind_and_leaves_no_link(
    kind: Kind, waiters: Waiters
) -> None:
    obj = kind.make()
    early = waiters.start("early", kind, obj, timeout=0.01, settle=False)
    waiters.finish(early)
    assert early.result == TIMED_OUT
    assert_no_links(obj)
    assert obj.ready() is False
    late = waiters.start("late", kind, obj)
    waiters.fire(kind, obj, "late")  # the object still works
    waiters.finish(late)
    assert late.result == kind.expect("late")
    assert_no_links(obj)


def test_timed_waiters_leave_and_the_others_still_wake_in_order(
    kind: Kind, waiters: Waiters
) -> None:
    obj = kind.make()
    timeouts = {"a": None, "b": 0.01, "c": None, "d": 0.02, "e": None}
    started = {name: waiters.start(name, kind, obj, timeouts[name]) for name in timeouts}
    waiters.finish(started["b"], started["d"])
    assert waiters.results() == {"b": TIMED_OUT, "d": TIMED_OUT}
    assert obj.linkcount() == 3
    waiters.fire(kind, obj, "v")
    waiters.finish()
    assert waiters.results() == {
        "a": kind.expect("v"),
        "b": TIMED_OUT,
        "c": kind.expect("v"),
        "d": TIMED_OUT,
        "e": kind.expect("v"),
    }
    if waiters.ordered:
        assert waiters.order()[2:] == ["a", "c", "e"]
    assert_no_links(obj)


# -- early leavers -----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["timeout", "kill", "throw"])
def test_a_waiter_that_leaves_early_leaves_no_link_and_the_rest_wake_once(
    kind: Kind, waiters: Waiters, how: str
) -> None:
    """``kill`` kills a greenlet and cancels a task; ``throw`` throws an outer exception into
    a greenlet; a plain thread can only time out."""
    obj = kind.make()
    if how != "timeout" and how not in waiters.strikes:
        pytest.skip(f"a {waiters} waiter cannot be struck by {how!r}")
    a = waiters.start("a", kind, obj)
    b = waiters.start("b", kind, obj, 0.01 if how == "timeout" else None)
    c = waiters.start("c", kind, obj)
    if how != "timeout":
        waiters.strike(b, how)
    waiters.finish(b)
    assert obj.linkcount() == 2
    struck = {"timeout": TIMED_OUT, "kill": "", "throw": "Outer"}[how]
    if how == "kill":
        struck = "GreenletExit" if waiters.name == "greenlet" else "CancelledError"
    assert b.result == struck
    waiters.fire(kind, obj, "v")
    waiters.finish(a, c)
    assert {w.label: w.result for w in (a, c)} == dict.fromkeys("ac", kind.expect("v"))
    if waiters.ordered:
        assert waiters.order() == ["b", "a", "c"]
    assert len(waiters.woke) == 3
    assert_no_links(obj)


def test_a_task_cancelled_while_waiting_leaves_no_link_however_it_is_cancelled(
    kind: Kind, in_plain_thread: Callable[[Callable[[], Any]], Any]
) -> None:
    """``task.cancel()``, ``asyncio.timeout`` and ``asyncio.wait_for`` each leave the line
    like a timed-out greenlet; the other tasks still get the fire, once."""
    obj = kind.make()

    async def main() -> dict[str, object]:
        got: dict[str, object] = {}

        async def waiter(name: str) -> None:
            try:
                got[name] = await kind.async_wait(obj, None)
            except asyncio.CancelledError:
                got[name] = "cancelled"
                raise

        async def with_timeout() -> None:
            try:
                async with asyncio.timeout(0.01):
                    await kind.async_wait(obj, None)
            except TimeoutError:
                got["asyncio.timeout"] = "left"

        async def with_wait_for() -> None:
            try:
                await asyncio.wait_for(kind.async_wait(obj, None), 0.01)
            except TimeoutError:
                got["wait_for"] = "left"

        loop = asyncio.get_running_loop()
        first = loop.create_task(waiter("first"))
        doomed = loop.create_task(waiter("cancel"))
        timed = loop.create_task(with_timeout())
        waited = loop.create_task(with_wait_for())
        last = loop.create_task(waiter("last"))
        while obj.linkcount() < 5:
            await asyncio.sleep(0.001)
        doomed.cancel()
        await asyncio.wait([doomed, timed, waited])
        assert obj.linkcount() == 2
        kind.fire(obj, "v")
        await asyncio.wait([first, last])
        return got

    got = in_plain_thread(lambda: asyncio.run(main()))
    assert got == {
        "cancel": "cancelled",
        "asyncio.timeout": "left",
        "wait_for": "left",
        "first": kind.expect("v"),
        "last": kind.expect("v"),
    }
    assert_no_links(obj)


def test_a_task_cancelled_after_the_fire_reached_it_raises_and_loses_nobody_else(
    kind: Kind, in_plain_thread: Callable[[Callable[[], Any]], Any]
) -> None:
    """The cancel arrives after the fire handed the task its wake-up, before it ran: its
    ``await`` raises ``CancelledError`` (as asyncio requires), the others get the fire."""
    obj = kind.make()

    async def main() -> dict[str, object]:
        got: dict[str, object] = {}

        async def waiter(name: str) -> None:
            try:
                got[name] = await kind.async_wait(obj, None)
            except asyncio.CancelledError:
                got[name] = "cancelled"
                raise

        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(waiter(name)) for name in "abc"]
        while obj.linkcount() < 3:
            await asyncio.sleep(0.001)
        kind.fire(obj, "v")  # hands each its wake-up; none has run yet
        tasks[1].cancel()
        await asyncio.wait(tasks)
        return got

    got = in_plain_thread(lambda: asyncio.run(main()))
    assert got == {"a": kind.expect("v"), "b": "cancelled", "c": kind.expect("v")}
    assert_no_links(obj)


# -- blocking where it must not ----------------------------------------------------------------


@pytest.mark.parametrize("timeout", [None, 5])
def test_a_blocking_wait_from_a_coroutine_names_the_awaitable_twin(
    kind: Kind, timeout: float | None, in_plain_thread: Callable[[Callable[[], Any]], Any]
) -> None:
    """Blocking would freeze the loop that must wake it: an error naming the ``async_``
    method.  Calls that do not block (a fire, a zero timeout, a fired object) stay allowed."""
    obj = kind.make()

    async def main() -> list[object]:
        seen: list[object] = []
        try:
            seen.append(kind.wait(obj, timeout))
        except RuntimeError as exc:
            seen.append(str(exc))
        seen.append(kind.outcome(obj, 0))
        kind.fire(obj, "v")
        seen.append(kind.wait(obj, None))
        return seen

    message, *rest = in_plain_thread(lambda: asyncio.run(main()))
    twin = f"async_{kind.twin.removeprefix('async_')}"
    assert isinstance(message, str)
    assert message.startswith("cannot block a coroutine's event loop"), message
    assert f".{twin}(" in message
    assert type(obj).__name__ in message
    assert rest == [TIMED_OUT, kind.expect("v")]
    assert_no_links(obj)


# -- LoopExit ----------------------------------------------------------------------------------


def test_main_greenlet_waiting_forever_gets_loop_exit_naming_the_object(kind: Kind) -> None:
    obj = kind.make()
    with pytest.raises(LoopExit) as info:
        kind.wait(obj, None)
    assert info.value.waiting_on is obj
    assert_no_links(obj)
    kind.fire(obj, "after")
    assert kind.wait(obj, None) == kind.expect("after")


# -- threads -----------------------------------------------------------------------------------


def test_fire_from_a_thread_without_a_hub_wakes_waiters_where_they_wait(
    kind: Kind, waiters: Waiters
) -> None:
    obj = kind.make()
    for name in "abcd":
        waiters.start(name, kind, obj)
    hub_in_firer: list[object] = []

    def firer() -> None:
        waiters.fire(kind, obj, "far")
        hub_in_firer.append(existing_hub())

    thread = threading.Thread(target=firer)
    thread.start()
    thread.join(PATIENCE)
    assert hub_in_firer == [None]  # waking waiters of other threads made no hub here
    waiters.finish()
    assert waiters.results() == dict.fromkeys("abcd", kind.expect("far"))
    # Each woke in the thread it waited in: its own hub or loop ran it.
    assert all(w.woke_in == w.began_in for w in waiters.started)
    if waiters.ordered:
        assert waiters.order() == list("abcd")
    assert_no_links(obj)


def test_one_thread_fires_and_greenlets_in_every_other_thread_wake_in_their_order(
    kind: Kind,
) -> None:
    obj = kind.make()
    waiting_threads, per_thread = 3, 5

    def body(index: int) -> object:
        if index == waiting_threads:
            wait_for(lambda: obj.linkcount() == waiting_threads * per_thread, "all waiters")
            kind.fire(obj, "go")
            return None
        began: list[int] = []
        woke: list[tuple[int, object]] = []

        def waiter(n: int) -> None:
            began.append(n)
            woke.append((n, kind.wait(obj, None)))

        for task in spawn_all(waiter, range(per_thread)):
            task.join()
        if isinstance(get_hub(), ChaosHub):
            woke.sort()  # the chaos scheduler shuffles who runs first: check only who woke
            began.sort()
        return woke == [(n, kind.expect("go")) for n in began] and len(woke) == per_thread

    results = run_in_threads(body, waiting_threads + 1, timeout=60, what=f"{kind} fan-out")
    assert results == [True] * waiting_threads + [None]
    assert_no_links(obj)


def test_every_kind_of_waiter_in_one_line_wakes_once_each_in_its_own_order(
    kind: Kind, waiter_kinds: dict[str, Waiters]
) -> None:
    """Greenlets and tasks of this thread (one asyncio loop runs both), tasks of a loop in
    another thread and plain threads, queued on one object in a known interleaving; a plain
    thread fires.  Everyone wakes once, in the thread it waits in; waiters that one scheduler
    runs wake in the order they arrived."""
    obj = kind.make()
    line = ["greenlet", "task", "far-task", "thread"] * 2 + ["task", "greenlet", "far-task"]
    for index, who in enumerate(line):
        waiter_kinds[who].start(f"{who}-{index}", kind, obj)
    assert obj.linkcount() == len(line)

    def firer() -> None:
        for each in waiter_kinds.values():
            each.fired = True
        kind.fire(obj, "all")

    thread = threading.Thread(target=firer)
    thread.start()
    thread.join(PATIENCE)
    for each in waiter_kinds.values():
        each.finish()
    for who, each in waiter_kinds.items():
        labels = [f"{who}-{index}" for index, name in enumerate(line) if name == who]
        assert each.results() == dict.fromkeys(labels, kind.expect("all")), who
        assert all(w.woke_in == w.began_in and w.after_fire for w in each.started), who
        if each.ordered:
            assert each.order() == labels, who
    assert_no_links(obj)


# -- rawlink / unlink / iwait ------------------------------------------------------------------


def test_rawlink_runs_once_in_the_registering_threads_hub_after_a_fire_from_elsewhere(
    kind: Kind,
) -> None:
    obj = kind.make()
    calls: list[tuple[object, bool, int]] = []
    hub = get_hub()

    def callback(arg: object) -> None:
        calls.append((arg, getcurrent() is hub.loop_greenlet, threading.get_ident()))

    def never(arg: object) -> None:
        calls.append(("never", False, 0))

    obj.rawlink(callback)
    obj.rawlink(never)
    obj.unlink(never)
    obj.unlink(lambda _: None)  # never registered: nothing happens
    assert obj.linkcount() == 1
    thread = threading.Thread(target=kind.fire, args=(obj, "x"))
    thread.start()
    thread.join(PATIENCE)
    assert calls == []  # deferred to this thread's hub
    wait_for(lambda: bool(calls), "the callback")
    run_until_blocked()
    assert calls == [(obj, True, threading.get_ident())]
    assert_no_links(obj)
    # Registered on a ready object: called on the next turn, once.
    obj.rawlink(callback)
    assert len(calls) == 1
    run_until_blocked()
    assert len(calls) == 2
    assert_no_links(obj)


def test_iwait_yields_objects_in_the_order_they_were_fired_and_unlinks(kind: Kind) -> None:
    objs = [kind.make() for _ in range(4)]
    assert wait(objs, timeout=0.01) == []
    assert_no_links(*objs)

    def firer() -> None:
        for index in (2, 0, 3):
            kind.fire(objs[index], index)
            sleep(0)

    spawn(firer)
    seen = []
    for obj in iwait(objs, count=3):
        seen.append(obj)
        assert kind.wait(obj, 0) == kind.expect(objs.index(obj))
    assert seen == [objs[2], objs[0], objs[3]]
    assert_no_links(*objs)
    assert wait(objs, timeout=0.01) == [objs[0], objs[2], objs[3]]
    assert_no_links(*objs)
