"""Bad input everywhere: every public constructor, method and function, with wrong types,
negative numbers, NaN, infinities, and misuse from the wrong greenlet, thread or the hub.

Each misuse must fail with a clear exception that names the parameter (or says what was
misused), arm nothing, and leave the timeout -- and the class -- working afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from greensync.hub import get_hub, sleep, spawn
from greensync.hub.testing import run_in_threads
from greensync.timeout import Timeout, is_timeout, with_timeout, wrap_is_timeout


class Boom(Exception):
    pass


SECONDS_MESSAGE = "`seconds` must be a non-negative number or None, got "

BAD_SECONDS: list[Any] = [
    pytest.param("5", TypeError, SECONDS_MESSAGE + "str '5'", id="str"),
    pytest.param(b"1", TypeError, SECONDS_MESSAGE + "bytes b'1'", id="bytes"),
    pytest.param(True, TypeError, SECONDS_MESSAGE + "bool True", id="True"),
    pytest.param(False, TypeError, SECONDS_MESSAGE + "bool False", id="False"),
    pytest.param([1], TypeError, SECONDS_MESSAGE + "list [1]", id="list"),
    pytest.param(1j, TypeError, SECONDS_MESSAGE + "complex 1j", id="complex"),
    pytest.param(Decimal(1), TypeError, SECONDS_MESSAGE + "Decimal Decimal('1')", id="Decimal"),
    pytest.param(Fraction(1, 2), TypeError, SECONDS_MESSAGE + "Fraction Fraction(1, 2)", id="Fr"),
    pytest.param(-1, ValueError, SECONDS_MESSAGE + "-1", id="-1"),
    pytest.param(-0.5, ValueError, SECONDS_MESSAGE + "-0.5", id="-0.5"),
    pytest.param(-math.inf, ValueError, SECONDS_MESSAGE + "-inf", id="-inf"),
    pytest.param(math.nan, ValueError, SECONDS_MESSAGE + "nan", id="nan"),
    pytest.param(
        -(10**400), ValueError, SECONDS_MESSAGE + "a negative int (1329 bits)", id="-huge int"
    ),
]


def timeout_still_works() -> None:
    """The class works after an error: a timeout fires, and one that should not, does not."""
    with Timeout(0.01, False) as fired:
        sleep(1)
    assert not fired.pending
    with Timeout(10) as quiet:
        sleep(0)
    assert not quiet.pending


# -- seconds ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "error", "message"), BAD_SECONDS)
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(Timeout, id="Timeout"),
        pytest.param(lambda s: Timeout(s, False, ref=False), id="Timeout-silent-unref"),
        pytest.param(Timeout.start_new, id="start_new"),
        pytest.param(lambda s: with_timeout(s, sleep, 0), id="with_timeout"),
        pytest.param(lambda s: with_timeout(s, sleep, 0, timeout_value=1), id="with_timeout-v"),
    ],
)
def test_bad_seconds_are_rejected_everywhere_naming_the_parameter(
    call: Callable[[Any], object], seconds: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        call(seconds)
    assert str(info.value) == message
    timeout_still_works()


@pytest.mark.parametrize("seconds", [None, math.inf, float("inf")])
def test_none_and_infinity_mean_never(seconds: Any) -> None:
    with Timeout(seconds) as timeout:
        assert not timeout.pending  # nothing armed
        sleep(0.02)
    assert with_timeout(seconds, sleep, 0.01, timeout_value="late") is None


@pytest.mark.parametrize("seconds", [0, 0.0, -0.0, 1e-9, 10**300, 1e300, 2**53])
def test_edge_numbers_are_accepted(seconds: Any) -> None:
    timeout = Timeout(seconds)
    assert timeout.seconds == seconds
    if seconds > 1:
        with timeout:
            assert timeout.pending
        assert not timeout.pending
    else:
        with pytest.raises(Timeout) as info, timeout:
            sleep(0.01)
        assert info.value is timeout


def test_int_and_float_subclasses_are_numbers() -> None:
    class Seconds(float):
        pass

    class Count(int):
        pass

    with pytest.raises(Timeout), Timeout(Seconds(0.01)):
        sleep(1)
    with Timeout(Count(10)) as timeout:
        assert timeout.pending
    with pytest.raises(ValueError, match="got -1"):
        Timeout(Count(-1))
    with pytest.raises(ValueError, match="got nan"):
        Timeout(Seconds("nan"))


# -- exception and ref ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exception",
    [True, 0, 1, "boom", b"x", object(), int, type, Boom("x").args, [Boom]],
    ids=["True", "0", "1", "str", "bytes", "object", "int-class", "type", "tuple", "list"],
)
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda e: Timeout(1, e), id="Timeout"),
        pytest.param(lambda e: Timeout(None, e), id="Timeout-never"),
        pytest.param(lambda e: Timeout.start_new(1, e), id="start_new"),
    ],
)
def test_bad_exception_is_a_type_error_naming_the_parameter(
    call: Callable[[Any], object], exception: Any
) -> None:
    with pytest.raises(TypeError) as info:
        call(exception)
    assert str(info.value).startswith(
        "`exception` must be None, False, or an exception class or instance, got "
    )
    timeout_still_works()


@pytest.mark.parametrize(("ref", "expected"), [(0, False), (1, True), ("", False), ("x", True)])
def test_ref_takes_any_truth_value(ref: Any, expected: bool) -> None:
    # As in gevent, ``ref`` is a flag: any object, read for its truth value.
    timeout = Timeout(10, ref=ref)
    assert timeout.ref is expected
    timeout.ref = not expected
    assert timeout.ref is (not expected)


def test_attributes_are_read_only() -> None:
    timeout = Timeout(5, Boom)
    for name, value in [("seconds", 1), ("exception", None), ("pending", True)]:
        with pytest.raises(AttributeError):
            setattr(timeout, name, value)
    assert (timeout.seconds, timeout.exception, timeout.pending) == (5, Boom, False)


# -- start, cancel, close, enter: misuse ------------------------------------------------------


def test_start_twice_fails_and_the_timeout_fires_once() -> None:
    timeout = Timeout.start_new(0.01)
    with pytest.raises(RuntimeError, match=r"is already pending: cancel it before starting"):
        timeout.start()
    with pytest.raises(Timeout) as info:
        sleep(1)
    assert info.value is timeout
    sleep(0.02)  # a second timer would fire here
    timeout.cancel()
    timeout_still_works()


def test_entering_a_timeout_pending_in_another_greenlet_fails_and_leaves_it_armed() -> None:
    timeout = Timeout.start_new(0.02)
    errors: list[str] = []

    def intruder() -> None:
        try:
            with timeout:
                errors.append("entered")
        except RuntimeError as exc:
            errors.append(str(exc))
        try:
            timeout.start()
        except RuntimeError as exc:
            errors.append(str(exc))

    spawn(intruder).join()
    assert errors == [
        "<Timeout seconds=0.02 pending> is pending in another greenlet",
        "<Timeout seconds=0.02 pending> is already pending: cancel it before starting it again",
    ]
    assert timeout.pending
    with pytest.raises(Timeout) as info:
        sleep(1)  # it still fires, in the greenlet that started it
    assert info.value is timeout
    timeout.cancel()


@pytest.mark.parametrize(
    "use",
    [
        pytest.param(lambda: Timeout(0.01).start(), id="start"),
        pytest.param(lambda: Timeout.start_new(0), id="start_new-zero"),
        pytest.param(lambda: Timeout(0.01).__enter__(), id="enter"),
        pytest.param(lambda: with_timeout(0.01, int), id="with_timeout"),
    ],
)
def test_starting_a_timeout_inside_the_hub_fails_on_every_hub(use: Callable[[], object]) -> None:
    # A hub callback cannot block, so nothing could be timed out there; under an adapter the
    # loop greenlet is told apart through HubBase.loop_greenlet.
    hub = get_hub()
    errors: list[str] = []
    done: list[object] = []

    def callback() -> None:
        try:
            use()
        except RuntimeError as exc:
            errors.append(str(exc))
        # Things that do not arm a timer are fine in the hub.
        with Timeout(None):
            done.append(with_timeout(None, int, "7"))
        Timeout(5).cancel()

    hub.run_callback(callback)
    sleep(0)
    sleep(0.02)  # nothing was armed that could fire
    assert errors == ["cannot start a Timeout inside the hub: a hub callback must not block"]
    assert done == [7]
    timeout_still_works()


def test_a_hub_callback_may_cancel_a_pending_timeout() -> None:
    timeout = Timeout.start_new(0.02)
    get_hub().call_later(0.001, timeout.cancel)
    sleep(0.04)
    assert not timeout.pending


def test_cancel_close_and_ref_from_another_thread_fail_and_the_timeout_still_fires() -> None:
    timeout = Timeout.start_new(0.02)
    expected = (
        "from another thread: it is pending in the thread that started it, and only that "
        "thread may touch its timer"
    )

    def elsewhere(_: int) -> list[str]:
        errors = []
        for action in (timeout.cancel, timeout.close, lambda: setattr(timeout, "ref", False)):
            try:
                action()
                errors.append("no error")
            except RuntimeError as exc:
                errors.append(str(exc))
        try:
            timeout.start()
        except RuntimeError as exc:
            errors.append(str(exc))
        assert Timeout.start_new(timeout) is timeout  # pending: left alone, no second timer
        return errors

    errors = run_in_threads(elsewhere, 1)[0]
    assert errors == [
        f"cannot cancel <Timeout seconds=0.02 pending> {expected}",
        f"cannot cancel <Timeout seconds=0.02 pending> {expected}",
        f"cannot change `ref` of <Timeout seconds=0.02 pending> {expected}",
        "<Timeout seconds=0.02 pending> is already pending: cancel it before starting it again",
    ]
    assert timeout.pending
    assert timeout.ref is True
    with pytest.raises(Timeout) as info:
        sleep(1)
    assert info.value is timeout
    timeout.cancel()


def test_another_thread_may_cancel_a_timeout_that_is_not_pending_and_restart_it() -> None:
    timeout = Timeout.start_new(0.01)
    with pytest.raises(Timeout):
        sleep(1)
    assert not timeout.pending

    def elsewhere(_: int) -> str:
        timeout.cancel()  # not pending: harmless anywhere
        timeout.ref = False
        try:
            with timeout:
                sleep(1)
        except Timeout as exc:
            return "fired there" if exc is timeout else "foreign"
        return "did not fire"

    assert run_in_threads(elsewhere, 1) == ["fired there"]
    timeout.ref = True
    with pytest.raises(Timeout), timeout:  # and back here again
        sleep(1)


# -- with_timeout -----------------------------------------------------------------------------


@pytest.mark.parametrize("func", [None, 5, "f", object()], ids=["None", "int", "str", "object"])
def test_with_timeout_needs_a_callable(func: Any) -> None:
    with pytest.raises(TypeError) as info:
        with_timeout(0.01, func)
    assert str(info.value) == f"`func` must be callable, got {type(func).__name__} {func!r}"
    assert with_timeout(0.01, sleep, 1, timeout_value="late") == "late"


def test_with_timeout_lets_errors_of_the_function_out_and_disarms() -> None:
    def fails(*args: Any, **kwargs: Any) -> None:
        raise Boom(args, kwargs)

    with pytest.raises(Boom) as info:
        with_timeout(0.01, fails, 1, key=2, timeout_value="late")
    assert info.value.args == ((1,), {"key": 2})
    sleep(0.02)  # its timer was cancelled
    assert with_timeout(0.01, sleep, 1, timeout_value="late") == "late"


# -- is_timeout and wrap_is_timeout -----------------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [None, 0, 1, "", "timeout", b"", [], {}, object(), ValueError, ValueError(), type, Ellipsis],
)
def test_is_timeout_answers_false_for_anything_that_does_not_say_so(obj: Any) -> None:
    assert is_timeout(obj) is False


@pytest.mark.parametrize(
    "base",
    [None, 5, 1.5, "x", b"x", [], (), {1: 2}],
    ids=["None", "int", "float", "str", "bytes", "list", "tuple", "dict"],
)
def test_wrap_is_timeout_rejects_what_is_neither_class_nor_exception_nor_callable(
    base: Any,
) -> None:
    with pytest.raises(TypeError) as info:
        wrap_is_timeout(base)
    assert str(info.value).startswith("`base` must be a class, an exception instance or a callable")
    assert not is_timeout(base)

    class Slow(Exception):
        pass

    assert wrap_is_timeout(Slow) is Slow  # still works
    assert is_timeout(Slow())


@pytest.mark.parametrize("base", [int, OSError, ValueError, object, type])
def test_wrap_is_timeout_refuses_built_in_classes(base: type) -> None:
    with pytest.raises(
        TypeError, match=f"cannot add `is_timeout` to the built-in class {base.__qualname__}"
    ):
        wrap_is_timeout(base)
    assert not is_timeout(base)  # not changed
    assert not hasattr(base, "is_timeout")


@pytest.mark.parametrize("made", [None, 5, "x", (1,), frozenset()])
def test_a_wrapped_factory_that_returns_something_unmarkable_fails_at_the_call(made: Any) -> None:
    factory = wrap_is_timeout(lambda: made)
    with pytest.raises(
        TypeError, match="as a timeout: it does not accept an `is_timeout` attribute"
    ):
        factory()
    good = wrap_is_timeout(lambda: Boom("slow"))
    assert is_timeout(good())


def test_an_int_too_large_for_a_float_never_fires() -> None:
    timeout = Timeout(10**400)
    with timeout:
        sleep(0.001)
    assert not timeout.pending
    with pytest.raises(ValueError, match="a negative int"):
        Timeout(-(10**400))
    timeout_still_works()
