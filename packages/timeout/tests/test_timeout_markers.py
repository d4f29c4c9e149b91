"""is_timeout and wrap_is_timeout, as eventlet documents them."""

from __future__ import annotations

import pytest

from greensync.timeout import Timeout, is_timeout, wrap_is_timeout


def test_is_timeout_recognises_timeouts() -> None:
    assert is_timeout(Timeout(1))
    assert is_timeout(Timeout)
    assert is_timeout(TimeoutError())
    assert is_timeout(TimeoutError())


def test_is_timeout_rejects_everything_else() -> None:
    assert not is_timeout(ValueError())
    assert not is_timeout(None)
    assert not is_timeout(object())
    assert not is_timeout(ValueError)


def test_is_timeout_reads_the_attribute_as_a_truth_value() -> None:
    class Marked(Exception):
        is_timeout = 1

    class Unmarked(Exception):
        is_timeout = 0

    assert is_timeout(Marked()) is True
    assert is_timeout(Unmarked()) is False


def test_wrapping_a_class_adds_a_read_only_property_and_returns_the_class() -> None:
    class SlowError(Exception):
        pass

    class SlowerError(SlowError):
        pass

    assert not is_timeout(SlowError())
    assert wrap_is_timeout(SlowError) is SlowError
    error = SlowError("x")
    assert error.is_timeout is True  # type: ignore[attr-defined]
    assert is_timeout(error)
    assert is_timeout(SlowerError())
    with pytest.raises(AttributeError):
        error.is_timeout = False  # type: ignore[attr-defined]


def test_wrapping_a_built_in_class_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match="built-in class OSError: wrap a subclass"):
        wrap_is_timeout(OSError)
    assert not is_timeout(OSError())


def test_wrapping_a_factory_marks_what_it_returns() -> None:
    def make_error(message: str, *, code: int = 0) -> ValueError:
        """Make a ValueError."""
        return ValueError(message, code)

    wrapped = wrap_is_timeout(make_error)
    assert wrapped is not make_error
    assert wrapped.__name__ == "make_error"
    assert wrapped.__doc__ == "Make a ValueError."
    assert wrapped.__wrapped__ is make_error  # type: ignore[attr-defined]
    error = wrapped("slow", code=3)
    assert error.args == ("slow", 3)
    assert is_timeout(error)
    assert not is_timeout(make_error("plain"))


def test_wrapping_a_factory_of_an_already_wrapped_class_works() -> None:
    class SlowError(Exception):
        pass

    wrap_is_timeout(SlowError)
    factory = wrap_is_timeout(lambda: SlowError("x"))
    assert is_timeout(factory())


def test_a_factory_returning_something_that_cannot_be_marked_fails_clearly() -> None:
    wrapped = wrap_is_timeout(lambda: None)
    with pytest.raises(TypeError, match="cannot mark NoneType None"):
        wrapped()


def test_wrapping_an_exception_instance_marks_it_in_place() -> None:
    error = ValueError("x")
    assert wrap_is_timeout(error) is error
    assert is_timeout(error)


def test_wrapping_something_else_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"^`base` must be a class, an exception instance or"):
        wrap_is_timeout(5)  # type: ignore[call-overload]
