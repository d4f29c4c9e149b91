"""Threads and leaks: the events under load, across OS threads, and after a million timeouts.

Each test runs at two scales: ``reduced`` in the default run, and ``full`` (the figures of
issue 8) marked ``stress``, which the shared pytest plugin skips unless ``GREENSYNC_STRESS`` is
set (``nox -s stress``).  Both run the same code.  Every test prints what it did (``pytest -s``
shows it): operations, and for the leak tests the traced memory before and after.
"""

from __future__ import annotations

import gc
import random
import sys
import threading
import time
import tracemalloc
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from greensync.event import AsyncResult, Event, ValueEvent
from greensync.hub import sleep, spawn
from greensync.hub.testing import assert_no_links, run_in_threads, run_until_blocked, spawn_all


@dataclass(frozen=True)
class Scale:
    threads: int
    greenlets: int  # per thread
    operations: int  # in all
    timed_out_waits: int
    kill_rounds: int

    def __str__(self) -> str:
        return f"{self.threads}x{self.greenlets}"


REDUCED = Scale(threads=4, greenlets=25, operations=4_000, timed_out_waits=15_000, kill_rounds=8)
FULL = Scale(
    threads=4, greenlets=100, operations=100_000, timed_out_waits=1_000_000, kill_rounds=100
)
SCALES = [
    pytest.param(REDUCED, id="reduced"),
    pytest.param(FULL, id="full", marks=pytest.mark.stress),
]

#: Growth of traced memory allowed across a leak test, after a warm-up.  Generous: the bound
#: is there to catch a per-wait leak (a million waits leaking 8 bytes each is 8 MB).
MEMORY_BOUND = 256 * 1024


def report(line: str) -> None:
    print(f"\n[event stress] {line}")


@pytest.fixture
def eager_gil() -> Iterator[float]:
    """Hand the GIL between threads every 10 us instead of every 5 ms, as CPython's own thread
    tests do: threads then interleave inside the primitives' check-then-act sequences, not
    only between whole batches of greenlet work."""
    interval = 1e-5
    previous = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        yield interval
    finally:
        sys.setswitchinterval(previous)


# -- threads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", SCALES)
def test_shared_event_under_mixed_operations_from_many_threads(
    scale: Scale, eager_gil: float
) -> None:
    """Greenlets in every thread wait (with and without timeouts), set, clear and look at one
    Event.  A lost wake-up shows as a deadlock, because of one rule: a greenlet that cleared
    the flag sets it again before it next waits without a timeout (and sets it last thing).
    So a waiter parked on a clear flag is always woken: whoever cleared the flag last before it
    parked owes a set, cannot block forever before paying it, and pays it after the waiter
    parked (paid earlier, the flag would have been set when the waiter looked)."""
    ev = Event()
    per_greenlet = scale.operations // (scale.threads * scale.greenlets)
    counts: Counter[str] = Counter()
    counts_lock = threading.Lock()

    def thread(index: int) -> None:
        local: Counter[str] = Counter()

        def worker(number: int) -> None:
            rng = random.Random(index * 10_000 + number)
            owes_a_set = False
            for _ in range(per_greenlet):
                roll = rng.random()
                if roll < 0.30 and not owes_a_set:
                    assert ev.wait() is True
                    local["wait"] += 1
                elif roll < 0.45 or roll < 0.30:
                    result = ev.wait(rng.choice((0, 0.0005, 0.002)))
                    assert result is True or result is False
                    local[f"timed wait {result}"] += 1
                elif roll < 0.70:
                    ev.set()
                    owes_a_set = False
                    local["set"] += 1
                elif roll < 0.90:
                    ev.clear()
                    owes_a_set = True
                    local["clear"] += 1
                else:
                    assert ev.is_set() in (True, False)
                    sleep(0)
                    local["look"] += 1
            ev.set()
            local["final set"] += 1

        for task in spawn_all(worker, range(scale.greenlets)):
            task.get()  # re-raises what the worker raised
        with counts_lock:
            counts.update(local)

    started = time.perf_counter()
    # Below pytest-timeout's 120 s (the stress session allows 900): a deadlock is reported as
    # one, naming the test, rather than as a timeout.
    run_in_threads(thread, scale.threads, timeout=100, what="the shared Event stress")
    elapsed = time.perf_counter() - started
    done = sum(counts.values())
    assert counts["final set"] == scale.threads * scale.greenlets
    assert done == scale.threads * scale.greenlets * (per_greenlet + 1)
    assert ev.is_set()
    assert_no_links(ev)
    report(
        f"shared Event, {scale} greenlets: {done} operations in {elapsed:.2f}s "
        f"({dict(sorted(counts.items()))})"
    )


@pytest.mark.parametrize("scale", SCALES)
def test_tokens_passed_around_rings_of_events_across_threads_are_never_lost(
    scale: Scale, eager_gil: float
) -> None:
    """The classic lost-wake-up detector, on Events.  Each ring has one greenlet in every
    thread and one token: greenlet ``t`` waits for its Event, clears it and sets the next
    thread's.  Nobody else ever sets those Events, so a single lost wake-up stops its ring for
    good (the wait below then times out and names the ring), and every hop crosses a thread."""
    rings = scale.greenlets
    laps = max(1, scale.operations // (rings * scale.threads))
    events = [[Event() for _ in range(scale.threads)] for _ in range(rings)]
    for ring in events:
        ring[0].set()  # the token starts in thread 0

    def thread(index: int) -> int:
        def member(ring: int) -> int:
            mine, following = events[ring][index], events[ring][(index + 1) % scale.threads]
            for lap in range(laps):
                assert mine.wait(60), f"ring {ring} lost its token at lap {lap}, thread {index}"
                mine.clear()
                following.set()
            return laps

        return sum(task.get() for task in spawn_all(member, range(rings)))

    started = time.perf_counter()
    hops = run_in_threads(thread, scale.threads, timeout=100, what="the rings of Events")
    total = rings * laps * scale.threads
    elapsed = time.perf_counter() - started
    assert hops == [rings * laps] * scale.threads
    # Every token went round `laps` times and is back where it started.
    assert [[ev.is_set() for ev in ring] for ring in events] == [
        [True] + [False] * (scale.threads - 1)
    ] * rings
    assert_no_links(*(ev for ring in events for ev in ring))
    report(
        f"rings, {scale} greenlets: {rings} rings x {laps} laps = {total} cross-thread hops "
        f"(each a wait, a clear and a set: {3 * total} event operations) in {elapsed:.2f}s"
    )


@pytest.mark.parametrize("scale", SCALES)
def test_requests_and_replies_through_an_event_doorbell_conserve_every_item(
    scale: Scale, eager_gil: float
) -> None:
    """Clients in every thread queue a request with a fresh AsyncResult or ValueEvent for the
    reply and ring one shared Event; one server greenlet per thread waits on the doorbell,
    clears it, drains the requests and fires the replies (often into another thread).  Every
    request is served exactly once and every reply reaches its client."""
    clients = scale.greenlets - 1
    per_client = max(1, scale.operations // 4 // (scale.threads * clients))
    total = scale.threads * clients * per_client
    requests: deque[tuple[int, Any]] = deque()
    doorbell = Event()
    stopping = [False]
    finished = [0]
    finished_lock = threading.Lock()
    served: list[list[int]] = [[] for _ in range(scale.threads)]

    def thread(index: int) -> int:
        mine = served[index]

        def server() -> None:
            while True:
                doorbell.wait()
                doorbell.clear()
                while requests:
                    try:
                        request, reply = requests.popleft()
                    except IndexError:
                        break
                    mine.append(request)
                    if type(reply) is AsyncResult:
                        reply.set(request * 2)
                    else:
                        reply.send(request * 2)
                # Checked after clear(): whoever stops sets the flag after raising `stopping`,
                # so a server that cleared that set sees `stopping` here.
                if stopping[0]:
                    doorbell.set()  # for the servers still waiting
                    return

        def client(number: int) -> int:
            first = (index * clients + number) * per_client
            got = 0
            for request in range(first, first + per_client):
                reply: AsyncResult[int] | ValueEvent[int]
                if request % 2:
                    reply = AsyncResult()
                    requests.append((request, reply))
                    doorbell.set()
                    answer = reply.get(timeout=120)
                else:
                    reply = ValueEvent()
                    requests.append((request, reply))
                    doorbell.set()
                    answer = reply.wait(timeout=120)
                assert answer == request * 2
                assert_no_links(reply)
                got += answer
            with finished_lock:
                finished[0] += 1
                last = finished[0] == scale.threads * clients
            if last:
                stopping[0] = True
                doorbell.set()
            return got

        serving = spawn(server)
        sums = [task.get() for task in spawn_all(client, range(clients))]
        serving.get()
        return sum(sums)

    started = time.perf_counter()
    sums = run_in_threads(thread, scale.threads, timeout=300, what="the doorbell stress")
    elapsed = time.perf_counter() - started
    everything = sorted(request for mine in served for request in mine)
    assert everything == list(range(total))  # each request served exactly once
    assert sum(sums) == 2 * sum(range(total))  # type: ignore[arg-type]
    assert not requests
    assert_no_links(doorbell)
    report(
        f"doorbell, {scale} greenlets: {total} requests (each a set, a reply fired and a reply "
        f"waited for: {3 * total} event operations), served per thread "
        f"{[len(mine) for mine in served]}, in {elapsed:.2f}s"
    )


# -- leaks -------------------------------------------------------------------------------------


def _traced(warm_up: Callable[[], object], run: Callable[[], object]) -> tuple[int, int]:
    """Run ``warm_up()`` then ``run()`` under tracemalloc; return the traced memory after each.

    The warm-up runs traced too, so what it leaves behind on purpose (a hub's timer heap at its
    high-water mark, dead records an object has not compacted yet) is counted before as well as
    after, and only what ``run()`` adds on top shows as growth.
    """
    gc.collect()
    tracemalloc.start()
    try:
        warm_up()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        run()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return before, after


@pytest.mark.parametrize("scale", SCALES)
def test_timed_out_waits_leave_no_links_and_memory_flat(scale: Scale) -> None:
    """Greenlets time out over and over on one Event, one AsyncResult (get and wait) and one
    ValueEvent that are never set: nothing is left on them and memory does not grow."""
    ev, result, value = Event(), AsyncResult[int](), ValueEvent[int]()
    greenlets = 500
    timeout = 0.0001

    def one_wait(which: int) -> None:
        if which == 0:
            assert ev.wait(timeout) is False
        elif which == 1:
            assert result.wait(timeout) is None
        elif which == 2:
            try:
                result.get(timeout=timeout)
            except TimeoutError:
                return
            raise AssertionError("AsyncResult.get returned")
        else:
            try:
                value.wait(timeout)
            except TimeoutError:
                return
            raise AssertionError("ValueEvent.wait returned")

    def waits(count: int) -> int:
        def worker(number: int) -> int:
            for i in range(count // greenlets):
                one_wait((number + i) % 4)
            return count // greenlets

        return sum(task.get() for task in spawn_all(worker, range(greenlets)))

    done = [0]
    started = time.perf_counter()
    before, after = _traced(
        lambda: waits(greenlets * 10), lambda: done.__setitem__(0, waits(scale.timed_out_waits))
    )
    elapsed = time.perf_counter() - started
    assert done[0] == scale.timed_out_waits
    assert_no_links(ev, result, value)
    assert (ev.is_set(), result.ready(), value.ready()) == (False, False, False)
    report(
        f"{done[0]} timed-out waits (Event, AsyncResult.get/wait, ValueEvent) in {elapsed:.2f}s "
        f"under tracemalloc: traced memory {before} -> {after} bytes ({after - before:+d})"
    )
    assert after - before < MEMORY_BOUND


@pytest.mark.parametrize("scale", SCALES)
def test_killed_waiters_hold_nothing_and_leave_no_links(scale: Scale) -> None:
    """Rounds of waiters are killed while parked.  A kill fires nothing and wakes nobody: the
    one long-lived waiter on each object stays parked until the object is really set, and then
    wakes exactly once; memory does not grow from round to round."""
    objs: list[Any] = [Event(), AsyncResult[int](), ValueEvent[int]()]
    per_round = 300
    woke: list[object] = []

    def keeper(obj: Any) -> None:
        woke.append(obj.get() if type(obj) is AsyncResult else obj.wait())

    keepers = [spawn(keeper, obj) for obj in objs]
    run_until_blocked()

    def one_round() -> None:
        victims = [spawn(lambda obj: obj.wait(), objs[i % 3]) for i in range(per_round)]
        run_until_blocked()
        assert [obj.linkcount() for obj in objs] == [1 + per_round // 3] * 3
        for victim in victims:
            victim.kill(block=False)
        run_until_blocked()
        assert all(victim.dead for victim in victims)
        assert [obj.linkcount() for obj in objs] == [1, 1, 1]  # only the keepers are left
        assert not any(obj.ready() for obj in objs)
        assert woke == []

    def rounds() -> None:
        for _ in range(scale.kill_rounds):
            one_round()

    def warm_up() -> None:
        # Records of killed waiters are compacted once they outnumber the live ones, so up to
        # a few dozen dead ones (and their greenlets) stay on each object between compactions;
        # a few rounds bring that residue to its steady size.
        for _ in range(3):
            one_round()

    before, after = _traced(warm_up, rounds)
    objs[0].set()
    objs[1].set(1)
    objs[2].send(2)
    run_until_blocked()
    assert sorted(woke, key=repr) == [1, 2, True]
    assert all(keeper.dead for keeper in keepers)
    assert_no_links(*objs)
    report(
        f"{scale.kill_rounds * per_round} waiters killed in {scale.kill_rounds} rounds: "
        f"traced memory {before} -> {after} bytes ({after - before:+d})"
    )
    assert after - before < MEMORY_BOUND
