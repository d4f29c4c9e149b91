"""The loop itself: callbacks, timers, sleep, threads, fds, errors, deadlock and fork."""

from __future__ import annotations

import importlib.util
import math
import os
import socket
import threading
import time
import warnings
import weakref
from typing import Any

import pytest
from greenlet import getcurrent, greenlet

from greensync.hub import (
    Hub,
    HubBase,
    LoopExit,
    Waiter,
    check_timeout,
    get_hub,
    sleep,
    spawn,
    spawn_later,
)
from greensync.hub.testing import (
    Permits,
    Trace,
    armed_timers,
    run_in_threads,
    run_until_blocked,
    run_with_hub,
    timer_heap_size,
)
from greensync.hub.testing import existing_hub as _peek_hub


def builtin_hub() -> Hub:
    """This thread's hub, for the tests that look inside the built-in one."""
    hub = get_hub()
    assert isinstance(hub, Hub)
    return hub


@pytest.mark.builtin_hub
def test_get_hub_is_per_thread_and_stable() -> None:
    hub = get_hub()
    assert get_hub() is hub
    assert isinstance(hub, Hub)
    other: list[HubBase] = []
    t = threading.Thread(target=lambda: other.append(get_hub()))
    t.start()
    t.join()
    assert len(other) == 1
    assert other[0] is not hub


def test_callbacks_run_fifo_on_the_next_turn() -> None:
    hub = get_hub()
    trace = Trace()
    for i in range(5):
        hub.run_callback(trace, f"cb{i}")
    assert trace == []  # nothing runs until we yield
    sleep(0)
    assert trace == ["cb0", "cb1", "cb2", "cb3", "cb4"]


def test_callback_queued_during_a_turn_runs_next_turn() -> None:
    hub = get_hub()
    trace = Trace()

    def first() -> None:
        trace("first")
        hub.run_callback(trace, "queued-by-first")

    hub.run_callback(first)
    hub.run_callback(trace, "second")
    run_until_blocked()
    assert trace == ["first", "second", "queued-by-first"]


def test_cancelled_callback_never_runs() -> None:
    hub = get_hub()
    trace = Trace()
    handle = hub.run_callback(trace, "cancelled")
    hub.run_callback(trace, "kept")
    handle.cancel()
    run_until_blocked()
    assert trace == ["kept"]


@pytest.mark.builtin_hub  # adapters use their loop's own timers, whose ties are its business
def test_timers_fire_in_deadline_order_ties_fifo() -> None:
    hub = get_hub()
    trace = Trace()
    now = hub.time()
    hub.call_at(now + 0.03, trace, "c")
    hub.call_at(now + 0.01, trace, "a1")
    hub.call_at(now + 0.02, trace, "b")
    hub.call_at(now + 0.01, trace, "a2")
    hub.call_later(0.0, trace, "zero")
    sleep(0.06)
    assert trace == ["zero", "a1", "a2", "b", "c"]


def test_cancelled_timer_never_fires() -> None:
    hub = get_hub()
    trace = Trace()
    keep = hub.call_later(0.01, trace, "kept")
    gone = hub.call_later(0.005, trace, "cancelled")
    gone.cancel()
    gone.cancel()  # twice is harmless
    assert not gone.pending
    assert keep.pending
    sleep(0.03)
    assert trace == ["kept"]
    assert not keep.pending


@pytest.mark.builtin_hub
def test_many_cancelled_timers_do_not_grow_the_heap() -> None:
    hub = builtin_hub()
    for _ in range(10_000):
        hub.call_later(100, len, ()).cancel()
    assert len(hub._timers) < 1000


def test_unref_timer_does_not_keep_the_loop_alive() -> None:
    hub = get_hub()
    trace = Trace()
    hub.call_later(30, trace, "never", ref=False)
    waiter: Waiter[int] = Waiter()
    with pytest.raises(LoopExit):
        waiter.get()
    assert trace == []


def test_timer_ref_can_be_changed_on_the_handle() -> None:
    hub = get_hub()
    handle = hub.call_later(30, len, ())
    assert handle.ref
    handle.ref = False
    with pytest.raises(LoopExit):
        Waiter().get()
    handle.ref = True
    handle.cancel()


def test_sleep_zero_is_round_robin() -> None:
    trace = Trace()

    def worker(name: str) -> None:
        for i in range(3):
            trace(f"{name}{i}")
            sleep(0)

    tasks = [spawn(worker, name) for name in "abc"]
    for task in tasks:
        task.join()
    assert trace == ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]


def test_sleep_orders_by_duration() -> None:
    trace = Trace()

    def nap(delay: float) -> None:
        sleep(delay)
        trace(str(delay))

    for delay in (0.03, 0.01, 0.02):
        spawn(nap, delay)
    sleep(0.08)
    assert trace == ["0.01", "0.02", "0.03"]


@pytest.mark.parametrize(
    ("bad", "error"),
    [(-1, ValueError), (math.nan, ValueError), ("1", TypeError), (True, TypeError)],
)
def test_sleep_rejects_bad_seconds(bad: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="`seconds`"):
        sleep(bad)
    sleep(0)  # still works


def test_check_timeout_accepts_numbers_and_none() -> None:
    assert check_timeout(None) is None
    assert check_timeout(0) == 0.0
    assert check_timeout(1.5) == 1.5
    assert check_timeout(math.inf) is None


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (-0.5, ValueError),
        (math.nan, ValueError),
        ("3", TypeError),
        (False, TypeError),
        ([], TypeError),
    ],
)
def test_check_timeout_rejects_bad_input(bad: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="`limit` must be a non-negative number"):
        check_timeout(bad, "limit")


def test_bad_callbacks_and_delays_are_rejected() -> None:
    hub = get_hub()
    with pytest.raises(TypeError, match="`fn` must be callable"):
        hub.run_callback(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`fn` must be callable"):
        hub.run_callback_threadsafe("nope")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`fn` must be callable"):
        hub.call_later(1, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`seconds`"):
        hub.call_later(-1, len)
    with pytest.raises(TypeError, match="`seconds`"):
        hub.call_later(None, len)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`when`"):
        hub.call_at("soon", len)  # type: ignore[arg-type]
    trace = Trace()
    hub.run_callback(trace, "still works")
    sleep(0)
    assert trace == ["still works"]


def test_blocking_inside_the_hub_is_an_error_and_the_hub_survives() -> None:
    hub = get_hub()
    errors: list[BaseException] = []
    trace = Trace()

    def blocking_callback() -> None:
        try:
            sleep(0.01)
        except RuntimeError as exc:
            errors.append(exc)
        try:
            Waiter().get()
        except RuntimeError as exc:
            errors.append(exc)

    hub.run_callback(blocking_callback)
    hub.run_callback(trace, "after")
    sleep(0)
    assert len(errors) == 2
    assert all("cannot block inside the hub" in str(e) for e in errors)
    assert trace == ["after"]


def test_loop_exit_names_what_the_main_greenlet_waited_on() -> None:
    waiter: Waiter[int] = Waiter()
    with pytest.raises(LoopExit) as info:
        waiter.get()
    assert "would block forever" in str(info.value)
    assert repr(waiter).split()[0] in str(info.value)
    assert info.value.waiting_on is waiter
    assert waiter.linkcount() == 0  # the parked main greenlet left no link behind
    # the hub keeps working after LoopExit
    trace = Trace()
    get_hub().run_callback(trace, "alive")
    sleep(0)
    assert trace == ["alive"]


def test_no_loop_exit_while_another_thread_may_post() -> None:
    waiter: Waiter[str] = Waiter()
    hub = get_hub()

    def poster() -> None:
        time.sleep(0.2)
        hub.run_callback_threadsafe(waiter.switch, "posted")

    thread = threading.Thread(target=poster)
    thread.start()
    assert waiter.get() == "posted"
    thread.join()


def test_run_callback_threadsafe_wakes_an_idle_loop_promptly() -> None:
    hub = get_hub()
    waiter: Waiter[str] = Waiter()
    ready = threading.Event()

    def poster() -> None:
        ready.wait()
        hub.run_callback_threadsafe(waiter.switch, "from thread")

    thread = threading.Thread(target=poster)
    thread.start()
    hub.run_callback(ready.set)
    # A ref'd timer far away keeps the loop blocked in select(); only the pipe can wake it.
    far = hub.call_later(60, len, ())
    try:
        assert waiter.get(timeout=30) == "from thread"
    finally:
        far.cancel()
        thread.join()


def test_each_thread_gets_its_own_hub_and_loop() -> None:
    def body(i: int) -> tuple[int, int]:
        hub = get_hub()
        trace = Trace()
        tasks = [spawn(trace, f"{i}-{n}") for n in range(3)]
        for task in tasks:
            task.join()
        return id(hub), len(trace)

    results = run_in_threads(body, 3)
    hubs = {r[0] for r in results}  # type: ignore[index]
    assert len(hubs) == 3
    assert id(get_hub()) not in hubs
    assert [r[1] for r in results] == [3, 3, 3]  # type: ignore[index]


def test_non_blocking_calls_create_no_hub() -> None:
    seen: list[object] = []

    def body() -> None:
        waiter: Waiter[int] = Waiter()
        waiter.switch(5)
        seen.append(waiter.get())  # value already there: no parking
        seen.append(_peek_hub())

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [5, None]


def test_callback_exception_is_reported_and_loop_survives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = get_hub()
    trace = Trace()

    def boom() -> None:
        raise ZeroDivisionError("boom in callback")

    hub.run_callback(boom)
    hub.run_callback(trace, "after")
    sleep(0)
    assert trace == ["after"]
    (record,) = caplog.records
    assert record.name == "greensync.hub"
    assert record.levelname == "ERROR"
    assert "ZeroDivisionError" in record.getMessage()
    assert "boom in callback" in caplog.text
    assert "Traceback" in caplog.text


def test_handle_error_hook_can_be_replaced() -> None:
    hub = get_hub()
    seen: list[tuple[object, BaseException]] = []

    def hook(context: object, exc: BaseException) -> None:
        seen.append((context, exc))

    def boom() -> None:
        raise KeyError("k")

    hub.handle_error = hook  # type: ignore[method-assign]
    try:
        hub.run_callback(boom)
        sleep(0)
    finally:
        del hub.handle_error
    assert len(seen) == 1
    assert seen[0][0] is boom
    assert isinstance(seen[0][1], KeyError)


def test_keyboard_interrupt_from_a_callback_reaches_main() -> None:
    hub = get_hub()
    trace = Trace()

    def interrupt() -> None:
        raise KeyboardInterrupt

    hub.run_callback(interrupt)
    hub.run_callback(trace, "later")
    with pytest.raises(KeyboardInterrupt):
        sleep(0.5)
    # the loop is still usable, and the rest of that turn still runs
    sleep(0)
    assert trace == ["later"]


def test_system_exit_in_a_task_reaches_main() -> None:
    def leave() -> None:
        raise SystemExit(3)

    task = spawn(leave)
    with pytest.raises(SystemExit) as info:
        sleep(0.5)
    assert info.value.code == 3
    assert task.ready()
    assert isinstance(task.exception, SystemExit)


@pytest.mark.builtin_hub
def test_wait_readable_and_writable() -> None:
    hub = builtin_hub()
    a, b = socket.socketpair()
    try:
        trace = Trace()

        def reader() -> None:
            hub.wait_readable(a.fileno())
            trace(f"read {a.recv(10)!r}")

        task = spawn(reader)
        run_until_blocked()
        assert trace == []
        hub.wait_writable(b)  # a socket object works too; writable at once
        b.send(b"ping")
        task.join(timeout=10)
        assert trace == ["read b'ping'"]
        assert hub._nfds == 0
    finally:
        a.close()
        b.close()


@pytest.mark.builtin_hub
def test_wait_readable_times_out_and_cleans_up() -> None:
    hub = builtin_hub()
    a, b = socket.socketpair()
    try:
        with pytest.raises(TimeoutError, match="not ready"):
            hub.wait_readable(a, timeout=0.01)
        assert hub._nfds == 0
        assert a.fileno() not in hub._fd_waiters
    finally:
        a.close()
        b.close()


@pytest.mark.builtin_hub
def test_wait_fd_bad_input_and_second_reader() -> None:
    hub = builtin_hub()
    with pytest.raises(TypeError, match="`fd`"):
        hub.wait_readable("zero")
    with pytest.raises(ValueError, match="`fd`"):
        hub.wait_readable(-3)
    a, b = socket.socketpair()
    try:
        first = spawn(hub.wait_readable, a)
        run_until_blocked()
        with pytest.raises(RuntimeError, match="already waiting to read"):
            hub.wait_readable(a, timeout=1)
        first.kill()
        assert hub._nfds == 0
    finally:
        a.close()
        b.close()


def test_throw_into_wakes_a_parked_greenlet_by_switching() -> None:
    hub = get_hub()
    trace = Trace()

    def parked() -> None:
        try:
            Waiter().get()
        except ValueError as exc:
            trace(f"got {exc}")

    task = spawn(parked)
    run_until_blocked()
    hub.run_callback(hub.throw_into, task, ValueError("x"))
    task.join()
    assert trace == ["got x"]


def test_throw_into_a_greenlet_suspended_outside_the_hub() -> None:
    hub = get_hub()
    trace = Trace()
    main = getcurrent()

    def side() -> None:
        try:
            main.switch("suspended")
        except ValueError:
            trace("thrown")

    g = greenlet(side)
    assert g.switch() == "suspended"
    hub.run_callback(hub.throw_into, g, ValueError())
    sleep(0)
    assert trace == ["thrown"]
    assert g.dead


# eventlet, once imported by another test, warns at every fork; it is not under test here.
@pytest.mark.filterwarnings("ignore:Using fork:DeprecationWarning")
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.skipif(
    os.environ.get("GREENSYNC_HUB") == "eventlet", reason="eventlet does not support fork()"
)
def test_after_fork_the_child_gets_a_fresh_hub() -> None:
    parent_hub = get_hub()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.close(read_fd)
            hub = get_hub()
            trace = Trace()
            tasks = [spawn(trace, str(i)) for i in range(3)]
            for task in tasks:
                task.join()
            sleep(0.01)
            ok = hub is not parent_hub and trace == ["0", "1", "2"]
            os.write(write_fd, b"ok" if ok else b"bad")
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    _, status = os.waitpid(pid, 0)
    result = os.read(read_fd, 10)
    os.close(read_fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert result == b"ok"
    assert get_hub() is parent_hub


@pytest.mark.builtin_hub
def test_hub_repr_is_informative() -> None:
    text = repr(get_hub())
    assert text.startswith("<Hub thread=")
    assert "ready=" in text
    assert "timers=" in text


def test_time_is_monotonic() -> None:
    hub = get_hub()
    first = hub.time()
    sleep(0.001)
    assert hub.time() >= first


def test_blocking_python_exception_in_task_is_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def fail() -> None:
        raise RuntimeError("task went wrong")

    task = spawn(fail)
    task.join()
    assert "task went wrong" in caplog.text
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert isinstance(task.exception, RuntimeError)
    assert not task.successful()


def test_huge_int_timeouts_mean_forever_not_overflow() -> None:
    assert check_timeout(10**400) is None
    with pytest.raises(ValueError, match="`timeout`"):
        check_timeout(-(10**400))


# -- issue 14's timer and poll bugs -------------------------------------------------------------


def test_a_wait_longer_than_the_poll_can_take_works() -> None:
    # epoll takes an int of milliseconds (about 24.8 days at most): a longer wait that really
    # parks used to raise OverflowError ("timeout is too large") in the main greenlet.
    permits = Permits(0)
    releaser = threading.Timer(0.05, permits.release)
    releaser.start()
    try:
        assert permits.acquire(timeout=30 * 86400) is True
    finally:
        releaser.join(30)
    waiter: Waiter[str] = Waiter()
    spawn_later(0.01, waiter.switch, "late")
    assert waiter.get(timeout=10**9) == "late"


def test_a_cancelled_timer_lets_go_of_its_arguments_at_once() -> None:
    class Payload:
        pass

    hub = get_hub()
    payload = Payload()
    ref = weakref.ref(payload)
    handle = hub.call_later(3600, print, payload)
    del payload
    assert ref() is not None
    handle.cancel()
    assert ref() is None  # not an hour later, when its deadline comes


def test_a_cancelled_timer_lets_go_of_its_arguments_under_every_adapter() -> None:
    class Payload:
        pass

    def body() -> bool:
        payload = Payload()
        ref = weakref.ref(payload)
        handle = get_hub().call_later(3600, print, payload)
        del payload
        handle.cancel()
        sleep(0)
        return ref() is None

    for name in ("asyncio", "gevent", "eventlet"):
        if name != "asyncio" and importlib.util.find_spec(name) is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            assert run_with_hub(name, body) is True, name


@pytest.mark.builtin_hub
def test_a_cancelled_timer_at_the_head_of_the_heap_does_not_set_the_poll_timeout() -> None:
    hub = builtin_hub()
    polls: list[float | None] = []
    real_poll = hub._poll

    def recording_poll(timeout: float | None) -> None:
        polls.append(timeout)
        real_poll(timeout)

    waiter: Waiter[str] = Waiter()
    keep = hub.call_later(60, waiter.switch, "the live timer")
    gone = hub.call_later(0.5, waiter.switch, "cancelled")
    gone.cancel()
    hub._poll = recording_poll  # type: ignore[method-assign]
    releaser = threading.Timer(0.05, waiter.switch, args=("posted",))
    releaser.start()
    try:
        assert waiter.get() == "posted"
    finally:
        del hub._poll
        keep.cancel()
        releaser.join(30)
    # Idle, the loop polled until a live timer's deadline, not the cancelled one's (0.5 s).
    assert polls
    assert polls[0] is not None
    assert polls[0] > 1


@pytest.mark.builtin_hub
def test_testing_helpers_count_armed_timers_and_the_heap() -> None:
    hub = builtin_hub()
    armed, heap = armed_timers(), timer_heap_size()
    gone = hub.call_later(60, len, "")
    keep = hub.call_later(60, len, "")
    gone.cancel()  # not the newest: it stays in the heap, marked, until compaction
    assert armed_timers() == armed + 1
    assert timer_heap_size() == heap + 2
    keep.cancel()
    assert armed_timers() == armed
    with pytest.raises(TypeError, match="built-in hub"):
        armed_timers(run_with_hub("asyncio", get_hub))
