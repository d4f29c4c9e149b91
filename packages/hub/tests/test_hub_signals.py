"""signal_handler: a signal wakes an idle loop at once, and the handler takes no lock.

Issue 14: a SIGTERM handler that set a stop Event took effect only at the hub's next timer (with
none, never), and a plain Python handler calling ``Event.set()`` could deadlock on the
primitive's own mutex when the signal landed while the main thread held it.  These tests run in
the main thread (Python runs signal handlers there only), on whichever hub the session selected.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from typing import Any

import pytest

from greensync.hub import (
    LoopExit,
    SignalHandle,
    Task,
    Waiter,
    signal_handler,
    sleep,
    spawn,
)
from greensync.hub.testing import Permits, run_until_blocked

pytestmark = [
    pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX signals"),
    pytest.mark.skipif(
        threading.current_thread() is not threading.main_thread(),
        reason="signal handlers run in the main thread only",
    ),
]

ON_GEVENT = os.environ.get("GREENSYNC_HUB", "").strip().lower() == "gevent"


def _kill_later(signum: int, seconds: float) -> subprocess.Popen[bytes]:
    """Another process sends us ``signum`` after ``seconds`` (no thread of ours is involved,
    so nothing else can wake the loop)."""
    return subprocess.Popen(
        ["/bin/sh", "-c", f"sleep {seconds}; kill -{int(signum)} {os.getpid()}"]
    )


@pytest.mark.timeout(60)
def test_signal_wakes_an_idle_loop_at_once() -> None:
    waiter: Waiter[str] = Waiter()
    handle = signal_handler(signal.SIGUSR1, waiter.switch, "stop")
    sender = _kill_later(signal.SIGUSR1, 0.05)
    try:
        # The loop is idle in its poll with a 30 s timer only: before the fix the signal was
        # noticed when that timer fired, and this wait timed out.
        assert waiter.get(timeout=30) == "stop"
    finally:
        handle.cancel()
        sender.wait(30)


@pytest.mark.timeout(60)
def test_the_python_handler_takes_no_lock_the_interrupted_code_may_hold() -> None:
    waiter: Waiter[str] = Waiter()
    parked = spawn(waiter.get)
    run_until_blocked()
    line = waiter.get_waitline()
    handle = signal_handler(signal.SIGUSR2, waiter.switch, "delivered")
    try:
        with line.mutex:
            # The Python-level handler runs right here, while this thread holds the line's
            # mutex: had it called waiter.switch(), it would wait for that mutex for ever.
            signal.raise_signal(signal.SIGUSR2)
            assert not waiter.ready()
        assert parked.get(timeout=30) == "delivered"
    finally:
        handle.cancel()


@pytest.mark.timeout(60)
def test_the_function_runs_in_a_task_and_may_block() -> None:
    permits = Permits(0)
    done: Waiter[str] = Waiter()

    def on_signal(tag: str) -> None:
        sleep(0.001)  # blocking is allowed: this is a task, not a hub callback
        permits.acquire(timeout=30)
        done.switch(tag)

    handle = signal_handler(signal.SIGUSR1, on_signal, "blocked, then done")
    try:
        signal.raise_signal(signal.SIGUSR1)
        run_until_blocked()
        sleep(0.01)
        permits.release()
        assert done.get(timeout=30) == "blocked, then done"
    finally:
        handle.cancel()


@pytest.mark.timeout(60)
def test_several_handlers_each_run_once_per_signal_and_cancel_stops_one() -> None:
    seen: list[str] = []
    first = signal_handler(signal.SIGUSR1, seen.append, "first")
    second = signal_handler(signal.SIGUSR1, seen.append, "second")
    try:
        signal.raise_signal(signal.SIGUSR1)
        _until(lambda: len(seen) == 2)
        assert sorted(seen) == ["first", "second"]
        first.cancel()
        first.cancel()  # harmless twice
        assert first.cancelled
        signal.raise_signal(signal.SIGUSR1)
        _until(lambda: len(seen) == 3)
        assert seen[2] == "second"
    finally:
        first.cancel()
        second.cancel()


@pytest.mark.skipif(ON_GEVENT, reason="under gevent, libev owns the signal's C handler")
def test_the_previous_handler_comes_back_when_the_last_registration_goes() -> None:
    previous: list[int] = []

    def python_handler(signum: int, _frame: Any) -> None:
        previous.append(signum)

    old = signal.signal(signal.SIGUSR2, python_handler)
    try:
        one = signal_handler(signal.SIGUSR2, len, "")
        two = signal_handler(signal.SIGUSR2, len, "")
        assert signal.getsignal(signal.SIGUSR2) is not python_handler
        one.cancel()
        assert signal.getsignal(signal.SIGUSR2) is not python_handler
        two.cancel()
        assert signal.getsignal(signal.SIGUSR2) is python_handler
        signal.raise_signal(signal.SIGUSR2)
        assert previous == [signal.SIGUSR2]
    finally:
        signal.signal(signal.SIGUSR2, old)


@pytest.mark.skipif(ON_GEVENT, reason="under gevent, libev owns the signal's C handler")
def test_a_registration_cancelled_from_another_thread_hands_the_signal_back() -> None:
    previous: list[int] = []
    old = signal.signal(signal.SIGUSR2, lambda signum, _frame: previous.append(signum))
    try:
        handle = signal_handler(signal.SIGUSR2, len, "")
        thread = threading.Thread(target=handle.cancel)
        thread.start()
        thread.join(30)
        # The next signal goes where it went before greensync, which takes its handler back.
        signal.raise_signal(signal.SIGUSR2)
        assert previous == [signal.SIGUSR2]
        signal.raise_signal(signal.SIGUSR2)
        assert previous == [signal.SIGUSR2] * 2
    finally:
        signal.signal(signal.SIGUSR2, old)


def test_cancel_lets_go_of_the_function_and_its_arguments() -> None:
    class Big:
        pass

    import weakref

    big = Big()
    ref = weakref.ref(big)
    handle = signal_handler(signal.SIGUSR1, print, big)
    del big
    assert ref() is not None
    handle.cancel()
    assert ref() is None
    assert "cancelled" in repr(handle)


@pytest.mark.timeout(60)
def test_errors_of_the_function_are_reported_like_task_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> None:
        raise RuntimeError("signal function failed")

    handle = signal_handler(signal.SIGUSR1, broken)
    try:
        signal.raise_signal(signal.SIGUSR1)
        _until(lambda: "signal function failed" in caplog.text)
    finally:
        handle.cancel()
    assert any(r.levelname == "ERROR" and r.exc_info for r in caplog.records)


def test_a_registration_does_not_keep_the_loop_alive() -> None:
    handle = signal_handler(signal.SIGUSR1, len, "")
    try:
        with pytest.raises(LoopExit):
            Waiter().get()
    finally:
        handle.cancel()


def test_signal_handler_bad_input() -> None:
    with pytest.raises(TypeError, match="`fn` must be callable"):
        signal_handler(signal.SIGUSR1, "not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`signum` must be a signal number"):
        signal_handler("SIGUSR1", len)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot be handled"):
        signal_handler(signal.SIGKILL, len, "")
    with pytest.raises(ValueError, match="cannot be handled"):
        signal_handler(100_000, len, "")
    errors: list[BaseException] = []

    def elsewhere() -> None:
        try:
            signal_handler(signal.SIGUSR1, len, "")
        except ValueError as exc:
            errors.append(exc)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join(30)
    assert len(errors) == 1
    assert "must be called from the main thread" in str(errors[0])


def test_signal_handle_is_public_and_final() -> None:
    assert SignalHandle.__module__ == "greensync.hub"
    assert getattr(SignalHandle, "__final__", False) is True
    assert Task.__module__ == "greensync.hub"


def _until(condition: Any, turns: int = 100_000) -> None:
    for _ in range(turns):
        if condition():
            return
        sleep(0.001 if _ % 100 == 99 else 0)
    raise AssertionError("the condition never held")
