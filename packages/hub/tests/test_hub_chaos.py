"""The chaos scheduler: seeded reordering of hub turns and extra yields at blocking points."""

from __future__ import annotations

import pytest

from greensync.hub import get_hub, sleep, spawn
from greensync.hub.testing import (
    ChaosHub,
    Permits,
    Trace,
    assert_no_links,
    chaos,
    run_in_threads,
    spawn_all,
)


def _trace_under(seed: int) -> list[str]:
    def body(_: int) -> list[str]:
        chaos(seed)
        trace = Trace()

        def worker(name: str) -> None:
            for i in range(3):
                trace(f"{name}{i}")
                sleep(0)

        for task in spawn_all(worker, "abcd"):
            task.join()
        return list(trace)

    return run_in_threads(body, 1, what="chaos")[0]  # type: ignore[return-value]


def test_same_seed_replays_the_same_interleaving() -> None:
    assert _trace_under(7) == _trace_under(7)


def test_seeds_explore_different_interleavings() -> None:
    traces = {tuple(_trace_under(seed)) for seed in range(8)}
    assert len(traces) > 1
    for trace in traces:  # every interleaving still runs every step of every worker once
        assert sorted(trace) == sorted(f"{n}{i}" for n in "abcd" for i in range(3))


@pytest.mark.parametrize("seed", range(10))
def test_handoff_stays_fifo_and_conserves_permits_under_chaos(seed: int) -> None:
    def body(_: int) -> tuple[list[int], list[int], int]:
        hub = chaos(seed)
        assert isinstance(get_hub(), ChaosHub)
        assert hub.seed == seed
        permits = Permits(0)
        order: list[int] = []
        began: list[int] = []

        def taker(i: int) -> None:
            began.append(i)  # nothing yields between this and joining the line
            if permits.acquire(timeout=None if i % 3 else 0.001):
                order.append(i)
                permits.release()

        tasks = spawn_all(taker, range(12))
        sleep(0.01)
        permits.release()
        for task in tasks:
            task.join()
        assert_no_links(permits)
        return order, began, permits.count

    result: tuple[list[int], list[int], int] = run_in_threads(body, 1, what="chaos Permits")[0]  # type: ignore[assignment]
    order, began, count = result
    assert count == 1  # the one permit is back: nothing lost, nothing made up
    patient = [i for i in began if i % 3]
    assert [i for i in order if i % 3] == patient  # served in the order they began to wait


def test_chaos_refuses_a_thread_that_already_has_a_hub() -> None:
    get_hub()
    with pytest.raises(RuntimeError, match="call chaos"):
        chaos(1)


def test_chaos_hub_repr_names_the_seed() -> None:
    def body(_: int) -> str:
        return repr(chaos("abc"))

    assert "seed='abc'" in str(run_in_threads(body, 1)[0])


def test_spawned_work_completes_under_chaos() -> None:
    def body(_: int) -> list[int]:
        chaos(3)

        def square(n: int) -> int:
            return n * n

        return [task.get() for task in [spawn(square, n) for n in range(5)]]

    assert run_in_threads(body, 1)[0] == [0, 1, 4, 9, 16]
