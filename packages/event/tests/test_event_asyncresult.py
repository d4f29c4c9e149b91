"""AsyncResult: one-shot outcome, get/wait, stored exceptions and tracebacks, Task links."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import assert_type

import pytest
from greenlet import GreenletExit

from greensync.event import AsyncResult
from greensync.hub import LoopExit, Task, get_hub, sleep, spawn
from greensync.hub.testing import Trace, assert_no_links, run_until_blocked, spawn_all


class Boom(Exception):
    """Stored in results and thrown into waiters by the tests."""


def tb_lines(tb: TracebackType | None) -> list[int]:
    lines = []
    while tb is not None:
        lines.append(tb.tb_lineno)
        tb = tb.tb_next
    return lines


def stored_tb(result: AsyncResult[int]) -> TracebackType | None:
    info = result.exc_info
    assert len(info) == 3
    return info[2]


def test_asyncresult_set_then_get_returns_the_value_every_time() -> None:
    result: AsyncResult[int] = AsyncResult()
    assert (result.ready(), result.successful(), result.value, result.exception) == (
        False,
        False,
        None,
        None,
    )
    assert result.exc_info == ()
    result.set(42)
    assert (result.ready(), result.successful(), result.value, result.exception) == (
        True,
        True,
        42,
        None,
    )
    assert [result.get(), result.get(), result.get_nowait(), result.get(block=False)] == [42] * 4
    assert result.wait() == 42
    assert result.exc_info == ()


def test_asyncresult_set_without_a_value_stores_none() -> None:
    result: AsyncResult[None] = AsyncResult()
    result.set()
    assert result.successful()
    assert result.get() is None


def test_asyncresult_wakes_getters_in_fifo_order_after_set_returns() -> None:
    result: AsyncResult[str] = AsyncResult()
    trace = Trace()

    def getter(name: str) -> None:
        trace(f"{name} waits")
        trace(f"{name} got {result.get()}")

    def waiter(name: str) -> None:
        trace(f"{name} waits")
        trace(f"{name} ready {result.wait()}")

    spawn(getter, "a")
    spawn(waiter, "b")
    spawn(getter, "c")
    run_until_blocked()
    assert result.linkcount() == 3
    result.set("x")
    trace("set returned")
    run_until_blocked()
    assert trace == [
        "a waits",
        "b waits",
        "c waits",
        "set returned",
        "a got x",
        "b ready x",
        "c got x",
    ]
    assert_no_links(result)


def test_asyncresult_is_one_shot_and_keeps_the_first_value() -> None:
    result: AsyncResult[int] = AsyncResult()
    result.set(1)
    with pytest.raises(
        RuntimeError, match=r"^this AsyncResult already holds a value: it is one-shot"
    ):
        result.set(2)
    with pytest.raises(RuntimeError, match="already holds a value"):
        result.set_exception(Boom())
    assert result.get() == 1
    assert result.successful()
    assert result.exception is None


def test_asyncresult_is_one_shot_and_keeps_the_first_exception() -> None:
    result: AsyncResult[int] = AsyncResult()
    first = Boom("first")
    result.set_exception(first)
    with pytest.raises(RuntimeError, match="already holds an exception: it is one-shot"):
        result.set(2)
    with pytest.raises(RuntimeError, match="already holds an exception"):
        result.set_exception(Boom("second"))
    assert result.exception is first
    with pytest.raises(Boom) as info:
        result.get()
    assert info.value is first


def test_asyncresult_wait_returns_the_value_as_gevent_does() -> None:
    """Issue 15: code ported from gevent reads its result from ``wait()``."""
    result: AsyncResult[str] = AsyncResult()
    got: list[object] = []
    spawn(lambda: got.append(result.wait()))
    spawn(lambda: got.append(result.wait(timeout=5)))
    run_until_blocked()
    result.set("payload")
    run_until_blocked()
    assert got == ["payload", "payload"]
    assert result.wait() == "payload"  # and at once, once ready
    assert result.wait(0) == "payload"


def test_asyncresult_wait_gives_none_on_timeout_and_for_an_exception_and_never_raises() -> None:
    result: AsyncResult[int] = AsyncResult()
    assert result.wait(timeout=0.01) is None
    assert result.wait(0) is None
    failed: AsyncResult[int] = AsyncResult()
    waiting = spawn(failed.wait)
    run_until_blocked()
    failed.set_exception(Boom("kept"))
    run_until_blocked()
    assert waiting.get() is None  # woken, not raising
    assert failed.wait() is None
    assert failed.wait(timeout=1) is None
    with pytest.raises(Boom, match="kept"):
        failed.get()  # get() is where the exception comes out
    stored_none: AsyncResult[None] = AsyncResult()
    stored_none.set(None)
    assert stored_none.wait() is None
    assert stored_none.ready()  # how to tell it from a timeout
    assert stored_none.successful()


def test_asyncresult_wait_is_typed_as_the_value_or_none() -> None:
    result: AsyncResult[int] = AsyncResult()
    result.set(3)
    assert_type(result.wait(), int | None)


def test_asyncresult_second_set_does_not_wake_anyone_again() -> None:
    result: AsyncResult[int] = AsyncResult()
    trace = Trace()
    spawn(lambda: trace(f"got {result.get()}"))
    run_until_blocked()
    result.set(1)
    with pytest.raises(RuntimeError):
        result.set(2)
    run_until_blocked()
    assert trace == ["got 1"]


def test_asyncresult_set_exception_is_raised_by_every_get_and_waiters() -> None:
    result: AsyncResult[int] = AsyncResult()
    trace = Trace()

    def getter(name: str) -> None:
        try:
            result.get()
        except Boom as exc:
            trace(f"{name} raised {exc}")

    spawn_all(getter, ["a", "b"])
    run_until_blocked()
    error = Boom("bad")
    result.set_exception(error)
    run_until_blocked()
    assert trace == ["a raised bad", "b raised bad"]
    assert result.ready()
    assert not result.successful()
    assert result.value is None
    assert result.exception is error
    assert result.wait() is None  # wait never raises: the value, which there is none of
    with pytest.raises(Boom):
        result.get_nowait()


def test_asyncresult_set_exception_with_a_class_instantiates_it() -> None:
    result: AsyncResult[int] = AsyncResult()
    result.set_exception(Boom)
    assert isinstance(result.exception, Boom)
    assert result.exc_info[:2] == (Boom, result.exception)
    with pytest.raises(Boom):
        result.get()


@pytest.mark.parametrize("bad", [3, "boom", None, Boom("x").args, int, object()])
def test_asyncresult_set_exception_rejects_non_exceptions_and_keeps_working(
    bad: object,
) -> None:
    result: AsyncResult[int] = AsyncResult()
    with pytest.raises(TypeError, match=r"^`exc` must be an exception instance or class, got "):
        result.set_exception(bad)  # type: ignore[arg-type]
    assert not result.ready()
    result.set(5)
    assert result.get() == 5


@pytest.mark.parametrize("bad", [(1, 2), "abc", (Boom, Boom(), "not a traceback"), 3])
def test_asyncresult_set_exception_rejects_bad_exc_info_and_keeps_working(
    bad: object,
) -> None:
    result: AsyncResult[int] = AsyncResult()
    with pytest.raises(TypeError, match=r"^`exc_info"):
        result.set_exception(Boom(), bad)  # type: ignore[arg-type]
    assert not result.ready()
    result.set(5)
    assert result.get() == 5


def test_asyncresult_exc_info_holds_the_traceback_the_exception_was_stored_with() -> None:
    result: AsyncResult[int] = AsyncResult()
    try:
        raise Boom("raised here")
    except Boom as exc:
        raised_line = sys._getframe().f_lineno - 2
        result.set_exception(exc)
    exc_info = result.exc_info
    assert len(exc_info) == 3
    typ, value, tb = exc_info
    assert typ is Boom
    assert value is result.exception
    assert tb_lines(tb) == [raised_line]


def test_asyncresult_exc_info_argument_supplies_the_traceback() -> None:
    result: AsyncResult[int] = AsyncResult()
    try:
        raise KeyError("elsewhere")
    except KeyError:
        info = sys.exc_info()
        raised_line = sys._getframe().f_lineno - 3
    assert info[0] is not None
    assert info[1] is not None
    error = Boom("never raised")
    result.set_exception(error, (info[0], info[1], info[2]))
    assert result.exc_info == (Boom, error, info[2])
    with pytest.raises(Boom) as caught:
        result.get()
    assert tb_lines(caught.value.__traceback__)[-1] == raised_line
    # An empty exc_info (what the property returns when there is none) is the same as None:
    # the exception keeps the traceback it carries (none here: it was never raised).
    other: AsyncResult[int] = AsyncResult()
    other.set_exception(Boom(), ())
    assert stored_tb(other) is None


def test_asyncresult_repeated_gets_do_not_grow_the_traceback() -> None:
    result: AsyncResult[int] = AsyncResult()
    try:
        raise Boom("once")
    except Boom as exc:
        raised_line = sys._getframe().f_lineno - 2
        result.set_exception(exc)
    lengths = []
    for _ in range(10):
        try:
            result.get()
        except Boom as exc:
            lines = tb_lines(exc.__traceback__)
            lengths.append(len(lines))
            assert lines[-1] == raised_line  # the original raise is still the innermost frame
    assert lengths == [lengths[0]] * 10
    assert tb_lines(stored_tb(result)) == [raised_line]


def test_asyncresult_get_times_out_with_timeout_error_and_leaves_no_link() -> None:
    result: AsyncResult[int] = AsyncResult()
    with pytest.raises(TimeoutError, match=r"^the AsyncResult got no value within 0.01 seconds$"):
        result.get(timeout=0.01)
    assert_no_links(result)
    assert result.wait(timeout=0.01) is None
    assert_no_links(result)
    result.set(3)
    assert result.get(timeout=0.01) == 3


def test_asyncresult_nonblocking_get_on_an_unset_result_raises_timeout_error() -> None:
    result: AsyncResult[int] = AsyncResult()
    trace = Trace()
    spawn(trace, "other ran")
    with pytest.raises(TimeoutError, match=r"^the AsyncResult holds no value yet$"):
        result.get_nowait()
    with pytest.raises(TimeoutError):
        result.get(block=False)
    with pytest.raises(TimeoutError):
        result.get(timeout=0)
    assert result.wait(0) is None
    assert trace == []  # none of them yielded
    assert_no_links(result)
    sleep(0)
    assert trace == ["other ran"]


def test_asyncresult_timed_out_getters_leave_and_the_rest_get_the_value() -> None:
    result: AsyncResult[int] = AsyncResult()
    trace = Trace()

    def getter(timeout: float | None) -> None:
        try:
            trace(f"{timeout} got {result.get(timeout=timeout)}")
        except TimeoutError:
            trace(f"{timeout} timed out")

    spawn_all(getter, [None, 0.01, None])
    sleep(0.03)
    assert trace == ["0.01 timed out"]
    assert result.linkcount() == 2
    result.set(7)
    run_until_blocked()
    assert trace == ["0.01 timed out", "None got 7", "None got 7"]
    assert_no_links(result)


@pytest.mark.parametrize(
    ("timeout", "error"), [("soon", TypeError), (-0.5, ValueError), (float("nan"), ValueError)]
)
def test_asyncresult_rejects_bad_timeouts_and_keeps_working(
    timeout: object, error: type[Exception]
) -> None:
    result: AsyncResult[int] = AsyncResult()
    with pytest.raises(error, match="`timeout` must be a non-negative number or None"):
        result.get(timeout=timeout)  # type: ignore[arg-type]
    with pytest.raises(error, match="`timeout` must be a non-negative number or None"):
        result.get(block=False, timeout=timeout)  # type: ignore[arg-type]
    with pytest.raises(error, match="`timeout` must be a non-negative number or None"):
        result.wait(timeout)  # type: ignore[arg-type]
    assert_no_links(result)
    spawn(result.set, 1)
    assert result.get() == 1


def test_asyncresult_killed_getter_leaves_no_link_and_the_others_get_the_value() -> None:
    result: AsyncResult[int] = AsyncResult()
    trace = Trace()
    tasks = spawn_all(lambda name: trace(f"{name} {result.get()}"), ["a", "b", "c"])
    run_until_blocked()
    tasks[0].kill()
    assert result.linkcount() == 2
    result.set(1)
    run_until_blocked()
    assert trace == ["b 1", "c 1"]
    killed: object = tasks[0].value
    assert isinstance(killed, GreenletExit)
    assert_no_links(result)


def test_asyncresult_exception_thrown_in_just_before_set_wins_for_that_getter_only() -> None:
    result: AsyncResult[int] = AsyncResult()
    trace = Trace()

    def getter(name: str) -> None:
        try:
            trace(f"{name} {result.get()}")
        except Boom:
            trace(f"{name} boom")

    tasks = spawn_all(getter, ["a", "b", "c"])
    run_until_blocked()
    hub = get_hub()
    hub.run_callback(hub.throw_into, tasks[0], Boom())
    result.set(9)
    run_until_blocked()
    assert trace == ["a boom", "b 9", "c 9"]
    assert_no_links(result)


def test_asyncresult_main_greenlet_getting_forever_gets_loop_exit() -> None:
    result: AsyncResult[int] = AsyncResult()
    with pytest.raises(LoopExit, match="AsyncResult unset") as info:
        result.get()
    assert info.value.waiting_on is result
    assert_no_links(result)
    result.set(1)
    assert result.get() == 1


def test_asyncresult_is_a_link_target_of_a_task_that_returns() -> None:
    result: AsyncResult[int] = AsyncResult()
    task = spawn(lambda: 6 * 7)
    task.rawlink(result)
    assert result.get() == 42
    assert_no_links(result)
    assert task.linkcount() == 0


def test_asyncresult_is_a_link_target_of_a_task_that_fails(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    def fail() -> int:
        raise Boom("in the task")

    result: AsyncResult[int] = AsyncResult()
    task = spawn(fail)
    task.rawlink(result)
    assert result.wait() is None  # ready, holding an exception: wait does not raise it
    assert result.ready()
    assert result.exception is task.exception
    lengths = []
    for _ in range(3):
        with pytest.raises(Boom, match="in the task") as info:
            result.get()
        lengths.append(len(tb_lines(info.value.__traceback__)))
    assert lengths == [lengths[0]] * 3
    # The hub reported the task's failure: on stderr, or through logging ("greensync.hub").
    reported = capsys.readouterr().err + "".join(r.getMessage() for r in caplog.records)
    assert "Boom" in reported


def test_asyncresult_is_a_link_target_of_a_killed_task() -> None:
    result: AsyncResult[object] = AsyncResult()
    task = spawn(sleep, 10)
    task.rawlink(result)
    sleep(0)
    task.kill()
    assert result.successful()  # GreenletExit counts as success, gevent's rule
    assert isinstance(result.get(), GreenletExit)


def test_asyncresult_is_a_link_target_of_another_result() -> None:
    first: AsyncResult[str] = AsyncResult()
    second: AsyncResult[str] = AsyncResult()
    first.rawlink(second)
    first.set("chained")
    assert second.get() == "chained"
    failed: AsyncResult[str] = AsyncResult()
    follower: AsyncResult[str] = AsyncResult()
    failed.rawlink(follower)
    failed.set_exception(Boom("chained"))
    with pytest.raises(Boom, match="chained"):
        follower.get()


def test_asyncresult_call_with_an_unfinished_source_is_an_error() -> None:
    result: AsyncResult[int] = AsyncResult()
    with pytest.raises(RuntimeError, match="has not finished"):
        result(AsyncResult[int]())
    assert not result.ready()


def test_asyncresult_rawlink_and_unlink() -> None:
    result: AsyncResult[int] = AsyncResult()
    trace = Trace()
    result.rawlink(lambda obj: trace(f"linked {obj is result}"))
    result.rawlink(trace)
    result.unlink(trace)
    assert result.linkcount() == 1
    result.set(1)
    sleep(0)
    assert trace == ["linked True"]
    assert_no_links(result)


def test_asyncresult_repr_shows_the_state() -> None:
    result: AsyncResult[object] = AsyncResult()
    assert repr(result) == "<AsyncResult unset waiters=0>"
    task = spawn(result.get)
    run_until_blocked()
    assert repr(result) == "<AsyncResult unset waiters=1>"
    result.set("x" * 500)
    text = repr(result)
    assert text.startswith("<AsyncResult value='xxx")
    assert len(text) < 100  # long values are abbreviated
    failed: AsyncResult[int] = AsyncResult()
    failed.set_exception(Boom("bad"))
    assert repr(failed) == "<AsyncResult exception=Boom('bad')>"
    run_until_blocked()
    assert task.dead


def test_asyncresult_is_generic() -> None:
    result: AsyncResult[int] = AsyncResult()
    spawn(result.set, 1)
    assert_type(result.get(), int)
    assert_type(result.get_nowait(), int)
    assert_type(result.value, int | None)
    assert_type(result.exception, BaseException | None)
    assert AsyncResult[int] is not AsyncResult
    task: Task[int] = spawn(lambda: 1)
    target: AsyncResult[int] = AsyncResult()
    task.rawlink(target)  # a Task[int] can feed an AsyncResult[int]...
    assert_type(target.get(), int)
    words: Task[str] = spawn(lambda: "w")
    words.rawlink(AsyncResult[int]())  # type: ignore[arg-type]  # ...but not a Task[str]
    AsyncResult[int]().set()  # type: ignore[call-arg]  # only AsyncResult[None] may omit
    words.join()
