"""The contract Event, AsyncResult and ValueEvent share, written once and run against each.

After the way CPython's ``Lib/test/lock_tests.py`` and trio's generic lock tests parametrize
over implementations (in spirit; the code is ours): the ``kind`` fixture (see conftest) says how
to set each kind, what its wait returns and what a timed-out wait does.

Marked ``contract``: the nox ``chaos`` session runs this module under the seeded chaos scheduler,
which shuffles each hub turn's callbacks and makes every blocking point yield once first.  So
the tests assert what the protocol promises -- waiters wake in the order they *began to wait*
(recorded by the waiters themselves, not assumed from the spawn order), all of them, once;
nothing is left behind -- never the interleaving of unrelated greenlets.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from greenlet import getcurrent

from greensync.hub import LoopExit, get_hub, iwait, sleep, spawn, wait
from greensync.hub.testing import (
    assert_no_links,
    pending_callbacks,
    run_in_threads,
    run_until_blocked,
    spawn_all,
)
from greensync.hub.testing import existing_hub as _peek_hub

if TYPE_CHECKING:
    from packages.event.tests.conftest import Kind

pytestmark = pytest.mark.contract

TIMED_OUT = "timed out"  # what Kind.outcome() returns for a timed-out wait


class Outer(BaseException):
    """Stands in for an outer ``Timeout``: a BaseException thrown into a parked waiter."""


def wait_for(predicate: Callable[[], bool], what: str, limit: float = 30.0) -> None:
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
        assert obj.linkcount() == 0
        return _peek_hub()

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
    monkeypatch.undo()
    assert_no_links(obj)


# -- waking ------------------------------------------------------------------------------------


def test_waiters_wake_in_the_order_they_began_to_wait_and_only_after_fire_returns(
    kind: Kind,
) -> None:
    obj = kind.make()
    began: list[str] = []
    woke: list[tuple[str, object]] = []

    def waiter(name: str) -> None:
        began.append(name)  # nothing can run between this line and joining the line
        woke.append((name, kind.wait(obj, None)))

    names = ["a", "b", "c", "d", "e", "f"]
    tasks = spawn_all(waiter, names)
    run_until_blocked()
    assert sorted(began) == names
    assert obj.linkcount() == len(names)
    value = object()
    kind.fire(obj, value)
    assert woke == []  # firing never switches away from the caller
    run_until_blocked()
    assert woke == [(name, kind.expect(value)) for name in began]
    assert all(task.dead for task in tasks)
    assert_no_links(obj)


def test_one_fire_wakes_every_waiter_with_one_hub_callback(kind: Kind) -> None:
    obj = kind.make()
    tasks = spawn_all(lambda _: kind.wait(obj, None), range(100))
    run_until_blocked()
    assert obj.linkcount() == 100
    before = pending_callbacks()
    kind.fire(obj, 7)
    assert pending_callbacks() == before + 1
    run_until_blocked()
    assert [task.get() for task in tasks] == [kind.expect(7)] * 100
    assert_no_links(obj)


def test_firing_again_does_nothing_or_is_an_error_and_wakes_nobody_twice(kind: Kind) -> None:
    obj = kind.make()
    woke: list[object] = []
    spawn_all(lambda _: woke.append(kind.wait(obj, None)), range(3))
    run_until_blocked()
    kind.fire(obj, "first")
    before = pending_callbacks()
    if kind.refire_raises:
        with pytest.raises(RuntimeError, match="already"):
            kind.fire(obj, "second")
    else:
        kind.fire(obj, "second")
    assert pending_callbacks() == before  # the second fire scheduled nothing
    run_until_blocked()
    assert woke == [kind.expect("first")] * 3
    assert kind.wait(obj, None) == kind.expect("first")  # the first outcome is kept
    assert_no_links(obj)


def test_waiters_woken_by_a_fire_keep_its_outcome_across_a_rearm_and_refire(
    rearmable: Kind,
) -> None:
    kind = rearmable
    assert kind.rearm is not None
    obj = kind.make()
    woke: list[tuple[str, object]] = []

    def waiter(name: str) -> None:
        woke.append((name, kind.wait(obj, None)))

    spawn_all(waiter, ["a", "b"])
    run_until_blocked()
    kind.fire(obj, "first")
    kind.rearm(obj)
    kind.fire(obj, "second")
    kind.rearm(obj)  # unset again before any waiter ran
    run_until_blocked()
    assert sorted(woke, key=lambda item: item[0]) == [
        ("a", kind.expect("first")),
        ("b", kind.expect("first")),
    ]
    # A new waiter waits for the next fire, not for anything that came before.
    late = spawn(kind.wait, obj, None)
    run_until_blocked()
    assert not late.ready()
    assert obj.linkcount() == 1
    kind.fire(obj, "third")
    run_until_blocked()
    assert late.get() == kind.expect("third")
    assert_no_links(obj)


# -- timeouts ----------------------------------------------------------------------------------


def test_wait_that_times_out_returns_false_or_raises_per_kind_and_leaves_no_link(
    kind: Kind,
) -> None:
    obj = kind.make()
    if kind.timeout_raises:
        with pytest.raises(TimeoutError):
            kind.wait(obj, 0.01)
    else:
        assert kind.wait(obj, 0.01) is False
    assert_no_links(obj)
    assert obj.ready() is False
    spawn(kind.fire, obj, "late")
    assert kind.wait(obj, None) == kind.expect("late")  # the object still works


def test_timed_waiters_leave_and_the_others_still_wake_in_order(kind: Kind) -> None:
    obj = kind.make()
    began: list[str] = []
    outcomes: dict[str, object] = {}
    timeouts = {"a": None, "b": 0.01, "c": None, "d": 0.02, "e": None}

    def waiter(name: str) -> None:
        began.append(name)
        outcomes[name] = kind.outcome(obj, timeouts[name])

    spawn_all(waiter, list(timeouts))
    run_until_blocked()
    assert obj.linkcount() == 5
    sleep(0.05)  # armed after the waiters' timers, so it fires after theirs
    assert outcomes == {"b": TIMED_OUT, "d": TIMED_OUT}
    assert obj.linkcount() == 3
    kind.fire(obj, "v")
    run_until_blocked()
    assert list(outcomes)[2:] == [name for name in began if timeouts[name] is None]
    assert outcomes == {
        "a": kind.expect("v"),
        "b": TIMED_OUT,
        "c": kind.expect("v"),
        "d": TIMED_OUT,
        "e": kind.expect("v"),
    }
    assert_no_links(obj)


# -- early leavers -----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["timeout", "kill", "throw"])
def test_a_waiter_that_leaves_early_leaves_no_link_and_the_rest_wake_once(
    kind: Kind, how: str
) -> None:
    obj = kind.make()
    began: list[str] = []
    results: dict[str, object] = {}

    def waiter(name: str) -> None:
        began.append(name)
        try:
            results[name] = kind.outcome(obj, 0.01 if how == "timeout" and name == "b" else None)
        except Outer:
            results[name] = "outer"

    tasks = dict(zip("abc", spawn_all(waiter, "abc"), strict=True))
    run_until_blocked()
    assert obj.linkcount() == 3
    if how == "timeout":
        sleep(0.03)
    elif how == "kill":
        tasks["b"].kill()
    else:
        hub = get_hub()
        hub.run_callback(hub.throw_into, tasks["b"], Outer())
        run_until_blocked()
    assert tasks["b"].dead
    assert obj.linkcount() == 2
    assert results == ({} if how == "kill" else {"b": TIMED_OUT if how == "timeout" else "outer"})
    kind.fire(obj, "v")
    run_until_blocked()
    woken = [name for name in results if results[name] == kind.expect("v")]
    assert woken == [name for name in began if name != "b"]
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


def test_fire_from_a_thread_without_a_hub_wakes_waiters_in_their_own_hub(kind: Kind) -> None:
    obj = kind.make()
    main_ident = threading.get_ident()
    began: list[str] = []
    woke: list[tuple[str, object, bool, bool]] = []

    def waiter(name: str) -> None:
        hub = get_hub()
        began.append(name)
        result = kind.wait(obj, None)
        # Woken by this thread's own hub: the switch came from its loop greenlet.
        woke.append((name, result, threading.get_ident() == main_ident, get_hub() is hub))

    tasks = spawn_all(waiter, "abcd")
    run_until_blocked()
    hub_in_firer: list[object] = []

    def firer() -> None:
        kind.fire(obj, "far")
        hub_in_firer.append(_peek_hub())

    thread = threading.Thread(target=firer)
    thread.start()
    thread.join(30)
    assert hub_in_firer == [None]  # waking greenlets of another thread made no hub here
    for task in tasks:
        task.join(30)
    assert woke == [(name, kind.expect("far"), True, True) for name in began]
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
        return woke == [(n, kind.expect("go")) for n in began] and len(woke) == per_thread

    results = run_in_threads(body, waiting_threads + 1, timeout=60, what=f"{kind} fan-out")
    assert results == [True] * waiting_threads + [None]
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
    thread.join(30)
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
