"""with_timeout: a call under a timeout, with an optional value for when it fires."""

from __future__ import annotations

import math
from typing import Any, assert_type

import pytest

from greensync.hub import sleep
from greensync.hub.testing import Trace
from greensync.timeout import Timeout, with_timeout


class Boom(Exception):
    pass


def slow(result: str = "done", delay: float = 1.0) -> str:
    sleep(delay)
    return result


def test_returns_what_the_function_returns_and_passes_arguments() -> None:
    def add(a: int, b: int, *, scale: int = 1) -> int:
        return (a + b) * scale

    assert with_timeout(1, add, 2, 3, scale=10) == 50
    assert with_timeout(None, add, 1, 1) == 2


def test_keyword_arguments_named_like_its_own_parameters_go_to_the_function() -> None:
    def echo(**kwargs: Any) -> dict[str, Any]:
        return kwargs

    assert with_timeout(1, echo, seconds=1, func=2) == {"seconds": 1, "func": 2}


def test_returns_timeout_value_when_its_own_timeout_fires() -> None:
    assert with_timeout(0.01, slow, timeout_value="late") == "late"
    assert with_timeout(0.01, slow, timeout_value=None) is None


def test_raises_the_timeout_without_timeout_value() -> None:
    with pytest.raises(Timeout) as info:
        with_timeout(0.01, slow)
    assert info.value.seconds == 0.01
    assert not info.value.pending


def test_timeout_value_is_not_passed_to_the_function() -> None:
    seen: list[dict[str, Any]] = []

    def record(**kwargs: Any) -> str:
        seen.append(kwargs)
        return "ok"

    assert with_timeout(1, record, timeout_value="late", other=1) == "ok"
    assert seen == [{"other": 1}]


def test_an_outer_timeout_propagates_even_with_timeout_value() -> None:
    trace = Trace()
    with pytest.raises(Timeout) as info, Timeout(0.01) as outer:
        trace(with_timeout(10, slow, timeout_value="late"))
    assert info.value is outer
    assert trace == []


def test_a_timeout_raised_by_the_function_itself_propagates() -> None:
    def raises_other() -> str:
        with Timeout(0.01):
            sleep(1)
        return "unreachable"

    # The inner Timeout is the function's own business: it escapes it, and it is not ours.
    with pytest.raises(Timeout) as info:
        with_timeout(10, raises_other, timeout_value="late")
    assert info.value.seconds == 0.01


def test_errors_of_the_function_propagate_and_the_timer_is_cancelled() -> None:
    def fails() -> None:
        raise Boom("x")

    with pytest.raises(Boom):
        with_timeout(0.01, fails, timeout_value="late")
    sleep(0.03)  # nothing fires later


def test_the_timeout_is_cancelled_after_a_return() -> None:
    trace = Trace()
    trace(with_timeout(0.01, slow, "fast", 0))
    sleep(0.03)
    trace("after")
    assert trace == ["fast", "after"]


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match=r"^`func` must be callable, got int 5$"):
        with_timeout(1, 5)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="`seconds`"):
        with_timeout(-1, slow)
    with pytest.raises(ValueError, match="`seconds`"):
        with_timeout(math.nan, slow)
    with pytest.raises(TypeError, match="`seconds`"):
        with_timeout("1", slow)  # type: ignore[call-overload]
    assert with_timeout(0.01, slow, timeout_value=0) == 0  # still works


def test_nested_with_timeout_calls_each_return_their_own_value() -> None:
    def inner() -> str:
        first = with_timeout(0.01, slow, timeout_value="inner late")
        return first + " / " + slow("inner done", 0)

    assert with_timeout(10, inner, timeout_value="outer late") == "inner late / inner done"
    # The outer call fires first; the inner call (no timeout_value of its own) lets it through.
    assert with_timeout(0.01, with_timeout, 10, slow, timeout_value="outer late") == "outer late"


def test_return_types() -> None:
    def number() -> int:
        return 1

    assert_type(with_timeout(1, number), int)
    assert_type(with_timeout(1, number, timeout_value=None), int | None)
    assert_type(with_timeout(1, number, timeout_value="late"), int | str)
    assert_type(Timeout.start_new(None), Timeout)
    with Timeout(None) as timeout:
        assert_type(timeout, Timeout)
