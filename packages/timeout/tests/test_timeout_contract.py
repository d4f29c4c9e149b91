"""Invariants of timeouts racing wake-ups, marked ``contract`` so the nox ``chaos`` session runs
them under many seeded interleavings.  They assert outcomes and conservation, never an order
that a legal interleaving could change.
"""

from __future__ import annotations

from typing import Any

import pytest

from greensync.hub import TIMED_OUT, Linkable, Waiter, check_timeout, sleep, spawn
from greensync.hub.testing import assert_no_links
from greensync.timeout import Timeout, with_timeout

pytestmark = pytest.mark.contract


class Permits(Linkable):
    """A minimal semaphore: FIFO hand-off, and a permit handed to a leaver comes back."""

    __slots__ = ("count",)

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def ready(self) -> bool:
        return self.count > 0

    def acquire(self, timeout: float | None = None) -> bool:
        timeout = check_timeout(timeout)
        with self._mutex:
            if self.count > 0:
                self.count -= 1
                return True
            link = self._enqueue_waiter()
        return self._park(link, timeout) is not TIMED_OUT

    def release(self) -> None:
        with self._mutex:
            self._give(True)

    def _give(self, value: Any) -> None:
        if self._handoff(value) is None:
            self.count += 1
            self._notify()

    def _reclaim(self, value: Any) -> None:
        self._give(value)


@pytest.mark.parametrize(
    ("delay", "release_after"),
    [
        (0, None),  # the release lands in the very turn the timeout fires
        (0.001, 0),
        (0.001, 0.0005),
        (0.001, 0.002),
    ],
)
def test_a_timeout_racing_a_hand_off_resolves_to_exactly_one(
    delay: float, release_after: float | None
) -> None:
    for _ in range(20):
        permits = Permits(0)
        outcome: list[str] = []

        def waiter(permits: Permits = permits, outcome: list[str] = outcome) -> None:
            try:
                with Timeout(delay):
                    permits.acquire()
                    outcome.append("acquired")
            except Timeout:
                outcome.append("timed out")

        task = spawn(waiter)
        sleep(0)  # the waiter parks
        if release_after is not None:
            sleep(release_after)
        permits.release()
        task.join()
        assert outcome in (["acquired"], ["timed out"])
        assert permits.count == (1 if outcome == ["timed out"] else 0)
        assert_no_links(permits)


def test_a_timeout_racing_a_waiter_value_never_loses_it() -> None:
    for _ in range(20):
        waiter: Waiter[str] = Waiter()
        got: list[str] = []

        def getter(waiter: Waiter[str] = waiter, got: list[str] = got) -> None:
            try:
                with Timeout(0):
                    got.append(waiter.get())
            except Timeout:
                got.append("timed out")

        task = spawn(getter)
        sleep(0)
        waiter.switch("value")
        task.join()
        assert got in (["value"], ["timed out"])
        assert waiter.get() == "value"
        assert_no_links(waiter)


def test_many_timeouts_racing_releases_conserve_permits() -> None:
    permits = Permits(0)
    acquired = timed_out = 0
    waiters = 40
    releases = 15

    def waiter(n: int) -> None:
        nonlocal acquired, timed_out
        try:
            with Timeout((n % 5) * 0.002):
                permits.acquire()
            acquired += 1
        except Timeout:
            timed_out += 1

    def releaser() -> None:
        for n in range(releases):
            permits.release()
            sleep(0 if n % 2 else 0.001)

    tasks = [spawn(waiter, n) for n in range(waiters)] + [spawn(releaser)]
    for task in tasks:
        task.join()
    assert acquired + timed_out == waiters
    assert acquired + permits.count == releases
    assert_no_links(permits)


def test_nested_timeouts_are_each_caught_at_their_own_level() -> None:
    caught: list[str] = []

    def inner_first() -> None:
        with Timeout(0.2, False):
            try:
                with Timeout(0.01) as inner:
                    sleep(1)
            except Timeout as exc:
                caught.append("inner" if exc is inner else "foreign")

    def outer_first() -> None:
        try:
            with Timeout(0.01) as outer, Timeout(0.2, False):
                sleep(1)
        except Timeout as exc:
            caught.append("outer" if exc is outer else "foreign")

    def slow() -> str:
        sleep(1)
        return "finished"

    def with_value() -> None:
        caught.append(with_timeout(0.01, slow, timeout_value="with_timeout"))

    tasks = [spawn(fn) for fn in (inner_first, outer_first, with_value) for _ in range(5)]
    for task in tasks:
        task.join()
    assert sorted(caught) == sorted(["inner", "outer", "with_timeout"] * 5)
