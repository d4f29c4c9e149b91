"""Guards for a behaviour no other queue test pins down (issue 19, item 1), via public APIs only.

A getter that leaves (killed, or an outer exception such as a timeout) after a put handed it an
item gives the item back: it goes to the next getter, or back into the queue.  When it goes back
into the queue, the queue has become ready, and whoever waits for that -- a greenlet blocked in
``peek()``, a ``rawlink`` callback -- must be woken.  The same holds for a ``Channel``, which
keeps such an item for the next getter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from greenlet import GreenletExit

from greensync.hub import Task, get_hub, spawn
from greensync.hub.testing import Trace, assert_no_links, run_until_blocked
from greensync.queue import Channel, SimpleQueue


class OuterTimeout(Exception):
    """Stands for an outer timeout (greensync.timeout's): an exception thrown into a waiter."""


def _leave(task: Task[Any], how: str) -> None:
    """Make ``task`` leave its wait on the hub's next turn, before anything queued after."""
    if how == "killed":
        task.kill(block=False)
    else:
        hub = get_hub()
        hub.run_callback(hub.throw_into, task, OuterTimeout())


def _getter(get: Callable[[], object], trace: Trace) -> None:
    try:
        trace(f"getter got {get()!r}")
    except (GreenletExit, OuterTimeout) as exc:
        trace(f"getter left: {type(exc).__name__}")
        raise


LEAVE = ["killed", "outer timeout"]


@pytest.mark.parametrize("how", LEAVE)
def test_item_given_back_by_a_getter_that_left_wakes_a_peeker(
    queue_cls: type[SimpleQueue[Any]], how: str
) -> None:
    q = queue_cls()
    trace = Trace()

    def peeker() -> None:
        trace(f"peeker saw {q.peek()!r}")

    getter = spawn(_getter, q.get, trace)
    spawn(peeker)
    run_until_blocked()
    assert q.getting() == 1
    _leave(getter, how)
    q.put("x")  # handed to the getter, which leaves before it runs
    run_until_blocked()
    assert trace[0].startswith("getter left"), f"the getter was not made to leave: {trace}"
    assert trace[1:] == ["peeker saw 'x'"], (
        "the peek waiter was not woken when the getter that left gave its item back"
    )
    assert q.qsize() == 1
    assert q.get_nowait() == "x"
    assert_no_links(q)


@pytest.mark.parametrize("how", LEAVE)
def test_item_given_back_by_a_getter_that_left_fires_rawlink(
    queue_cls: type[SimpleQueue[Any]], how: str
) -> None:
    q = queue_cls()
    trace = Trace()
    seen: list[object] = []
    getter = spawn(_getter, q.get, trace)
    run_until_blocked()
    q.rawlink(seen.append)
    _leave(getter, how)
    q.put("x")
    run_until_blocked()
    assert trace[0].startswith("getter left"), f"the getter was not made to leave: {trace}"
    assert seen == [q], "a rawlink callback was not called when the item came back to the queue"
    assert q.get_nowait() == "x"
    assert_no_links(q)


@pytest.mark.parametrize("how", LEAVE)
def test_item_given_back_to_a_channel_fires_rawlink(how: str) -> None:
    ch: Channel[str] = Channel()
    trace = Trace()
    seen: list[object] = []
    getter = spawn(_getter, ch.get, trace)
    run_until_blocked()
    ch.rawlink(seen.append)
    _leave(getter, how)
    ch.put_nowait("x")  # handed to the getter, which leaves before it runs
    run_until_blocked()
    assert trace[0].startswith("getter left"), f"the getter was not made to leave: {trace}"
    assert seen == [ch], "a rawlink callback was not called when the channel kept the item"
    assert ch.qsize() == 1
    assert ch.get_nowait() == "x"
    assert_no_links(ch)
