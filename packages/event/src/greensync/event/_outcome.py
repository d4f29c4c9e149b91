"""Checking and re-raising stored exceptions, shared by AsyncResult and ValueEvent.

Both keep an exception together with the traceback it had when it was stored, and re-raise
it as ``raise exc.with_traceback(tb)``.  Resetting ``__traceback__`` first matters: a plain
``raise exc`` appends the re-raising frames to whatever the exception already carries, so a
result read a thousand times would drag a thousand-frame traceback (and every frame's locals)
along with it.
"""

from __future__ import annotations

import reprlib
from types import TracebackType
from typing import Any, TypeAlias

__all__ = ["ExcInfo", "as_exception", "check_traceback", "from_raise_args", "short_repr"]

#: A :func:`sys.exc_info` triple.
ExcInfo: TypeAlias = tuple[type[BaseException], BaseException, TracebackType | None]

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60


def short_repr(obj: object) -> str:
    """Return a repr of ``obj`` short enough for another object's repr."""
    return _repr.repr(obj)


def as_exception(exc: object, name: str) -> BaseException:
    """Return ``exc`` if it is an exception, an instance of it if it is an exception class.

    Raises:
        TypeError: ``exc`` is neither.
    """
    if isinstance(exc, BaseException):
        return exc
    if isinstance(exc, type) and issubclass(exc, BaseException):
        return exc()
    raise TypeError(
        f"`{name}` must be an exception instance or class, got {type(exc).__name__} {exc!r}"
    )


def check_traceback(tb: object, name: str) -> TracebackType | None:
    """Return ``tb`` if it is a traceback or None.

    Raises:
        TypeError: it is something else.
    """
    if tb is None or isinstance(tb, TracebackType):
        return tb
    raise TypeError(f"`{name}` must be a traceback or None, got {type(tb).__name__} {tb!r}")


def from_raise_args(args: tuple[Any, ...]) -> tuple[BaseException, TracebackType | None]:
    """Turn eventlet's ``send_exception(*args)`` arguments into an exception and a traceback.

    The arguments are those of ``greenlet.throw`` (and of Python 2's three-part ``raise``):
    ``(exc_instance)``, ``(exc_class)``, ``(exc_class, value)`` or ``(exc_class, value, tb)``,
    which is what ``sys.exc_info()`` returns.  ``value`` may be an instance of the class, a
    tuple of constructor arguments, a single argument, or None.  Without a traceback, the one
    the exception carries now is kept.

    Raises:
        TypeError: the arguments do not describe an exception.
    """
    if not 1 <= len(args) <= 3:
        raise TypeError(
            "send_exception() takes an exception instance or class, an optional value and an "
            f"optional traceback, got {len(args)} arguments"
        )
    typ = args[0]
    value = args[1] if len(args) > 1 else None
    tb = check_traceback(args[2], "tb") if len(args) > 2 else None
    if isinstance(typ, BaseException):
        if value is not None:
            raise TypeError(
                f"an exception instance takes no separate value, got {typ!r} and {value!r}"
            )
        exc = typ
    elif isinstance(typ, type) and issubclass(typ, BaseException):
        if isinstance(value, typ):
            exc = value
        elif value is None:
            exc = typ()
        elif isinstance(value, tuple):
            exc = typ(*value)
        else:
            exc = typ(value)
    else:
        raise TypeError(
            f"send_exception() needs an exception instance or class first, got "
            f"{type(typ).__name__} {typ!r}"
        )
    if tb is None:
        tb = exc.__traceback__
    return exc, tb
