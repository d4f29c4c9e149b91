"""Argument checks and small helpers shared by every primitive in greensync.lock.

They sit off the hot paths: callers test the common case inline (``timeout is None``,
``n.__class__ is int``) and only come here for anything else.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from greenlet import getcurrent

from greensync.hub import check_timeout

__all__ = [
    "ASYNCIO",
    "check_acquire_timeout",
    "check_count",
    "check_int",
    "current_owner",
    "task_or",
]


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


def check_int(
    value: object, name: str, minimum: int | None = None, *, whole_floats: bool = False
) -> int:
    """Return ``value`` as an int if it is one (not a bool) of at least ``minimum``.

    With ``whole_floats``, a float with a whole value counts as that int (``2.0`` is ``2``,
    as threading, asyncio, gevent and eventlet accept for a semaphore's count); ``1.5``,
    infinities and NaN are then a ``ValueError``.

    Raises:
        TypeError: ``value`` is not an int (nor, with ``whole_floats``, a float).
        ValueError: ``value`` is below ``minimum``, or a float without a whole value.
    """
    what = "an int" if minimum is None else _bound_text(minimum)
    if whole_floats and isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"`{name}` must be {what}, got float {value!r}")
        value = int(value)
    elif isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be {what}, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be {what}, got {value!r}")
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


# -- who owns an RLock ----------------------------------------------------------------------

#: Tested with ``in sys.modules`` before asking asyncio anything: greenlet-only programs never
#: import asyncio, and no task can be running before they do.
ASYNCIO = "asyncio.events"

_loop_getter: Callable[[], object] | None = None
_task_getter: Callable[[Any], object] | None = None


def task_or(glet: object) -> object:
    """Return the asyncio task being stepped in this thread, else ``glet``.

    Call only once ``ASYNCIO in sys.modules``.  A coroutine's calls act for its task; greenlet
    code -- including greenlets started by ``aio.run_greenlet``, which run in loop callbacks,
    outside any task -- acts for its greenlet.
    """
    global _loop_getter, _task_getter
    getter = _loop_getter
    if getter is None:
        import asyncio

        _task_getter = asyncio.current_task
        getter = _loop_getter = asyncio.events._get_running_loop
    loop = getter()
    if loop is not None:
        task = _task_getter(loop)  # type: ignore[misc]
        if task is not None:
            return task
    return glet


def current_owner() -> object:
    """Return who is running: the asyncio task being stepped, else the current greenlet."""
    glet = getcurrent()
    if ASYNCIO in sys.modules:
        return task_or(glet)
    return glet
