"""What the queues and the channel share: exceptions, markers, room units, the wait lines.

A queue owns up to three :class:`~greensync.hub.WaitLine` objects, each made on first need:

* its own line (``waitline``, from :class:`~greensync.hub.Linkable`): *getters* are its takers,
  handed an item; ``peek``, ``rawlink`` and ``iwait`` are its listeners, woken when an item
  arrives;
* a :class:`PutLine`: *putters* of a full queue, handed **room** -- a place in the queue
  reserved for them, not the destination of their item.  A putter stores its own item when it
  runs; if it leaves before that (a timeout, a kill, a cancelled task), the line gives the room
  back and it passes to the next putter.  So a put that raised never put anything, and a put
  that returned put exactly once.  (gevent and eventlet move a blocked putter's item into the
  queue on its behalf instead; a putter killed at that moment then raises although its item is
  in, and a caller that retries duplicates it.);
* a plain line for ``join``: its listeners wait for the unfinished-task count to reach zero.

Room in a bounded queue is a list of **units** (DESIGN rule 10): a put claims one with a
``list.pop()``, a get gives one back with a ``list.append()`` -- single C operations, atomic
without a mutex.  A unit is ``None``; an int ``k >= 2`` is a bundle of ``k`` units (a new
``Queue(10**6)`` holds one bundle, not a million units).  Room owed after the queue shrank
below its size, or after an item came back to a full buffer, is counted in units too and paid
by the next gets.
"""

from __future__ import annotations

import operator
import sys
from queue import Empty, Full
from typing import Any

from greensync.hub import NOTHING, TIMED_OUT, WaitLine

__all__ = [
    "CLAIM",
    "GIVEN",
    "NOTHING_ITEM",
    "OWN_ROOM",
    "ROOM",
    "SHUT",
    "TAKEN",
    "TIMED_OUT_ITEM",
    "Empty",
    "Full",
    "PutLine",
    "ShutDown",
    "add_units",
    "box",
    "check_maxsize",
    "take_unit",
    "unbox",
]

if sys.version_info >= (3, 13):
    from queue import ShutDown
else:

    class ShutDown(Exception):
        """Raised by a put or get on a queue that was shut down.

        On Python 3.13 and newer this name is the standard library's ``queue.ShutDown``; on
        older Pythons greensync provides this class under the same name.
        """


class _Marker:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: Handed to a parked putter: a unit of room is reserved for its item.
ROOM: Any = _Marker("ROOM")
#: What a putter's own retry returns when it claimed room itself (not counted as reserved).
OWN_ROOM: Any = _Marker("OWN_ROOM")
#: Handed to a parked getter or putter: the queue was shut down.
SHUT: Any = _Marker("SHUT")
#: Handed to a parked getter of a queue with subclass hooks: an item in the container is
#: reserved for it, to be taken with ``_get()`` when it runs.
CLAIM: Any = _Marker("CLAIM")
#: Handed to a parked channel putter: a getter took its item.
TAKEN: Any = _Marker("TAKEN")
#: What a channel putter's retry returns when it gave its item to a getter itself.
GIVEN: Any = _Marker("GIVEN")
#: Stand in, on the paths where an item travels through a wait line, for an item that *is* the
#: hub's ``TIMED_OUT`` or ``NOTHING`` marker (public names: a user may well put them in a
#: queue).  A wait returns ``TIMED_OUT`` when it timed out and a retry returns ``NOTHING`` when
#: it took nothing, so such items travel boxed and are unboxed by the getter.  The buffer holds
#: them as they are.
TIMED_OUT_ITEM: Any = _Marker("TIMED_OUT_ITEM")
NOTHING_ITEM: Any = _Marker("NOTHING_ITEM")


def box(item: Any) -> Any:
    """The form in which ``item`` travels through a wait line."""
    if item is TIMED_OUT:
        return TIMED_OUT_ITEM
    if item is NOTHING:
        return NOTHING_ITEM
    return item


def unbox(value: Any) -> Any:
    """The item that ``value``, as it came out of a wait line, stands for."""
    if value is TIMED_OUT_ITEM:
        return TIMED_OUT
    if value is NOTHING_ITEM:
        return NOTHING
    return value


def check_maxsize(maxsize: object, name: str = "maxsize") -> int:
    """Return ``maxsize`` as a bound: a positive int, or 0 for "unbounded".

    ``name`` is the parameter the error message names.
    """
    if maxsize is None:
        return 0
    if isinstance(maxsize, bool):
        raise TypeError(f"`{name}` must be an int or None, got bool {maxsize!r}")
    try:
        size = operator.index(maxsize)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"`{name}` must be an int or None, got {type(maxsize).__name__} {maxsize!r}"
        ) from None
    return size if size > 0 else 0


def take_unit(units: list[Any]) -> bool:
    """Take one unit from ``units`` (atomically); return False if there was none.

    A bundle is split: one unit taken, the rest put back.  The rest is briefly out of the list,
    so a caller that took from a bundle must serve the waiters afterwards (as after a release).
    """
    if not units:
        return False
    try:
        unit = units.pop()
    except IndexError:
        return False
    if unit is not None:
        units.append(None if unit == 2 else unit - 1)
    return True


def add_units(units: list[Any], count: int) -> None:
    """Add ``count`` units to ``units`` (one atomic append)."""
    if count == 1:
        units.append(None)
    elif count > 1:
        units.append(count)


class GetLine(WaitLine):
    """A queue's own line: getters (takers) and peekers, ``rawlink``, ``iwait`` (listeners).

    What was handed to a getter that left before taking it goes back through its queue
    (reached through :attr:`owner`, which the line holds weakly).
    """

    __slots__ = ()

    def give_back(self, value: Any) -> None:
        owner = self.owner
        if owner is not None:
            owner._getter_left(self, value)


class PutLine(WaitLine):
    """The line of a queue's putters: room handed to a putter that left goes back."""

    __slots__ = ()

    def give_back(self, value: Any) -> None:
        owner = self.owner
        if owner is not None:
            owner._putter_left(self, value)
