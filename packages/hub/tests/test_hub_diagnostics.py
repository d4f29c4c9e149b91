"""Diagnostics: LoopExit and reprs name the real primitives, the deadlock warning, error reports.

Issue 14: a lock-ordering deadlock under ``joinall`` used to name "``<Waiter waiters=1>``" (an
internal object of ``iwait``) and no task; a parked Task said "running"; another live thread
made a self-deadlock hang silently; task errors went to stderr only, never to gevent's hook.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
from typing import Any

import pytest
from greenlet import greenlet

from greensync.hub import (
    HubBase,
    LoopExit,
    Task,
    Waiter,
    get_hub,
    joinall,
    sleep,
    spawn,
)
from greensync.hub.testing import Permits, assert_no_links, run_until_blocked, run_with_hub

ADAPTER = os.environ.get("GREENSYNC_HUB", "").strip().lower() not in ("", "builtin", "default")


def _kill_all(*tasks: Task[Any]) -> None:
    for task in tasks:
        task.kill(timeout=10)


# -- LoopExit ---------------------------------------------------------------------------------


def test_loop_exit_names_both_tasks_and_both_locks_of_a_lock_ordering_deadlock() -> None:
    first, second = Permits(1), Permits(1)

    def takes_first_then_second() -> None:
        first.acquire()
        sleep(0)
        second.acquire()

    def takes_second_then_first() -> None:
        second.acquire()
        sleep(0)
        first.acquire()

    a = spawn(takes_first_then_second)
    b = spawn(takes_second_then_first)
    with pytest.raises(LoopExit) as info:
        joinall([a, b])
    exc = info.value
    # Each task is listed with the very lock it waits on (not an internal waiter).
    parked = dict(exc.parked)
    assert parked[a] is second
    assert parked[b] is first
    message = str(exc)
    assert "would block forever" in message
    assert "takes_first_then_second parked on <Permits" in message
    assert "takes_second_then_first parked on <Permits" in message
    assert "Waiter" not in message
    # The main greenlet waits on the two tasks (joinall's iwait lists them).
    assert f"the main greenlet waits on <iwait on [{a!r}, {b!r}]>" in message
    _kill_all(a, b)
    assert_no_links(first, second, a, b)


def test_loop_exit_names_the_primitive_the_main_greenlet_waits_on() -> None:
    permits = Permits(0)
    helper = spawn(permits.acquire)
    run_until_blocked()
    with pytest.raises(LoopExit) as info:
        permits.acquire()
    assert info.value.waiting_on is permits
    assert "the main greenlet waits on <Permits count=0 waiters=2>" in str(info.value)
    assert (helper, permits) in info.value.parked
    _kill_all(helper)
    assert_no_links(permits)


def test_loop_exit_lists_plain_greenlets_and_what_they_wait_on() -> None:
    waiter: Waiter[int] = Waiter()
    hub = get_hub()
    plain = greenlet(waiter.get, parent=hub.loop_greenlet)
    hub.run_callback(plain.switch)
    run_until_blocked()
    with pytest.raises(LoopExit) as info:
        Waiter().get()
    assert (plain, waiter) in info.value.parked
    assert f"waits on {waiter!r}" in str(info.value)
    waiter.switch(1)
    run_until_blocked()
    assert plain.dead


def test_loop_exit_is_reported_under_its_public_name() -> None:
    assert LoopExit.__module__ == "greensync.hub"
    assert LoopExit.__qualname__ == "LoopExit"


# -- repr of a parked task --------------------------------------------------------------------


def test_repr_of_a_parked_task_says_what_it_is_parked_on() -> None:
    permits = Permits(0)
    waiter: Waiter[int] = Waiter()
    on_permits = spawn(permits.acquire)
    on_waiter = spawn(waiter.get)
    sleeping = spawn(sleep, 30)
    assert "pending" in repr(on_permits)
    run_until_blocked()
    assert repr(on_permits) == f"<Task Permits.acquire parked on {permits!r}>"
    assert repr(on_waiter) == f"<Task Waiter.get parked on {waiter!r}>"
    assert repr(sleeping) == "<Task sleep parked on 'sleep'>"
    permits.release()
    waiter.switch(5)
    assert on_permits.get(timeout=10) is True
    assert on_waiter.get(timeout=10) == 5
    assert "done" in repr(on_waiter)
    _kill_all(sleeping)


# -- the deadlock warning ---------------------------------------------------------------------


class _Signalled(logging.Handler):
    """Sets a threading.Event when the hub logs a warning."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warned = threading.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.warned.set()


@pytest.mark.skipif(
    os.environ.get("GREENSYNC_HUB", "").strip().lower() == "gevent",
    reason="gevent's loop does not tell whether it is idle: no deadlock warning there",
)
def test_deadlock_warning_names_the_waiters_once_when_another_thread_keeps_the_loop_alive() -> None:
    hub = get_hub()
    waiter: Waiter[str] = Waiter()
    permits = Permits(0)
    helper = spawn(permits.acquire)
    run_until_blocked()
    handler = _Signalled()
    logger = logging.getLogger("greensync.hub")
    logger.addHandler(handler)
    saved = hub.deadlock_warning
    hub.deadlock_warning = 0.05

    def other_thread() -> None:
        # Only after the warning (no timing guess), and after several more intervals, so a
        # second warning would have had the time to come.
        handler.warned.wait(30)
        threading.Event().wait(0.3)
        waiter.switch("woken by the thread")

    thread = threading.Thread(target=other_thread)
    thread.start()
    try:
        assert waiter.get() == "woken by the thread"
    finally:
        thread.join(30)
        hub.deadlock_warning = saved
        logger.removeHandler(handler)
    assert len(handler.messages) == 1, handler.messages
    (message,) = handler.messages
    assert "possible deadlock" in message
    assert "the main greenlet waits on <Waiter waiters=1>" in message
    assert f"parked on {permits!r}" in message
    assert thread.name in message
    _kill_all(helper)


def test_deadlock_warning_interval_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    def interval() -> float | None:
        return get_hub().deadlock_warning

    monkeypatch.delenv("GREENSYNC_DEADLOCK_WARN", raising=False)
    assert run_with_hub("builtin", interval) == 10.0
    monkeypatch.setenv("GREENSYNC_DEADLOCK_WARN", "2.5")
    assert run_with_hub("builtin", interval) == 2.5
    assert run_with_hub("asyncio", interval) == 2.5
    for off in ("0", "off", "never"):
        monkeypatch.setenv("GREENSYNC_DEADLOCK_WARN", off)
        assert run_with_hub("builtin", interval) is None
    monkeypatch.setenv("GREENSYNC_DEADLOCK_WARN", "soon")
    with pytest.raises(ValueError, match="GREENSYNC_DEADLOCK_WARN must be"):
        run_with_hub("builtin", interval)


def test_deadlock_warning_setting_is_checked() -> None:
    hub = get_hub()
    saved = hub.deadlock_warning

    def setting(value: Any) -> float | None:
        hub.deadlock_warning = value
        return hub.deadlock_warning

    try:
        assert setting(3) == 3.0
        assert setting(0) is None
        assert setting(None) is None
        with pytest.raises(ValueError, match="`deadlock_warning` must be a non-negative"):
            setting(-1)
        with pytest.raises(TypeError, match="`deadlock_warning`"):
            setting("5")
    finally:
        hub.deadlock_warning = saved


# -- errors of tasks and callbacks ------------------------------------------------------------


def test_task_and_callback_errors_are_logged_at_error_with_the_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def task_fails() -> None:
        raise KeyError("from a task")

    def callback_fails() -> None:
        raise ValueError("from a callback")

    task = spawn(task_fails)
    get_hub().run_callback(callback_fails)
    task.join(timeout=10)
    run_until_blocked()
    records = [r for r in caplog.records if r.name == "greensync.hub"]
    assert [r.levelno for r in records] == [logging.ERROR, logging.ERROR]
    errors = {type(r.exc_info[1]) for r in records if r.exc_info is not None}
    assert errors == {KeyError, ValueError}
    assert "task_fails" in records[0].getMessage() or "task_fails" in records[1].getMessage()
    assert "Traceback" in caplog.text


def test_errors_are_shown_on_stderr_when_logging_is_not_configured() -> None:
    script = textwrap.dedent(
        """
        from greensync.hub import spawn

        def broken():
            raise ZeroDivisionError("nobody configured logging")

        spawn(broken).join()
        print("still running")
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "GREENSYNC_HUB"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "still running"
    assert "broken" in done.stderr
    assert "Traceback (most recent call last)" in done.stderr
    assert "ZeroDivisionError: nobody configured logging" in done.stderr


def test_task_errors_reach_gevents_handle_error_hook() -> None:
    gevent = pytest.importorskip("gevent")

    def body() -> list[tuple[object, BaseException]]:
        seen: list[tuple[object, BaseException]] = []
        ghub: Any = gevent.get_hub()
        ghub.handle_error = lambda context, _t, value, _tb: seen.append((context, value))
        try:

            def boom() -> None:
                raise RuntimeError("seen by gevent's hook")

            task = spawn(boom)
            task.join(timeout=10)
            get_hub().run_callback(boom)
            sleep(0.01)
        finally:
            del ghub.handle_error
        return seen

    seen = run_with_hub("gevent", body)
    assert [str(exc) for _, exc in seen] == ["seen by gevent's hook"] * 2
    assert isinstance(seen[0][0], Task)


def test_task_errors_reach_eventlets_error_hook() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eventlet_hubs = pytest.importorskip("eventlet.hubs")

    def body() -> list[BaseException]:
        seen: list[BaseException] = []
        ehub: Any = eventlet_hubs.get_hub()
        ehub.squelch_generic_exception = lambda exc_info: seen.append(exc_info[1])

        def boom() -> None:
            raise RuntimeError("seen by eventlet's hook")

        spawn(boom).join(timeout=10)
        return seen

    assert [str(exc) for exc in run_with_hub("eventlet", body)] == ["seen by eventlet's hook"]


def test_a_broken_error_hook_is_itself_logged(caplog: pytest.LogCaptureFixture) -> None:
    hub: HubBase = get_hub()

    def hook(context: object, exc: BaseException) -> None:
        raise OSError("the hook broke")

    hub.handle_error = hook  # type: ignore[method-assign]
    try:
        spawn(lambda: 1 / 0).join(timeout=10)
    finally:
        del hub.handle_error
    assert "the error hook" in caplog.text
    assert "the hook broke" in caplog.text


def test_every_public_class_and_function_reports_the_public_module() -> None:
    import greensync.hub as hub
    import greensync.hub.testing as testing

    for name in hub.__all__:
        obj = getattr(hub, name)
        if isinstance(obj, type) or callable(obj):
            assert obj.__module__ == "greensync.hub", name
    assert testing.ChaosHub.__module__ == "greensync.hub.testing"
    final = [hub.Hub, hub.LoopExit, hub.Waiter, hub.iwait, hub.CallbackHandle, hub.TimerHandle]
    final += [hub.SignalHandle, testing.Permits, testing.Trace, testing.ChaosHub]
    assert [c.__name__ for c in final if not getattr(c, "__final__", False)] == []
    meant_for_subclassing = [hub.Linkable, hub.WaitLine, hub.HubBase, hub.Task]
    assert [c.__name__ for c in meant_for_subclassing if getattr(c, "__final__", False)] == []
