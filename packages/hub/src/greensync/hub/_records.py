"""The waiter record: the one home of its layout and its states.

A record is what a :class:`~greensync.hub.WaitLine` holds for each waiter: a greenlet parked on
a hub, an asyncio task awaiting a future, or a callback registered with ``rawlink``.  It is a
plain list, because a list is three times cheaper to make than a slotted object and the wait
line makes one per wait.  Every module that reads a record uses the names below; nothing
indexes a record by a bare number.

States, and who moves a record between them (always under its line's mutex, except the last
step of a hand-off, which only the waiter's own thread takes)::

    WAITING --handoff/notify--> HANDED --woken in its own thread--> DONE
       |
       +--timeout / exception / withdrawn / its thread ended--> DONE

A record that is DONE while still in its line is *dead*: the line counts it and drops it
lazily.  A record that was HANDED a value and then leaves with an exception gives the value
back through :meth:`WaitLine.give_back`.
"""

from __future__ import annotations

from typing import Any, Final

#: The greenlet that waits, or ``None`` (a callback, an asyncio future, or a record that is
#: done: a dead record lets go of its greenlet).
WHO: Final = 0
#: What wakes it: the hub of the waiter's thread, or the asyncio waker of its loop.  Both have
#: ``_wake(record)`` and ``closed``.
WAKER: Final = 1
#: The :class:`~greensync.hub.WaitLine` it is in (changes when a line moves it to another).
LINE: Final = 2
#: What it was handed (a taker's value; ``True`` for a notified listener).
VALUE: Final = 3
#: ``WAITING``, ``HANDED`` or ``DONE``.
STATE: Final = 4
#: A rawlink callback, or the asyncio future of an awaiting task; ``None`` for a greenlet.
CALL: Final = 5
#: While waiting: the timer of a timed wait (so a move can disarm it), else ``None``.
TIMER: Final = 6
#: Once handed, on the built-in hub: the ready-queue item ``[fn, args]`` (a plain ``list``)
#: that will wake it, so a waiter that leaves first can cancel it (``item[0] = None``).  It
#: takes the timer's place: a handed record's timer is never looked at again (a parked
#: waiter is 8 bytes smaller).
QUEUED: Final = 6
#: True for a listener (woken all together by ``notify``), False for a taker (handed values).
LISTENS: Final = 7

WAITING: Final = 0
HANDED: Final = 1
DONE: Final = 2

#: A record: ``[who, waker, line, value, state, call, timer or queued, listens]``.
Record = list[Any]
