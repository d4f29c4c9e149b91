"""Channel: the zero-capacity rendezvous."""

from __future__ import annotations

from typing import Any

import pytest

from greensync.hub import Task, get_hub, iwait, joinall, spawn, testing, wait
from greensync.queue import Channel, Empty, Full


class Boom(Exception):
    """Thrown into a waiter."""


def throw_soon(task: Task[Any], exc: BaseException) -> None:
    hub = get_hub()
    hub.run_callback(hub.throw_into, task, exc)


def make_getter(ch: Channel[str], trace: testing.Trace) -> Any:
    def getter(name: str) -> None:
        trace(f"{name} waits")
        try:
            item = ch.get()
        except Boom:
            trace(f"{name} Boom")
        else:
            trace(f"{name} got {item}")

    return getter


def make_putter(ch: Channel[str], trace: testing.Trace) -> Any:
    def putter(item: str) -> None:
        trace(f"put {item} waits")
        try:
            ch.put(item)
        except Boom:
            trace(f"put {item} Boom")
        else:
            trace(f"put {item} returned")

    return putter


def test_put_returns_only_after_a_getter_has_taken_the_item() -> None:
    ch: Channel[str] = Channel()
    trace = testing.Trace()
    spawn(make_putter(ch, trace), "x")
    testing.run_until_blocked()
    assert trace == ["put x waits"]
    assert (ch.putting(), ch.getting(), ch.balance) == (1, 0, 1)
    trace("main gets")
    trace(f"main got {ch.get()}")
    assert trace == ["put x waits", "main gets", "put x returned", "main got x"]
    assert (ch.putting(), ch.getting(), ch.balance, ch.qsize()) == (0, 0, 0, 0)
    testing.assert_no_links(ch)


def test_put_to_a_waiting_getter_hands_the_item_over_and_returns_at_once() -> None:
    ch: Channel[str] = Channel()
    trace = testing.Trace()
    spawn(make_getter(ch, trace), "g")
    testing.run_until_blocked()
    assert (ch.getting(), ch.balance, ch.full()) == (1, -1, False)
    ch.put("x")  # no hub turn: the getter has not run yet
    trace("main put returned")
    testing.run_until_blocked()
    assert trace == ["g waits", "main put returned", "g got x"]
    testing.assert_no_links(ch)


def test_getters_and_putters_are_each_served_in_fifo_order() -> None:
    ch: Channel[str] = Channel()
    trace = testing.Trace()
    testing.spawn_all(make_putter(ch, trace), ["a", "b", "c"])
    testing.run_until_blocked()
    testing.spawn_all(make_getter(ch, trace), ["g1", "g2", "g3", "g4"])
    testing.run_until_blocked()
    assert trace == [
        "put a waits",
        "put b waits",
        "put c waits",
        "g1 waits",
        "g2 waits",
        "g3 waits",
        "g4 waits",
        "put a returned",
        "put b returned",
        "put c returned",
        "g1 got a",
        "g2 got b",
        "g3 got c",
    ]
    assert (ch.getting(), ch.putting()) == (1, 0)
    ch.put("d")
    testing.run_until_blocked()
    assert trace[-1] == "g4 got d"
    testing.assert_no_links(ch)


def test_nonblocking_calls_succeed_only_when_the_other_side_is_ready() -> None:
    ch: Channel[int] = Channel()
    assert (ch.qsize(), ch.empty(), ch.full(), ch.ready()) == (0, True, True, False)
    with pytest.raises(Full, match="no getter"):
        ch.put_nowait(1)
    with pytest.raises(Full):
        ch.put(1, timeout=0)
    with pytest.raises(Empty):
        ch.get_nowait()
    with pytest.raises(Empty):
        ch.get(block=False)
    getter = spawn(ch.get)
    testing.run_until_blocked()
    ch.put_nowait(1)
    testing.run_until_blocked()
    assert getter.value == 1
    # A parked putter hands its item over itself, when it runs: get_nowait cannot take it.
    putter = spawn(ch.put, 2)
    testing.run_until_blocked()
    assert ch.ready()
    with pytest.raises(Empty):
        ch.get_nowait()
    assert ch.get() == 2
    testing.run_until_blocked()
    assert putter.successful()
    testing.assert_no_links(ch)


def test_timeouts_raise_and_leave_no_waiters_behind() -> None:
    ch: Channel[int] = Channel()
    with pytest.raises(Empty, match="no putter"):
        ch.get(timeout=0.01)
    with pytest.raises(Full, match="no getter took"):
        ch.put(1, timeout=0.01)
    outcomes: list[str] = []

    def getter() -> None:
        try:
            ch.get(timeout=0.01)
        except Empty:
            outcomes.append("empty")

    def putter(item: int) -> None:
        try:
            ch.put(item, timeout=0.01)
        except Full:
            outcomes.append("full")

    tasks = [spawn(getter) for _ in range(100)]
    testing.run_until_blocked()
    assert ch.getting() == 100
    joinall(tasks)
    tasks = testing.spawn_all(putter, range(100))
    testing.run_until_blocked()
    assert (ch.putting(), ch.balance) == (100, 100)
    joinall(tasks)
    assert outcomes == ["empty"] * 100 + ["full"] * 100
    assert (ch.getting(), ch.putting(), ch.balance, ch.ready()) == (0, 0, 0, False)
    testing.assert_no_links(ch)
    getter_task = spawn(ch.get)
    ch.put(5)
    assert getter_task.get() == 5


def test_iwait_reports_a_channel_when_a_putter_waits() -> None:
    ch: Channel[int] = Channel()
    assert wait([ch], timeout=0.01) == []
    putter = spawn(ch.put, 3)
    assert list(iwait([ch], timeout=10)) == [ch]
    assert ch.get() == 3
    testing.run_until_blocked()
    assert putter.successful()
    assert not ch.ready()
    testing.assert_no_links(ch)


def test_iteration_stops_at_the_stopiteration_class() -> None:
    ch: Channel[Any] = Channel()

    def producer() -> None:
        for item in [1, 2, StopIteration]:
            ch.put(item)

    task = spawn(producer)
    assert list(ch) == [1, 2]
    testing.run_until_blocked()
    assert task.successful()


def test_repr() -> None:
    ch: Channel[int] = Channel()
    assert repr(ch) == "<Channel getting=0 putting=0>"
    tasks = [spawn(ch.put, 1), spawn(ch.put, 2)]
    testing.run_until_blocked()
    assert repr(ch) == "<Channel getting=0 putting=2>"
    assert [ch.get(), ch.get()] == [1, 2]
    joinall(tasks)


# -- leaving at the moment of hand-off ------------------------------------------------------


@pytest.mark.parametrize("how", ["throw", "kill"])
def test_item_handed_to_a_getter_that_leaves_goes_to_the_next_getter(how: str) -> None:
    ch: Channel[str] = Channel()
    trace = testing.Trace()
    first, _ = testing.spawn_all(make_getter(ch, trace), ["g1", "g2"])
    testing.run_until_blocked()
    if how == "kill":
        first.kill(block=False)
    else:
        throw_soon(first, Boom())
    ch.put("x")
    testing.run_until_blocked()
    expected = ["g1 Boom"] if how == "throw" else []
    assert trace == ["g1 waits", "g2 waits", *expected, "g2 got x"]
    testing.assert_no_links(ch)


def test_item_handed_to_a_getter_that_leaves_with_nobody_behind_is_held_for_the_next_get() -> None:
    ch: Channel[str] = Channel()
    trace = testing.Trace()
    (getter,) = testing.spawn_all(make_getter(ch, trace), ["g1"])
    testing.run_until_blocked()
    throw_soon(getter, Boom())
    ch.put("x")  # delivered: put returned
    testing.run_until_blocked()
    assert trace == ["g1 waits", "g1 Boom"]
    assert (ch.qsize(), ch.empty(), ch.ready()) == (1, False, True)
    assert repr(ch) == "<Channel getting=0 putting=0 held=1>"
    assert ch.get_nowait() == "x"
    assert ch.qsize() == 0


@pytest.mark.parametrize("how", ["throw", "kill"])
def test_putter_asked_for_its_item_that_leaves_never_delivers_it(how: str) -> None:
    ch: Channel[str] = Channel()
    trace = testing.Trace()
    first, second = testing.spawn_all(make_putter(ch, trace), ["a", "b"])
    testing.run_until_blocked()
    if how == "kill":
        first.kill(block=False)
    else:
        throw_soon(first, Boom())
    # Our get asks the putter of "a" for its item; it leaves first, so "b" is asked instead.
    assert ch.get() == "b"
    testing.run_until_blocked()
    expected = ["put a Boom"] if how == "throw" else []
    assert trace == ["put a waits", "put b waits", *expected, "put b returned"]
    assert first.ready()
    assert second.ready()
    assert (ch.putting(), ch.getting(), ch.qsize()) == (0, 0, 0)
    testing.assert_no_links(ch)


def test_putter_whose_getter_left_before_it_ran_waits_for_the_next_getter() -> None:
    ch: Channel[str] = Channel()
    trace = testing.Trace()
    testing.spawn_all(make_putter(ch, trace), ["a"])
    testing.run_until_blocked()

    def doomed_getter() -> None:
        # Our own exception is queued before the putter we wake can run.
        throw_soon(getter_task, Boom())
        make_getter(ch, trace)("g1")

    getter_task = spawn(doomed_getter)
    testing.run_until_blocked()
    assert trace == ["put a waits", "g1 waits", "g1 Boom"]
    assert ch.putting() == 1  # still waiting: nobody took "a"
    assert ch.get() == "a"
    testing.run_until_blocked()
    assert trace[-1] == "put a returned"
    assert (ch.putting(), ch.getting(), ch.qsize()) == (0, 0, 0)
    testing.assert_no_links(ch)


def test_putter_timeouts_racing_gets_never_lose_or_duplicate_items() -> None:
    ch: Channel[tuple[int, int]] = Channel()
    delivered: list[tuple[int, int]] = []

    def producer(pid: int) -> None:
        for i in range(40):
            while True:
                try:
                    ch.put((pid, i), timeout=0.001)
                except Full:
                    continue
                delivered.append((pid, i))
                break

    producers = testing.spawn_all(producer, range(3))
    got: list[tuple[int, int]] = []
    while len(got) < 120:
        try:
            got.append(ch.get(timeout=0.001))
        except Empty:
            continue
    joinall(producers)
    assert sorted(got) == sorted(delivered) == [(p, i) for p in range(3) for i in range(40)]
    assert (ch.putting(), ch.getting(), ch.qsize()) == (0, 0, 0)
    testing.assert_no_links(ch)
