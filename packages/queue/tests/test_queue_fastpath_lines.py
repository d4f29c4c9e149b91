"""Uncontended calls take no lock and make no call into the wait lines or the hub (rule 10).

Spies on every method of :class:`~greensync.hub.WaitLine` (and on its creation) count what a
call does on the hub's side.  A put or get that does not wait must do nothing there, also on a
queue whose line exists because someone waited before: the fast path must not be lost, not
even for good after a wait that timed out.  Each check runs in a fresh thread, which must end
without a hub.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from greensync.hub import WaitLine, spawn
from greensync.hub.testing import existing_hub, run_in_threads, run_until_blocked
from greensync.queue import Empty, LifoQueue, PriorityQueue, Queue, SimpleQueue

SPIED = [
    "__init__",
    "park",
    "listen",
    "async_park",
    "async_listen",
    "link",
    "unlink",
    "handoff",
    "notify",
    "move_to",
    "takers",
    "listeners",
    "give_back",
]

MAKERS: dict[str, Callable[[], Any]] = {
    "Queue()": Queue,
    "Queue(4)": lambda: Queue(4),
    "SimpleQueue()": SimpleQueue,
    "SimpleQueue(4)": lambda: SimpleQueue(4),
    "LifoQueue()": LifoQueue,
    "LifoQueue(4)": lambda: LifoQueue(4),
}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts of the calls made into :class:`WaitLine`, from any thread."""
    counted = Counter[str]()
    for name in SPIED:
        original = getattr(WaitLine, name)

        def spy(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            counted[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(WaitLine, name, spy)
    return counted


def uncontended(q: Any) -> None:
    """Every call that does not wait, on a queue nobody else uses."""
    for round_ in range(3):
        q.put_nowait(1)
        q.put(2)
        q.put(3, block=False)
        q.put(4, timeout=1.0)
        assert (q.qsize(), q.empty(), q.ready(), len(q)) == (4, False, True, 4)
        assert q.peek_nowait() in (1, 4)
        assert q.peek(timeout=1.0) in (1, 4)
        got = [q.get_nowait(), q.get(), q.get(block=False), q.get(timeout=1.0)]
        assert sorted(got) == [1, 2, 3, 4], round_
        with pytest.raises(Empty):
            q.get_nowait()
        if isinstance(q, Queue):
            for _ in got:
                q.task_done()
            assert (q.unfinished_tasks, q.join(timeout=0), q.join()) == (0, True, True)
    assert q.full() is False


@pytest.mark.parametrize("kind", list(MAKERS))
def test_calls_that_do_not_wait_touch_no_line_and_make_no_hub(
    kind: str, calls: Counter[str]
) -> None:
    def body(_: int) -> object:
        q = MAKERS[kind]()
        uncontended(q)
        assert (q.waitline, q._putters, q._joiners) == (None, None, None)
        return existing_hub()

    assert run_in_threads(body, 1) == [None]
    assert calls == Counter(), calls


@pytest.mark.parametrize("kind", list(MAKERS))
def test_the_fast_path_comes_back_after_waits_that_timed_out(
    kind: str, calls: Counter[str]
) -> None:
    q = MAKERS[kind]()
    for _ in range(3):
        with pytest.raises(Empty):
            q.get(timeout=0.001)
    getter = spawn(q.get)
    run_until_blocked()
    q.put(0)  # the line is busy: a hand-off, and the records of the getters that left go
    run_until_blocked()
    assert getter.value == 0
    if isinstance(q, Queue):
        q.task_done()
    calls.clear()
    uncontended(q)
    assert calls == Counter(), calls
    assert (q.getting(), q.putting()) == (0, 0)


#: With the standard library's hooks (a subclass overriding ``_put`` etc.; PriorityQueue is one).
HOOKED_MAKERS: dict[str, Callable[[], Any]] = {
    "PriorityQueue()": PriorityQueue,
    "PriorityQueue(4)": lambda: PriorityQueue(4),
}


@pytest.mark.parametrize("kind", [*MAKERS, *HOOKED_MAKERS])
def test_the_fast_path_comes_back_after_getters_left_from_the_middle_of_the_line(
    kind: str, calls: Counter[str]
) -> None:
    q = {**MAKERS, **HOOKED_MAKERS}[kind]()
    getters = [spawn(q.get) for _ in range(3)]
    run_until_blocked()
    assert q.getting() == 3
    # The middle one leaves first: its record stays in the line, as one that left, until
    # something passes it.  Then the two at the ends leave, and nobody waits any more.
    for index in (1, 0, 2):
        getters[index].kill()
    run_until_blocked()
    assert [getter.dead for getter in getters] == [True, True, True]
    assert q.getting() == 0
    q.put(0)  # the line is busy: it finds nobody waiting, and drops what is left
    assert q.get_nowait() == 0
    if isinstance(q, Queue):
        q.task_done()
    calls.clear()
    uncontended(q)
    assert calls == Counter(), calls
    assert (q.getting(), q.putting()) == (0, 0)


def test_a_bounded_queue_that_was_full_gets_its_fast_path_back(calls: Counter[str]) -> None:
    q: Queue[int] = Queue(1)
    q.put(0)
    putter = spawn(q.put, 1)
    run_until_blocked()
    assert q.get() == 0
    run_until_blocked()
    assert putter.successful()
    assert q.get() == 1
    q.task_done()
    q.task_done()
    calls.clear()
    for _ in range(100):
        q.put_nowait(2)
        assert q.get_nowait() == 2
        q.task_done()
    assert calls == Counter(), calls
