"""Guard: waiters in other threads are woken by a set, and a loss fails fast (issue 19, item 7).

The contract suite notices a waiter of another thread that is never woken only when its
60-second timeout runs out.  Here each waiter of another thread is given a few seconds, then
the test fails naming the thread whose waiter (or ``rawlink`` callback) was not woken.  Whether
the first waiter in line lives in this thread or another one changes the path a wake-up takes
through the hub, so both orders are run.  Public APIs only; no duration is asserted.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pytest

from greensync.hub import Task, get_hub, spawn
from greensync.hub.testing import run_until_blocked

if TYPE_CHECKING:
    from packages.event.tests.conftest import Kind

#: How long a test waits for another thread before it fails, naming what was not woken.
BOUND = 5.0


class _OtherThreadWaiter:
    """A thread that registers a ``rawlink`` callback, then waits on the object.

    ``parked`` is set on its hub's first turn, once the wait is parked; ``outcome`` gets what
    the wait returned and what the callback saw.
    """

    def __init__(self, kind: Kind, obj: Any, name: str) -> None:
        self.name = name
        self.outcome: list[object] = []
        self.linked: list[object] = []
        self.parked = threading.Event()
        self.thread = threading.Thread(target=self._body, args=(kind, obj), name=name, daemon=True)
        self.thread.start()

    def _body(self, kind: Kind, obj: Any) -> None:
        hub = get_hub()
        obj.rawlink(self.linked.append)
        hub.run_callback(self.parked.set)
        try:
            self.outcome.append(kind.outcome(obj, 2 * BOUND))
        finally:
            hub.destroy()

    def check_woken(self, expected: object, obj: Any) -> None:
        self.thread.join(BOUND)
        assert not self.thread.is_alive(), (
            f"the waiter in thread {self.name} was not woken by the set in another thread"
        )
        assert self.outcome == [expected], f"the waiter in thread {self.name}: {self.outcome}"
        assert self.linked == [obj], (
            f"the rawlink callback of thread {self.name} was not called: {self.linked}"
        )


@pytest.mark.parametrize("first", ["this thread", "another thread"])
def test_waiters_in_other_threads_are_woken_by_a_set(kind: Kind, first: str) -> None:
    obj = kind.make()
    here: list[Task[object]] = []

    def wait_here() -> None:
        here.append(spawn(kind.outcome, obj, 2 * BOUND))
        run_until_blocked()

    if first == "this thread":
        wait_here()
    others = []
    for i in range(2):
        other = _OtherThreadWaiter(kind, obj, f"waiter-{i}")
        assert other.parked.wait(BOUND), f"thread {other.name} never parked"
        others.append(other)
    if first == "another thread":
        wait_here()
    assert obj.linkcount() == 5  # two callbacks and three waiters
    kind.fire(obj, "value")
    for other in others:
        other.check_woken(kind.expect("value"), obj)
    here[0].join(timeout=BOUND)
    assert here[0].value == kind.expect("value"), "the waiter in this thread was not woken"
    assert obj.linkcount() == 0
