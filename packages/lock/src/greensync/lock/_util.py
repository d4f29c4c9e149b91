"""Argument checks shared by every primitive in greensync.lock.

They sit off the hot paths: callers test the common case inline (``timeout is None``,
``n.__class__ is int``) and only come here for anything else.
"""

from __future__ import annotations

from greensync.hub import check_timeout

__all__ = ["check_acquire_timeout", "check_count", "check_int"]


def check_acquire_timeout(blocking: object, timeout: object) -> float | None:
    """Validate the ``timeout`` of an ``acquire(blocking, timeout)`` that is not ``None``.

    Returns:
        The timeout in seconds, or ``None`` for "wait forever" (``math.inf``).

    Raises:
        TypeError: ``timeout`` is not a number.
        ValueError: ``timeout`` is negative or NaN, or given with ``blocking=False``.
    """
    value = check_timeout(timeout)
    if not blocking:
        raise ValueError(f"`timeout` must be None when `blocking` is False, got {timeout!r}")
    return value


def check_int(value: object, name: str, minimum: int | None = None) -> int:
    """Return ``value`` if it is an int (not a bool) of at least ``minimum``.

    Raises:
        TypeError: ``value`` is not an int.
        ValueError: ``value`` is below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        what = "an int" if minimum is None else _bound_text(minimum)
        raise TypeError(f"`{name}` must be {what}, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be {_bound_text(minimum)}, got {value!r}")
    return int(value)


def check_count(value: object, name: str = "n") -> int:
    """Return ``value`` if it is a positive int (a number of units to release).

    Raises:
        TypeError: ``value`` is not an int.
        ValueError: ``value`` is less than 1.
    """
    return check_int(value, name, 1)


def _bound_text(minimum: int) -> str:
    if minimum == 0:
        return "a non-negative int"
    if minimum == 1:
        return "a positive int"
    return f"an int >= {minimum}"
