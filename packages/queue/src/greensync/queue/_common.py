"""What the queues and the channel share: the exceptions, the markers, the second wait line.

A queue has two kinds of waiters: getters wait for an item, putters wait for room.  The getters
use the queue's own hand-off line (the queue *is* a :class:`~greensync.hub.Linkable`, so
``iwait`` and ``rawlink`` see it become ready when an item arrives).  The putters wait in a
:class:`_PutLine`, a second private ``Linkable`` that shares the queue's mutex, so one lock
covers both lines and the buffer.

A putter is never handed its item's *destination*: it is handed **room**, a place in the queue
reserved for it (:data:`ROOM`).  The putter stores its own item when it runs.  If it leaves
before that (a timeout, a kill, an outer exception), the line's :meth:`_PutLine._reclaim` gives
the room to the next putter.  So a put that raised never put anything, and a put that returned
put exactly once.  The rejected alternative, moving the putter's item into the queue on its
behalf (gevent and eventlet do this), leaves an item in the queue whose put raised, and a
caller that retries such a put duplicates the item.
"""

from __future__ import annotations

import sys
from queue import Empty, Full
from typing import Any, Protocol

from greensync.hub import Linkable

__all__ = ["ROOM", "SHUT", "TIMED_OUT_ITEM", "Empty", "Full", "ShutDown", "waiter_count"]

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


#: Handed to a parked putter: room is reserved for its item.
ROOM: Any = _Marker("ROOM")
#: Handed to a parked getter or putter: the queue was shut down.
SHUT: Any = _Marker("SHUT")
#: Handed to a parked getter in place of an item that *is* the hub's ``TIMED_OUT`` marker
#: (a public name, so a user may well pass it through a queue): ``_park`` returns
#: ``TIMED_OUT`` when the wait timed out, and the getter must not mistake the item for that.
#: Items are boxed like this only on the hand-off path; the buffer holds them as they are.
TIMED_OUT_ITEM: Any = _Marker("TIMED_OUT_ITEM")


class _RoomOwner(Protocol):
    def _room_returned(self) -> None: ...


class _PutLine(Linkable):
    """The putters' wait line of a queue or channel.  Private; not meant for subclassing.

    It shares its owner's mutex, so the owner's buffer, its getters and its putters change
    under one lock.  Room handed to a putter that leaves before using it goes back to the
    owner, which passes it on.
    """

    __slots__ = ("_owner",)

    def __init__(self, owner: Linkable) -> None:
        super().__init__()
        self._mutex = owner._mutex
        self._owner: Any = owner

    def __repr__(self) -> str:
        return f"{self._owner!r} (waiting to put)"

    def ready(self) -> bool:
        """Return False: nobody waits for the putters' line itself to become ready."""
        return False

    def _reclaim(self, value: Any) -> None:
        if value is ROOM:
            owner: _RoomOwner = self._owner
            owner._room_returned()


class _JoinLine(Linkable):
    """Where ``Queue.join`` waits: ready once every task is done.  Private."""

    __slots__ = ("_owner",)

    def __init__(self, owner: Linkable) -> None:
        super().__init__()
        self._mutex = owner._mutex
        self._owner: Any = owner

    def __repr__(self) -> str:
        return f"{self._owner!r} (waiting in join)"

    def ready(self) -> bool:
        """Return True when no task is unfinished."""
        return self._owner._unfinished == 0  # type: ignore[no-any-return]


def waiter_count(line: Linkable) -> int:
    """Count the live waiters of ``line`` without its mutex, for a repr; may be approximate."""
    try:
        return line._waiter_count()
    except RuntimeError:  # another thread changed the line while we counted
        return line.linkcount()
