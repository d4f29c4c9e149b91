"""Tasks, joinall, iwait and wait."""

from __future__ import annotations

import contextvars
from typing import Any

import pytest
from greenlet import GreenletExit

from greensync.hub import (
    LoopExit,
    Task,
    Waiter,
    get_hub,
    iwait,
    joinall,
    sleep,
    spawn,
    spawn_later,
    wait,
)
from greensync.hub.testing import Permits, Trace, assert_no_links, run_until_blocked

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def test_spawn_runs_on_the_next_turn_and_get_returns_the_value() -> None:
    trace = Trace()

    def work(a: int, b: int, *, c: int) -> int:
        trace("ran")
        return a + b + c

    task = spawn(work, 1, 2, c=3)
    assert trace == []
    assert not task.ready()
    assert task.get() == 6
    assert trace == ["ran"]
    assert task.ready()
    assert task.successful()
    assert task.value == 6
    assert task.exception is None


def test_get_reraises_the_task_exception() -> None:
    def fail() -> None:
        raise KeyError("missing")

    task = spawn(fail)
    task.join()
    assert task.ready()
    assert not task.successful()
    assert isinstance(task.exception, KeyError)
    assert task.value is None
    with pytest.raises(KeyError):
        task.get()


def test_get_nonblocking_and_timeout() -> None:
    task = spawn(sleep, 10)
    with pytest.raises(TimeoutError):
        task.get(block=False)
    with pytest.raises(TimeoutError):
        task.get(timeout=0.01)
    task.join(timeout=0.01)
    assert not task.ready()
    task.kill()
    assert task.ready()
    assert task.linkcount() == 0


def test_kill_a_parked_task_leaves_its_primitive_clean() -> None:
    waiter: Waiter[int] = Waiter()
    trace = Trace()

    def parked() -> None:
        try:
            waiter.get()
        finally:
            trace("cleanup ran")

    task = spawn(parked)
    run_until_blocked()
    assert waiter.linkcount() == 1
    task.kill()
    assert trace == ["cleanup ran"]
    assert waiter.linkcount() == 0
    assert task.successful()  # GreenletExit counts as a clean exit, as in gevent
    assert isinstance(task.value, GreenletExit)


def test_kill_with_a_custom_exception() -> None:
    task = spawn(sleep, 10)
    run_until_blocked()
    task.kill(ValueError("stop"))
    assert isinstance(task.exception, ValueError)
    assert not task.successful()


def test_kill_before_start_never_runs() -> None:
    trace = Trace()
    task: Task[Any] = spawn(trace, "ran")
    task.kill()
    sleep(0)
    assert trace == []
    assert task.ready()
    assert isinstance(task.value, GreenletExit)
    later = spawn_later(0.01, trace, "later ran")
    later.kill()
    sleep(0.02)
    assert trace == []


def test_kill_never_switches_to_the_task_itself() -> None:
    trace = Trace()

    def victim() -> None:
        try:
            sleep(10)
        except GreenletExit:
            trace("victim saw exit")
            raise

    task = spawn(victim)
    run_until_blocked()
    task.kill(block=False)
    trace("killer continues")
    task.join()
    assert trace == ["killer continues", "victim saw exit"]


def test_kill_bad_input() -> None:
    task = spawn(sleep, 10)
    with pytest.raises(TypeError, match="`exception`"):
        task.kill(42)  # type: ignore[arg-type]
    task.kill()
    assert task.ready()


def test_rawlink_called_with_the_task_when_done() -> None:
    seen: list[Task[Any]] = []
    task = spawn(lambda: 5)
    task.rawlink(seen.append)
    assert task.linkcount() == 1
    task.join()
    sleep(0)
    assert seen == [task]
    assert task.linkcount() == 0
    other = spawn(lambda: 6)
    other.rawlink(seen.append)
    other.unlink(seen.append)
    other.join()
    sleep(0)
    assert seen == [task]


def test_spawn_copies_the_context() -> None:
    request_id.set("outer")
    seen: list[str] = []

    def inner() -> None:
        seen.append(request_id.get())
        request_id.set("changed in task")

    spawn(inner).join()
    assert seen == ["outer"]
    assert request_id.get() == "outer"


def test_spawn_later_waits() -> None:
    trace = Trace()
    spawn_later(0.02, trace, "late")
    spawn(trace, "soon")
    sleep(0.05)
    assert trace == ["soon", "late"]


def test_spawn_bad_input() -> None:
    with pytest.raises(TypeError, match="`fn` must be callable"):
        spawn(7)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`seconds`"):
        spawn_later(-1, print)


def test_joinall_returns_the_finished_tasks() -> None:
    tasks = [spawn(sleep, d) for d in (0.0, 0.001, 10)]
    done = joinall(tasks, timeout=0.05)
    assert done == tasks[:2]
    tasks[2].kill()
    assert_no_links(*tasks)


def test_joinall_raise_error() -> None:
    def fail() -> None:
        sleep(0.001)
        raise ValueError("first failure")

    tasks = [spawn(fail), spawn(sleep, 10)]
    with pytest.raises(ValueError, match="first failure"):
        joinall(tasks, raise_error=True)
    tasks[1].kill()


def test_iwait_count_timeout_and_no_links_left() -> None:
    tasks = [spawn(sleep, d) for d in (0.02, 0.005, 10)]
    got = list(iwait(tasks, count=2))
    assert got == [tasks[1], tasks[0]]
    got = list(iwait(tasks, timeout=0.01))
    assert got == [tasks[0], tasks[1]]  # already ready ones come first, in order
    assert_no_links(*tasks)
    tasks[2].kill()


def test_iwait_stopped_early_unlinks() -> None:
    tasks = [spawn(sleep, 0) for _ in range(3)]
    for _ in iwait(tasks):
        break
    assert_no_links(*tasks)


def test_iwait_bad_input() -> None:
    with pytest.raises(TypeError, match="linkable"):
        list(iwait([object()]))
    with pytest.raises(ValueError, match="`count`"):
        iwait([], count=-1)
    with pytest.raises(TypeError, match="`count`"):
        iwait([], count=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`timeout`"):
        iwait([], timeout=-1)


def test_wait_on_objects_and_on_the_loop() -> None:
    tasks = [spawn(sleep, 0.001) for _ in range(3)]
    assert wait(tasks) == tasks
    trace = Trace()

    def finish() -> None:
        sleep(0.01)
        trace("finished")

    spawn(finish)
    assert wait() is True
    assert trace == ["finished"]
    blocker = spawn(sleep, 10)
    assert wait(timeout=0.01) is False
    blocker.kill()


def test_wait_for_the_loop_ignores_forever_blocked_greenlets() -> None:
    waiter: Waiter[int] = Waiter()
    task = spawn(waiter.get)
    assert wait() is True  # nothing left to run; the blocked task cannot finish
    assert not task.ready()
    task.kill()


def test_task_repr_and_generic_typing() -> None:
    task: Task[int] = spawn(lambda: 1)
    assert "pending" in repr(task)
    value: int = task.get()
    assert value == 1
    assert "done" in repr(task)


def test_main_waiting_on_a_task_that_waits_forever_gets_loop_exit() -> None:
    waiter: Waiter[int] = Waiter()
    task = spawn(waiter.get)
    with pytest.raises(LoopExit) as info:
        task.join()
    assert "Task" in str(info.value)
    task.kill()
    assert_no_links(task, waiter)
    assert get_hub().run_callback(len, ()) is not None


def test_wait_reports_ready_objects_on_every_call_whatever_the_timeout() -> None:
    # Issue 14: wait([ev], timeout=0) on a set Event returned [ev], [], [ev], []... (a finished
    # Task the opposite phase): a 0-second timer fired before the queued wake-up.
    waiter: Waiter[int] = Waiter()
    waiter.switch(1)
    task = spawn(int)
    task.join()
    permits = Permits(1)
    for _ in range(6):
        assert wait([waiter], timeout=0) == [waiter]
        assert wait([task], timeout=0) == [task]
        assert wait([waiter, task, permits], timeout=0) == [waiter, task, permits]
        assert list(iwait([task, waiter], timeout=0)) == [task, waiter]
        assert joinall([task], timeout=0) == [task]
    assert_no_links(waiter, task, permits)
