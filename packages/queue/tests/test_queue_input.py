"""Bad input gets a clear exception, and the queue keeps its items and keeps working."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from greensync.hub import spawn, testing
from greensync.queue import Channel, Queue, ShutDown, SimpleQueue

BAD_TYPES: list[Any] = ["1", [], b"0", True, object()]
BAD_VALUES: list[Any] = [-1, -0.5, math.nan]


def queue_calls(q: Queue[int]) -> dict[str, Callable[[Any], object]]:
    return {
        "get": lambda t: q.get(timeout=t),
        "get(block=False)": lambda t: q.get(block=False, timeout=t),
        "put": lambda t: q.put(7, timeout=t),
        "peek": lambda t: q.peek(timeout=t),
        "join": lambda t: q.join(timeout=t),
    }


@pytest.mark.parametrize("bad", BAD_TYPES, ids=repr)
@pytest.mark.parametrize("call", ["get", "get(block=False)", "put", "peek", "join"])
def test_non_numeric_timeouts_raise_typeerror_and_change_nothing(call: str, bad: Any) -> None:
    q: Queue[int] = Queue(3)
    q.put(1)
    with pytest.raises(TypeError, match="`timeout` must be a non-negative number or None"):
        queue_calls(q)[call](bad)
    assert (q.qsize(), q.unfinished_tasks, q.getting(), q.putting()) == (1, 1, 0, 0)
    testing.assert_no_links(q)
    q.put(2)
    assert [q.get(), q.get()] == [1, 2]


@pytest.mark.parametrize("bad", BAD_VALUES, ids=repr)
@pytest.mark.parametrize("call", ["get", "get(block=False)", "put", "peek", "join"])
def test_negative_or_nan_timeouts_raise_valueerror_and_change_nothing(call: str, bad: Any) -> None:
    q: Queue[int] = Queue(3)
    q.put(1)
    with pytest.raises(ValueError, match="`timeout` must be a non-negative number"):
        queue_calls(q)[call](bad)
    assert (q.qsize(), q.unfinished_tasks) == (1, 1)
    testing.assert_no_links(q)
    assert q.get() == 1


@pytest.mark.parametrize("bad", [*BAD_TYPES, *BAD_VALUES], ids=repr)
def test_bad_channel_timeouts_raise_and_the_channel_still_works(bad: Any) -> None:
    ch: Channel[int] = Channel()
    expected = TypeError if bad in BAD_TYPES else ValueError
    with pytest.raises(expected, match="`timeout`"):
        ch.get(timeout=bad)
    with pytest.raises(expected, match="`timeout`"):
        ch.put(1, timeout=bad)
    testing.assert_no_links(ch)
    getter = spawn(ch.get)
    ch.put(1)
    assert getter.get() == 1


@pytest.mark.parametrize("bad", ["3", 2.5, True, object(), [1]], ids=repr)
def test_non_int_maxsize_raises_typeerror(bad: Any) -> None:
    with pytest.raises(TypeError, match="`maxsize` must be an int or None"):
        Queue(bad)
    with pytest.raises(TypeError, match="`maxsize` must be an int or None"):
        SimpleQueue(bad)


@pytest.mark.parametrize("bad", ["3", 2.5, True], ids=repr)
def test_bad_resize_raises_and_keeps_the_old_bound(bad: Any) -> None:
    q: Queue[int] = Queue(1)
    q.put(1)
    with pytest.raises(TypeError, match="`maxsize`"):
        q.resize(bad)
    with pytest.raises(TypeError, match="`maxsize`"):
        q.maxsize = bad
    assert (q.maxsize, q.full(), q.qsize()) == (1, True, 1)
    q.resize(2)
    q.put(2)
    assert [q.get(), q.get()] == [1, 2]


def test_maxsize_accepts_int_like_objects() -> None:
    class Size:
        def __index__(self) -> int:
            return 2

    q: Queue[int] = Queue(Size())  # type: ignore[arg-type]
    assert q.maxsize == 2


def test_task_done_too_often_raises_and_tasks_still_count() -> None:
    q: Queue[int] = Queue()
    q.put(1)
    q.get()
    q.task_done()
    with pytest.raises(ValueError, match="more times than items were put"):
        q.task_done()
    q.put(2)
    assert q.unfinished_tasks == 1
    assert not q.join(timeout=0)
    q.get()
    q.task_done()
    assert q.join(timeout=0)


def test_put_and_get_after_shutdown_raise_and_the_items_are_kept() -> None:
    q: Queue[int] = Queue()
    q.put(1)
    q.put(2)
    q.shutdown()
    with pytest.raises(ShutDown):
        q.put(3)
    with pytest.raises(ShutDown):
        q.put_nowait(3)
    assert (q.qsize(), q.unfinished_tasks) == (2, 2)
    assert [q.get(), q.get()] == [1, 2]
    with pytest.raises(ShutDown):
        q.get()
    q.task_done()
    q.task_done()
    assert q.join(timeout=0)
