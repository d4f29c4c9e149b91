"""Channel: the exact schedule of the rendezvous on a deterministic hub, readiness and repr.

The promises a channel shares with the queues (FIFO service, hand-off, timeouts, leaving early)
are checked under every scheduler by ``test_queue_contract.py`` and ``test_queue_races.py``.
"""

from __future__ import annotations

from typing import Any

from greensync.hub import iwait, joinall, spawn, testing, wait
from greensync.queue import Channel


def make_getter(ch: Channel[str], trace: testing.Trace) -> Any:
    def getter(name: str) -> None:
        trace(f"{name} waits")
        trace(f"{name} got {ch.get()}")

    return getter


def make_putter(ch: Channel[str], trace: testing.Trace) -> Any:
    def putter(item: str) -> None:
        trace(f"put {item} waits")
        ch.put(item)
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
    trace(f"main got {ch.get()}")  # taken from the waiting putter at once, as in gevent
    assert trace == ["put x waits", "main gets", "main got x"]
    testing.run_until_blocked()
    assert trace[-1] == "put x returned"
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
        "g1 got a",  # each getter takes the first waiting putter's item without waiting
        "g2 waits",
        "g2 got b",
        "g3 waits",
        "g3 got c",
        "g4 waits",
        "put a returned",
        "put b returned",
        "put c returned",
    ]
    assert (ch.getting(), ch.putting()) == (1, 0)
    ch.put("d")
    testing.run_until_blocked()
    assert trace[-1] == "g4 got d"
    testing.assert_no_links(ch)


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


def test_repr() -> None:
    ch: Channel[int] = Channel()
    assert repr(ch) == "<Channel getting=0 putting=0>"
    tasks = [spawn(ch.put, 1), spawn(ch.put, 2)]
    testing.run_until_blocked()
    assert repr(ch) == "<Channel getting=0 putting=2>"
    assert [ch.get(), ch.get()] == [1, 2]
    joinall(tasks)


# -- leaving at the moment of hand-off ------------------------------------------------------
