"""Timeouts under the hub's chaos scheduler, created per test in a thread of its own.

``greensync.hub.testing.chaos(seed)`` gives a fresh thread a seeded ChaosHub, so these run in
the default suite too, for a fixed list of seeds, whatever ``GREENSYNC_CHAOS`` says.
"""

from __future__ import annotations

import functools

import pytest

from greensync.hub import Waiter, get_hub, spawn
from greensync.hub.testing import chaos, run_in_threads
from greensync.timeout import Timeout

SEEDS = range(1, 21)


def stale_wake_ups(seed: int) -> list[object]:
    """Under ``chaos(seed)``: greenlets whose Timeout(0) fires while they wait, then wait again
    for a value a timer delivers; return what the second waits got instead of that value."""
    chaos(seed)
    wrong: list[object] = []

    def waiter() -> None:
        try:
            with Timeout(0):
                Waiter[None]().get()
        except Timeout:
            pass
        again: Waiter[str] = Waiter()
        get_hub().call_later(0.002, again.switch, "its own wake-up")
        got = again.get()
        if got != "its own wake-up":
            wrong.append(got)

    tasks = [spawn(waiter) for _ in range(5)]
    for task in tasks:
        task.join()
    return wrong


@pytest.mark.builtin_hub
def test_a_timeout_during_the_chaos_yield_leaves_no_stale_wake_up() -> None:
    # Found a ChaosHub bug (fixed in the hub): a Timeout thrown in while the greenlet yielded
    # before parking left the yield's resume queued, to wake the greenlet's next wait early.
    found: dict[int, object] = {}
    for seed in SEEDS:
        wrong = run_in_threads(functools.partial(_stale_wake_ups_in_thread, seed), 1)[0]
        if wrong:
            found[seed] = wrong
    assert found == {}


def _stale_wake_ups_in_thread(seed: int, _index: int) -> list[object]:
    return stale_wake_ups(seed)


@pytest.mark.builtin_hub
@pytest.mark.parametrize("seed", SEEDS)
def test_nested_timeouts_fire_at_their_own_level_under_chaos(seed: int) -> None:
    def body(_: int) -> list[str]:
        chaos(seed)
        caught: list[str] = []

        def nested(n: int) -> None:
            try:
                with Timeout(0.02 if n % 2 else 0.005) as outer:
                    try:
                        with Timeout(0.005 if n % 2 else 0.02) as inner:
                            Waiter[None]().get()
                    except Timeout as exc:
                        if exc is not inner:
                            raise
                        caught.append("inner")
            except Timeout as exc:
                caught.append("outer" if exc is outer else "foreign")

        tasks = [spawn(nested, n) for n in range(10)]
        for task in tasks:
            task.join()
        return sorted(caught)

    assert run_in_threads(body, 1)[0] == ["inner"] * 5 + ["outer"] * 5
