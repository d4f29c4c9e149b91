"""eventlet's timeout markers: ``is_timeout`` and ``wrap_is_timeout``.

eventlet lets any exception say "I am a timeout" through an ``is_timeout`` attribute, so code
that catches errors from several libraries can ask one question.  These helpers carry that
convention over unchanged; :class:`~greensync.timeout.Timeout` has ``is_timeout = True``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload

__all__ = ["is_timeout", "wrap_is_timeout"]

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=type)
E = TypeVar("E", bound=BaseException)


def is_timeout(obj: object) -> bool:
    """Return True if ``obj`` says it is a timeout.

    That is: its ``is_timeout`` attribute is true (a :class:`Timeout`, anything passed
    through :func:`wrap_is_timeout`), or it is a builtin ``TimeoutError`` (which includes
    ``socket.timeout``), as in eventlet.

    Args:
        obj: Usually an exception instance; classes and other objects are accepted too.
    """
    return bool(getattr(obj, "is_timeout", False)) or isinstance(obj, TimeoutError)


def _always_true(_self: object) -> bool:
    return True


_IS_TIMEOUT_PROPERTY = property(_always_true, doc="Always True: this is a timeout exception.")


@overload
def wrap_is_timeout(base: C) -> C: ...
@overload
def wrap_is_timeout(base: E) -> E: ...
@overload
def wrap_is_timeout(base: Callable[P, R]) -> Callable[P, R]: ...
def wrap_is_timeout(base: Any) -> Any:
    """Mark ``base``, or what it makes, as a timeout for :func:`is_timeout`.

    * A class gets a read-only ``is_timeout`` property that is always True, and is returned
      itself (changed in place, so every instance, including those of subclasses, is marked).
    * An exception instance gets an ``is_timeout = True`` attribute and is returned itself.
    * Any other callable (a factory of exceptions) is wrapped: the wrapper calls it with the
      same arguments, sets ``is_timeout = True`` on the result and returns it.  The wrapper
      keeps ``base``'s name and docstring (``functools.wraps``).

    Eventlet handles the first and the last case; an exception instance is our addition.

    Args:
        base: A class, an exception instance, or a callable that returns an exception.

    Returns:
        ``base`` itself (class or instance), or the wrapping function.

    Raises:
        TypeError: ``base`` is none of these, or is a built-in class that cannot take a new
            attribute (subclass it first).  The wrapper raises ``TypeError`` if the factory
            returns something that cannot carry the attribute.
    """
    if isinstance(base, type):
        try:
            base.is_timeout = _IS_TIMEOUT_PROPERTY  # type: ignore[attr-defined]
        except TypeError:
            raise TypeError(
                f"cannot add `is_timeout` to the built-in class {base.__qualname__}: "
                "wrap a subclass of it instead"
            ) from None
        return base
    if isinstance(base, BaseException):
        _mark(base, base)
        return base
    if not callable(base):
        raise TypeError(
            "`base` must be a class, an exception instance or a callable, got "
            f"{type(base).__name__} {base!r}"
        )
    factory: Callable[..., Any] = base

    @functools.wraps(factory)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = factory(*args, **kwargs)
        _mark(result, factory)
        return result

    return wrapper


def _mark(obj: object, source: object) -> None:
    if getattr(obj, "is_timeout", False) is True:
        return  # already marked (for instance by a class-level property, which is read-only)
    try:
        obj.is_timeout = True  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        raise TypeError(
            f"cannot mark {type(obj).__name__} {obj!r} (from {source!r}) as a timeout: "
            "it does not accept an `is_timeout` attribute"
        ) from None
