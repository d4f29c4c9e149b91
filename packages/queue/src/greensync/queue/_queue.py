"""SimpleQueue, Queue, LifoQueue and PriorityQueue.

The rules (see ``_common`` for the wait lines and the room units):

* **Uncontended calls take no mutex** (DESIGN rule 10).  The buffer is a ``deque`` (a
  ``list`` for LIFO): a put is one ``append``, a get one ``popleft`` (``pop``).  Room in a
  bounded queue is a list of units: a put claims one with ``pop()``, a get gives one back
  with ``append()``.  The unfinished tasks of a ``Queue`` are a list of tokens: a put appends
  one before its item can be got, ``task_done`` pops one (an empty list means too many
  ``task_done`` calls).  One attribute, ``_room``, tells a put unbounded (None), bounded (the
  units) or shut down (falsy); after its item went in, a put tests ``if self.waitline:`` (in
  C) and, when nobody may wait there, touches nothing else -- no lock, no hub.
* **Hand-off.**  A put that finds the getters' line busy after its item went in serves the
  parked getters from the buffer at once, under the line's mutex: the first getter is handed
  the item (reserved for it: nobody can take it first), and the item is out of the buffer
  before the put returns.  A getter joins the line and only then tries the buffer once more
  (the line's ``retry``), so an item put meanwhile is never missed.  Getters park only when
  the buffer is empty, so a get that finds items never queues behind anyone.
* **Room.**  A put on a full queue parks in the putters' line.  A get that gives a unit back
  and finds putters there hands the unit to the first (``ROOM``), reserved: a newcomer finds
  no unit.  The putter stores its own item when it runs; a putter that leaves first gives the
  unit to the next one.  A parked putter's retry claims a unit that came meanwhile.
* **Nothing lost.**  An item handed to a getter that left goes to the next getter or back to
  the *front* of the buffer, and the peekers are woken.  Putting it back takes a unit of
  room; when none is free the unit is owed (``_owed``, under the putters' mutex) and the next
  gets pay it instead of freeing room -- as after shrinking ``maxsize`` below the size.
* **Shutdown** closes the put side of room (``_room``, which every put reads) and sets a flag
  the slow paths and the retries read, then hands ``SHUT`` to every parked putter (and to
  every getter once the buffer is empty).  A put racing ``shutdown()`` from another thread
  may still land its item (with ``immediate=True``, after the others were discarded): gets
  return it before they raise ``ShutDown``, and its task counts until ``task_done``.
* An item that *is* the hub's ``TIMED_OUT`` or ``NOTHING`` marker travels boxed on the paths
  through a wait line, so a getter never mistakes it for its own timeout.

Lock order, where two are held: the getters' line mutex, then the putters' (or joiners').

The standard library's subclass hooks (``_init``, ``_qsize``, ``_put``, ``_get``; and
``_peek``, gevent's) are honoured: a subclass that overrides one is detected once, when the
class is made (``__init_subclass__``), and gets the *hooked engine* -- every buffer operation
under one lock (the getters' line mutex, shared by the putters' line), room counted from
``_qsize()``, and a parked getter handed a *claim* (``CLAIM``) on an item in the container,
which it takes with ``_get()`` itself when it runs: so the container and its order decide,
for parked getters too, and a ``_get`` that raises leaves the item where it was.
``PriorityQueue`` is built that way (a heap needs its lock: comparing items runs Python code).
The built-in FIFO and LIFO classes never pay for any of it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from heapq import heappop, heappush
from typing import Any, ClassVar, Generic, TypeVar

from greensync.hub import NOTHING, TIMED_OUT, Linkable, WaitLine, check_timeout

from ._common import (
    CLAIM,
    NOTHING_ITEM,
    OWN_ROOM,
    ROOM,
    SHUT,
    TIMED_OUT_ITEM,
    Empty,
    Full,
    GetLine,
    PutLine,
    ShutDown,
    _Marker,
    add_units,
    box,
    check_maxsize,
    take_unit,
    unbox,
)

__all__ = [
    "JoinableQueue",
    "LifoQueue",
    "LightQueue",
    "PriorityQueue",
    "Queue",
    "SimpleQueue",
]

T = TypeVar("T")

_monotonic = time.monotonic

#: Guards the first creation of a queue's putters' or joiners' line.
_CREATE = threading.Lock()


class _Empty:
    """What ``_peek_now`` returns when there is nothing to peek at (never an item)."""

    __slots__ = ()


_EMPTY: Any = _Empty()

#: A shut-down queue's put side of room: falsy, so every put takes the slow path and raises.
_CLOSED: Any = ()


class _Raised:
    """A subclass hook raised inside a line's ``retry``; the waiter re-raises it."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _purge(line: WaitLine) -> None:
    """Drop the records of waiters that left, so that ``if line:`` is false again.

    Hold the mutex.  A line keeps a record that left until a hand-off passes it; with nobody
    live in it a hand-off hands nothing and only drops them.
    """
    if line and not line.takers() and not line.listeners():
        line.handoff(None)


# The standard library's hooks, and gevent's ``_peek``.  A class that overrides one of them
# (relative to the nearest built-in class above it) gets the hooked engine.
_HOOKS = ("_init", "_qsize", "_put", "_get", "_peek")


class SimpleQueue(Linkable, Generic[T]):
    """A FIFO queue between greenlets, asyncio tasks and threads, without task tracking.

    The fastest queue here: a put or get that does not wait takes no lock and never touches
    the hub.  Getters and putters are served in the order they started waiting, whatever
    they are (greenlets on any hub, asyncio tasks on any loop, plain threads), and a put that
    finds a waiting getter hands the item straight to it.

    ``maxsize`` of 0, ``None`` or a negative number means unbounded (as in the standard
    library); :attr:`maxsize` then reads back as 0.

    A queue is linkable: it is :meth:`ready` when it holds an item to get (or was shut down),
    so ``iwait``/``wait`` report it then.  Iterating a queue (``for``, ``async for``) gets
    items until the item got is the class ``StopIteration`` (gevent's convention) or the queue
    is shut down and drained.

    ``LightQueue`` is another name for this class (eventlet's).  Unlike the standard library's
    ``SimpleQueue``, this one can be bounded and supports :meth:`peek` and :meth:`shutdown`.
    The standard library's subclass hooks work: a subclass overriding ``_init(maxsize)``,
    ``_qsize()``, ``_put(item)`` or ``_get()`` (or ``_peek()``) changes the container
    (:attr:`queue`) and the order.

    Args:
        maxsize: The most items the queue holds before a put blocks; 0, None or negative for
            no limit.

    Raises:
        TypeError: ``maxsize`` is not an int or None.
    """

    __slots__ = (
        "_claimed",
        "_drop",
        "_joiners",
        "_lock",
        "_maxsize",
        "_owed",
        "_putters",
        "_reserved",
        "_room",
        "_shutdown",
        "_take",
        "_tasks",
        "_units",
        "queue",
    )

    #: The container (the standard library's name): a ``deque`` here, what ``_init`` makes in
    #: a subclass with hooks.
    queue: Any
    _take: Callable[[], T]
    _room: list[Any] | tuple[()] | None
    _units: list[Any] | None
    _putters: PutLine | None
    _joiners: WaitLine | None
    _tasks: list[None] | None
    _lock: Any

    #: Marks the classes whose fast path is built in (not inherited by subclasses).
    _builtin: ClassVar[bool] = True
    #: True for a class with subclass hooks (see the module documentation).
    _hooked: ClassVar[bool] = False
    #: Whether puts count unfinished tasks (Queue and its subclasses do).
    _tracks_tasks: ClassVar[bool] = False
    #: Where the next item sits in the deque: 0 (FIFO) or -1 (LIFO).
    _FRONT: ClassVar[int] = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_builtin" in cls.__dict__ or cls._hooked:
            return
        base = next(c for c in cls.__mro__ if "_builtin" in c.__dict__)
        if any(getattr(cls, hook) is not getattr(base, hook) for hook in _HOOKS):
            cls._hooked = True
            for name, function in _HOOKED_ENGINE.items():
                # A method the subclass wrote itself stays its own.
                if getattr(cls, name, None) is getattr(base, name, None):
                    setattr(cls, name, function)

    def __init__(self, maxsize: int | None = 0) -> None:
        size = check_maxsize(maxsize)
        super().__init__()
        self._maxsize = size
        # The put side of room: None while unbounded, the list of units while bounded, and
        # _CLOSED (falsy) once shut down -- one attribute for the fast path to test.  The get
        # side: the list of units (None while unbounded), where gets give units back.
        self._room = None
        self._units = None
        self._owed = 0  # units of room owed, paid by the next gets (under the putters' mutex)
        self._reserved = 0  # room handed to putters that have not stored yet (same mutex)
        self._claimed = 0  # items reserved for parked getters (hooked engine, under _lock)
        self._putters = None
        self._joiners = None
        self._tasks = [] if self._tracks_tasks else None
        self._shutdown = False
        self._drop = False  # shut down with immediate=True: items given back are dropped
        self._lock = None
        self._init(size)
        if self._hooked:
            # One lock for the container and both lines: the getters' line mutex.
            self._lock = self.get_waitline().mutex
        elif size:
            units: list[Any] = []
            add_units(units, size)
            self._room = self._units = units

    # -- the standard library's hooks -------------------------------------------------------

    def _init(self, maxsize: int) -> None:
        """Make the container (:attr:`queue`).  A hook: override it to use another."""
        self.queue = deque()
        self._take = self.queue.popleft

    def _qsize(self) -> int:
        """Return the number of items in the container.  A hook."""
        return len(self.queue)

    def _put(self, item: T) -> None:
        """Add ``item`` to the container.  A hook."""
        self.queue.append(item)

    def _get(self) -> T:
        """Remove and return the next item of the container.  A hook."""
        return self.queue.popleft()  # type: ignore[no-any-return]

    def _peek(self) -> T:
        """Return the next item of the container without removing it.  A hook (gevent's)."""
        return self.queue[0]  # type: ignore[no-any-return]

    def _put_back(self, item: T) -> None:
        """Put an item given back by a getter that left where it is the next again."""
        self.queue.appendleft(item)

    # -- lines ------------------------------------------------------------------------------

    def make_waitline(self) -> WaitLine:
        return GetLine(self)

    def _get_putters(self) -> PutLine:
        putters = self._putters
        if putters is None:
            with _CREATE:
                putters = self._putters
                if putters is None:
                    # The hooked engine's lines share its one lock.
                    putters = PutLine(self, mutex=self._lock)
                    self._putters = putters
        return putters

    def _get_joiners(self) -> WaitLine:
        joiners = self._joiners
        if joiners is None:
            with _CREATE:
                joiners = self._joiners
                if joiners is None:
                    joiners = self._joiners = WaitLine(self)
        return joiners

    # -- inspection -------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._describe()}>"

    def _brief(self) -> str:
        """The repr without the waiter counts, for error messages."""
        return f"<{type(self).__name__} {self._describe(waiters=False)}>"

    def _describe(self, waiters: bool = True) -> str:
        parts = [f"qsize={self._size_snapshot()}"]
        if self._maxsize:
            parts.append(f"maxsize={self._maxsize}")
        if waiters:
            # Snapshots, without the mutexes: a repr must never wait.
            line = self.waitline
            getting = line.takers() if line is not None else 0
            if getting:
                parts.append(f"getting={getting}")
            putters = self._putters
            putting = (putters.takers() if putters is not None else 0) + self._reserved
            if putting:
                parts.append(f"putting={putting}")
        tasks = self._tasks
        if tasks:
            parts.append(f"unfinished={len(tasks)}")
        if self._shutdown:
            parts.append("shutdown")
        return " ".join(parts)

    def _size_snapshot(self) -> int:
        return len(self.queue)

    def __len__(self) -> int:
        """Return the number of items in the queue (as :meth:`qsize`)."""
        return len(self.queue)

    def __bool__(self) -> bool:
        """Return True: a queue is always true, even when empty (as in gevent)."""
        return True

    def qsize(self) -> int:
        """Return the number of items in the queue (items handed to getters are not in it)."""
        return len(self.queue)

    def empty(self) -> bool:
        """Return True if the queue holds no item."""
        return not self.queue

    def full(self) -> bool:
        """Return True if a put would block.

        Room already handed to a parked putter counts as taken.
        """
        units = self._units
        return units is not None and (not units or self._owed > 0)

    def ready(self) -> bool:
        """Return True if a get would not block: an item is there, or the queue is shut down."""
        return bool(self.queue) or self._shutdown

    @property
    def maxsize(self) -> int:
        """The most items the queue holds before a put blocks; 0 means unbounded.

        Setting it is the same as :meth:`resize`.
        """
        return self._maxsize

    @maxsize.setter
    def maxsize(self, size: int | None) -> None:
        self._resize(check_maxsize(size))

    @property
    def is_shutdown(self) -> bool:
        """True once :meth:`shutdown` was called."""
        return self._shutdown

    def getting(self) -> int:
        """Return how many greenlets, tasks and threads wait in :meth:`get` for an item."""
        line = self.waitline
        if line is None:
            return 0
        with line.mutex:
            return line.takers()

    def putting(self) -> int:
        """Return how many waiters are blocked in :meth:`put` whose item is not in yet.

        This counts putters waiting for room and putters already handed room that have not
        run yet.
        """
        putters = self._putters
        if putters is None:
            return 0
        with putters.mutex:
            return putters.takers() + self._reserved

    # -- size -------------------------------------------------------------------------------

    def resize(self, size: int | None) -> None:
        """Change :attr:`maxsize`.

        Growing the queue (or making it unbounded) hands the new room to blocked putters, in
        the order they blocked.  Shrinking it never drops an item: puts block until enough
        items were got.

        Args:
            size: The new bound; 0, None or negative for no limit.

        Raises:
            TypeError: ``size`` is not an int or None.
        """
        self._resize(check_maxsize(size, "size"))

    def _resize(self, new: int) -> None:
        putters = self._get_putters()
        with putters.mutex:
            old = self._maxsize
            self._maxsize = new
            if new != old:
                self._resize_locked(putters, old, new)

    def _resize_locked(self, putters: PutLine, old: int, new: int) -> None:
        room = self._units
        if not new:
            # A put racing this in another thread may still take a unit of the old list;
            # unbounded, nobody gives one back.
            self._units = None
            if not self._shutdown:
                self._room = None
            self._owed = 0
        elif room is None:
            # Bounded from now on.  The list is in place before the size is read, so only a
            # put that had already found the queue unbounded can add an item unaccounted.
            room = []
            self._units = room
            if not self._shutdown:
                self._room = room
            free = new - len(self.queue) - self._reserved
            if free > 0:
                add_units(room, free)
            else:
                self._owed = -free
        elif new > old:
            grow = new - old
            paid = min(grow, self._owed)
            self._owed -= paid
            add_units(room, grow - paid)
        else:
            shrink = old - new
            while shrink and room:
                try:
                    unit = room.pop()
                except IndexError:
                    break
                have = 1 if unit is None else unit
                if have > shrink:
                    add_units(room, have - shrink)
                    have = shrink
                shrink -= have
            self._owed += shrink
        self._serve_putters(putters)

    # -- put --------------------------------------------------------------------------------

    def put(self, item: T, block: bool = True, timeout: float | None = None) -> None:
        """Put ``item`` into the queue, waiting for room if it is full.

        A getter already waiting receives the item directly.  A blocked putter's item enters
        the queue when the putter runs, after room was made for it.

        Args:
            item: What to put.
            block: If False, never wait: raise :class:`Full` at once if there is no room.
            timeout: The most seconds to wait for room; None waits as long as it takes.
                0 is the same as ``block=False``.

        Raises:
            Full: no room, and ``block`` is False or ``timeout`` passed.
            ShutDown: the queue was shut down, before or while this put waited.
            TypeError, ValueError: ``timeout`` is not a non-negative number or None.
            RuntimeError: called from a coroutine on a running asyncio loop, where it would
                block the loop (use :meth:`async_put`).
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        room = self._room
        if room is not None:
            # Bounded (a list of units) or shut down (falsy): claim a unit, or the slow path.
            if not room:
                self._put_slow(item, block, timeout)
                return
            try:
                unit = room.pop()
            except IndexError:
                self._put_slow(item, block, timeout)
                return
            if unit is not None:
                self._split(room, unit)
        tasks = self._tasks
        if tasks is not None:
            tasks.append(None)  # before the item can be got and its task_done called
        self.queue.append(item)
        if self.waitline:  # after the item went in: whoever joined since finds it, or is served
            self._serve_getters()

    def put_nowait(self, item: T) -> None:
        """Put ``item`` if there is room, without waiting.

        Raises:
            Full: the queue is full.
            ShutDown: the queue was shut down.
        """
        # put(item, False), inlined: measured a call cheaper on the path the bulk use takes.
        room = self._room
        if room is not None:
            # Bounded (a list of units) or shut down (falsy): claim a unit, or the slow path.
            if not room:
                self._put_slow(item, False, None)
                return
            try:
                unit = room.pop()
            except IndexError:
                self._put_slow(item, False, None)
                return
            if unit is not None:
                self._split(room, unit)
        tasks = self._tasks
        if tasks is not None:
            tasks.append(None)  # before the item can be got and its task_done called
        self.queue.append(item)
        if self.waitline:  # after the item went in: whoever joined since finds it, or is served
            self._serve_getters()

    async def async_put(self, item: T, timeout: float | None = None) -> None:
        """Put ``item`` into the queue from an asyncio task, waiting for room if it is full.

        The task waits in the same line as greenlets and threads.  A task cancelled after it
        was handed room gives the room to the next putter, having put nothing.

        Args:
            item: What to put.
            timeout: The most seconds to wait for room; None waits as long as it takes; 0
                never waits.

        Raises:
            Full: no room within ``timeout``.
            ShutDown: the queue was shut down, before or while this put waited.
            TypeError, ValueError: ``timeout`` is not a non-negative number or None.
        """
        timeout = check_timeout(timeout)
        if self._store(item):
            return
        if timeout == 0:
            raise Full(f"{self._brief()} is full")
        value = await self._get_putters().async_park(timeout, self._retry_room)
        self._put_granted(item, value, timeout)

    def _put_slow(self, item: T, block: bool, timeout: float | None) -> None:
        if self._store(item):
            return
        if not block or timeout == 0:
            raise Full(f"{self._brief()} is full")
        value = self._get_putters().park(timeout, self._retry_room)
        self._put_granted(item, value, timeout)

    def _split(self, room: list[Any], bundle: int) -> None:
        """A put took one unit of ``bundle``: put the rest back, and serve waiting putters."""
        room.append(None if bundle == 2 else bundle - 1)
        if self._putters:
            self._room_freed()

    def _store(self, item: T) -> bool:
        """Put ``item`` without waiting, off the fast path; False if there is no room.

        Raises:
            ShutDown: the queue was shut down.
        """
        if self._shutdown:
            raise ShutDown(f"cannot put into {self._brief()}: it was shut down")
        if self._hand_to_getter(item):
            return True
        room = self._units
        if room is not None:
            if not take_unit(room):
                return False
            if room and self._putters:
                self._room_freed()  # a bundle was split: the rest is free again
        self._append(item)
        return True

    def _hand_to_getter(self, item: T) -> bool:
        """Hand ``item`` to the first parked getter, if any (reserved for it)."""
        line = self.waitline
        if not line:
            return False
        with line.mutex:
            if line.takers():
                tasks = self._tasks
                if tasks is not None:
                    tasks.append(None)  # before the getter can run and call task_done
                if line.handoff(box(item)):
                    return True
                if tasks is not None:
                    self._untrack()
            else:
                _purge(line)
        return False

    def _append(self, item: T) -> None:
        """Add ``item`` to the buffer, room already claimed; serve the getters if they wait."""
        tasks = self._tasks
        if tasks is not None:
            tasks.append(None)
        self.queue.append(item)
        if self.waitline:
            self._serve_getters()

    def _retry_room(self) -> Any:
        """A parked putter's retry: claim room if there is some (or see the shutdown)."""
        if self._shutdown:
            return SHUT
        room = self._units
        if room is None:
            return OWN_ROOM
        if take_unit(room):
            if room:
                self._room_freed()
            return OWN_ROOM
        return NOTHING

    def _put_granted(self, item: T, value: Any, timeout: float | None) -> None:
        """A parked putter woke: store its item in the room it was given, or raise."""
        if value is TIMED_OUT:
            raise Full(f"{self._brief()} stayed full for {timeout} seconds")
        if value is SHUT:
            raise ShutDown(f"{self._brief()} was shut down while a put waited")
        if value is ROOM:
            putters = self._putters
            assert putters is not None
            with putters.mutex:
                self._reserved -= 1
        if self._shutdown:
            # As in the standard library, a putter woken after shutdown() raises.
            self._unit_back()
            raise ShutDown(f"{self._brief()} was shut down while a put waited")
        if self._hand_to_getter(item):
            self._unit_back()  # a getter took it directly: the room is free again
            return
        self._append(item)

    def _unit_back(self) -> None:
        """A unit of room is free again: back to the list, or to the first parked putter."""
        room = self._units
        if room is not None:
            room.append(None)
            if self._putters or self._owed:
                self._room_freed()

    def _room_freed(self) -> None:
        """Units of room may be free: pay what is owed, then hand them to parked putters."""
        putters = self._putters
        if putters is None:
            if not self._owed:
                return
            putters = self._get_putters()
        with putters.mutex:
            self._serve_putters(putters)

    def _serve_putters(self, putters: PutLine) -> None:
        """Hand free room to parked putters, first come first served.  Hold their mutex."""
        room = self._units
        if room is None:
            while putters.handoff(ROOM):
                self._reserved += 1
            return
        while self._owed and take_unit(room):
            self._owed -= 1
        while putters and room:
            if not take_unit(room):
                break
            if putters.handoff(ROOM):
                self._reserved += 1
            else:
                room.append(None)
                break

    def _putter_left(self, line: PutLine, value: Any) -> None:
        """Room handed to a putter that left passes on.  Called with its mutex held."""
        if value is not ROOM:
            return
        if line.handoff(ROOM):
            return
        self._reserved -= 1
        room = self._units
        if room is not None:
            if self._owed:
                self._owed -= 1
            else:
                room.append(None)

    # -- get --------------------------------------------------------------------------------

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        """Remove and return the next item, waiting for one if the queue is empty.

        Args:
            block: If False, never wait: raise :class:`Empty` at once if there is no item.
            timeout: The most seconds to wait; None waits as long as it takes.  0 is the same
                as ``block=False``.

        Returns:
            The item.

        Raises:
            Empty: no item, and ``block`` is False or ``timeout`` passed.
            ShutDown: the queue was shut down and is empty.
            TypeError, ValueError: ``timeout`` is not a non-negative number or None.
            RuntimeError: called from a coroutine on a running asyncio loop, where it would
                block the loop (use :meth:`async_get`).
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        if self.queue:
            try:
                item = self._take()
            except IndexError:
                pass
            else:
                room = self._units
                if room is not None:
                    room.append(None)
                    if self._putters or self._owed:
                        self._room_freed()
                return item
        if not block or timeout == 0:
            return self._get_slow(False, timeout)
        # Wait.  The line's retry, once this getter is in it, takes an item that came
        # meanwhile (or sees the shutdown): no need to try again before joining.
        line = self.waitline
        if line is None:
            line = self.get_waitline()
        value = line.park(timeout, self._retry_get)
        cls = value.__class__
        if cls is _Marker or cls is _Raised or value is TIMED_OUT:
            return self._got(value, timeout)
        return value  # type: ignore[no-any-return]

    def get_nowait(self) -> T:
        """Remove and return the next item without waiting.

        Raises:
            Empty: the queue is empty.
            ShutDown: the queue was shut down and is empty.
        """
        # get(False), inlined: measured a call cheaper on the path the bulk use takes.
        if self.queue:
            try:
                item = self._take()
            except IndexError:
                pass
            else:
                room = self._units
                if room is not None:
                    room.append(None)
                    if self._putters or self._owed:
                        self._room_freed()
                return item
        return self._get_slow(False, None)

    async def async_get(self, timeout: float | None = None) -> T:
        """Remove and return the next item from an asyncio task, waiting if it is empty.

        The task waits in the same line as greenlets and threads.  A task cancelled after it
        was handed an item gives the item to the next getter, or back to the front.

        Args:
            timeout: The most seconds to wait; None waits as long as it takes; 0 never waits.

        Raises:
            Empty: no item within ``timeout``.
            ShutDown: the queue was shut down and is empty.
            TypeError, ValueError: ``timeout`` is not a non-negative number or None.
        """
        timeout = check_timeout(timeout)
        value = self._retry_get()
        if value is NOTHING:
            if timeout == 0:
                raise Empty(f"{self._brief()} is empty")
            value = await self.get_waitline().async_park(timeout, self._retry_get)
        return self._got(value, timeout)

    def _get_slow(self, block: bool, timeout: float | None) -> T:
        if not block or timeout == 0:
            value = self._retry_get()
            if value is NOTHING:
                raise Empty(f"{self._brief()} is empty")
            return self._got(value, timeout)
        # The line's retry, once this getter is in it, takes an item that came meanwhile
        # (or sees the shutdown): no need to try before joining.
        line = self.waitline
        if line is None:
            line = self.get_waitline()
        return self._got(line.park(timeout, self._retry_get), timeout)

    def _retry_get(self) -> Any:
        """Take an item if there is one (boxed), else ``SHUT`` or ``NOTHING``.

        Also a parked getter's retry: it must not raise.
        """
        if self.queue:
            try:
                item = self._take()
            except IndexError:
                pass
            else:
                self._unit_back()
                return box(item)
        if self._shutdown:
            return SHUT
        return NOTHING

    def _got(self, value: Any, timeout: float | None) -> T:
        """What a getter's wait ended with, as the get's result or exception."""
        if value is TIMED_OUT:
            raise Empty(f"{self._brief()} stayed empty for {timeout} seconds")
        if value is SHUT:
            raise ShutDown(f"{self._brief()} was shut down and is empty")
        if value is TIMED_OUT_ITEM:
            return TIMED_OUT  # type: ignore[no-any-return]
        if value is NOTHING_ITEM:
            return NOTHING  # type: ignore[no-any-return]
        if value is CLAIM:
            return self._take_claimed()
        if value.__class__ is _Raised:
            raise value.exc
        return value  # type: ignore[no-any-return]

    def _take_claimed(self) -> T:  # pragma: no cover - the hooked engine's
        raise AssertionError("only a queue with subclass hooks hands out claims")

    def _serve_getters(self) -> None:
        """Items arrived while the line was busy: hand them to parked getters, wake peekers."""
        line = self.waitline
        if line is None:
            return
        items = self.queue
        freed = 0
        with line.mutex:
            # Hand items to getters while both last.  A hand-off that finds no getter (only
            # listeners, or records of getters that left, which it drops) hands nothing, and
            # the item goes back where it was: cheaper than counting the getters first.
            while items:
                try:
                    item = self._take()
                except IndexError:
                    break
                if not line.handoff(
                    TIMED_OUT_ITEM
                    if item is TIMED_OUT
                    else NOTHING_ITEM
                    if item is NOTHING
                    else item
                ):
                    self._put_back(item)
                    break
                freed += 1
            if items:
                line.notify()  # peekers, rawlink, iwait (returns at once if there are none)
            elif self._shutdown:
                while line.handoff(SHUT):
                    pass
        if freed:
            room = self._units
            if room is not None:
                add_units(room, freed)
                if self._putters or self._owed:
                    self._room_freed()

    def _getter_left(self, line: GetLine, value: Any) -> None:
        """An item handed to a getter that left passes on.  Called with its mutex held."""
        if value is SHUT:
            return
        if line.handoff(value):
            return  # to the next getter
        item = unbox(value)
        if self._drop:
            self._untrack()  # shut down with immediate=True: discarded, a task finished
            return
        room = self._units
        if room is not None:
            if not take_unit(room):
                putters = self._get_putters()
                with putters.mutex:
                    self._owed += 1
            elif room and self._putters:
                self._room_freed()
        self._put_back(item)
        line.notify()  # peekers, rawlink, iwait

    # -- peek -------------------------------------------------------------------------------

    def peek(self, block: bool = True, timeout: float | None = None) -> T:
        """Return the next item without removing it, waiting for one if the queue is empty.

        A waiting peek does not take part in the getters' line: an item put while getters
        wait goes to them, and the peek goes on waiting.

        Args:
            block: If False, never wait: raise :class:`Empty` at once if there is no item.
            timeout: The most seconds to wait; None waits as long as it takes.

        Returns:
            The item that :meth:`get` would return now.

        Raises:
            Empty: no item, and ``block`` is False or ``timeout`` passed.
            ShutDown: the queue was shut down and is empty.
            TypeError, ValueError: ``timeout`` is not a non-negative number or None.
            RuntimeError: called from a coroutine on a running asyncio loop (use
                :meth:`async_peek`).
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        got = self._peek_now()
        if got is not _EMPTY:
            return got  # type: ignore[no-any-return]
        deadline = self._peek_deadline(block, timeout)
        line = self.get_waitline()
        while True:
            if not line.listen(timeout, self.ready):
                raise Empty(f"{self._brief()} stayed empty for {timeout} seconds")
            got = self._peek_now()
            if got is not _EMPTY:
                return got  # type: ignore[no-any-return]
            timeout = self._peek_again(deadline)

    def peek_nowait(self) -> T:
        """Return the next item without removing it or waiting.

        Raises:
            Empty: the queue is empty.
            ShutDown: the queue was shut down and is empty.
        """
        return self.peek(False)

    async def async_peek(self, timeout: float | None = None) -> T:
        """Return the next item without removing it, from an asyncio task (see :meth:`peek`).

        Raises:
            Empty: no item within ``timeout``.
            ShutDown: the queue was shut down and is empty.
            TypeError, ValueError: ``timeout`` is not a non-negative number or None.
        """
        timeout = check_timeout(timeout)
        got = self._peek_now()
        if got is not _EMPTY:
            return got  # type: ignore[no-any-return]
        deadline = self._peek_deadline(True, timeout)
        line = self.get_waitline()
        while True:
            if not await line.async_listen(timeout, self.ready):
                raise Empty(f"{self._brief()} stayed empty for {timeout} seconds")
            got = self._peek_now()
            if got is not _EMPTY:
                return got  # type: ignore[no-any-return]
            timeout = self._peek_again(deadline)

    def _peek_now(self) -> Any:
        items = self.queue
        if items:
            try:
                return items[self._FRONT]
            except IndexError:
                pass
        return _EMPTY

    def _peek_deadline(self, block: bool, timeout: float | None) -> float | None:
        """Raise if a peek that found nothing must not wait; else return its deadline."""
        if self._shutdown:
            raise ShutDown(f"{self._brief()} was shut down and is empty")
        if not block or timeout == 0:
            raise Empty(f"{self._brief()} is empty")
        return None if timeout is None else _monotonic() + timeout

    def _peek_again(self, deadline: float | None) -> float | None:
        """A peeker woke and found the item gone: the timeout left, or raise."""
        if self._shutdown:
            raise ShutDown(f"{self._brief()} was shut down and is empty")
        if deadline is None:
            return None
        timeout = deadline - _monotonic()
        if timeout <= 0.0:
            raise Empty(f"{self._brief()} stayed empty")
        return timeout

    # -- shutdown ---------------------------------------------------------------------------

    def shutdown(self, immediate: bool = False) -> None:
        """Shut the queue down (Python 3.13's semantics, on every Python).

        From now on every put raises :class:`ShutDown`, and so does every putter blocked in
        :meth:`put`.  Gets go on returning the items left; once the queue is empty, every get,
        including those blocked, raises :class:`ShutDown`.  With ``immediate=True`` the items
        left are discarded first (each one counts as a finished task, so :meth:`Queue.join`
        can return) and blocked getters raise at once.  Calling it again is harmless; a later
        ``immediate=True`` still drains.

        Args:
            immediate: Discard the items left instead of letting getters drain them.
        """
        putters = self._get_putters()
        with putters.mutex:  # so that a resize cannot open the put side again
            self._shutdown = True
            self._room = _CLOSED
        dropped = 0
        if immediate:
            self._drop = True
            dropped = self._drain()
        with putters.mutex:
            while putters.handoff(SHUT):
                pass
        line = self.waitline
        if line is not None:
            with line.mutex:
                if self._is_empty_locked():
                    while line.handoff(SHUT):
                        pass
                line.notify()
        if dropped:
            self._tasks_gone(dropped)

    def _drain(self) -> int:
        """Discard the items in the buffer; return how many."""
        items = self.queue
        count = 0
        while items:
            try:
                self._take()
            except IndexError:
                break
            count += 1
        room = self._units
        if count and room is not None:
            add_units(room, count)
            if self._owed:  # pay what is owed (no putter is served: they get SHUT)
                with self._get_putters().mutex:
                    while self._owed and take_unit(room):
                        self._owed -= 1
        return count

    def _is_empty_locked(self) -> bool:
        """True if no item is left for a new getter.  Hold the getters' mutex."""
        return not self.queue

    # -- tasks (counted by Queue) -----------------------------------------------------------

    def _untrack(self) -> None:
        """One task will never be done (undone, or its item discarded)."""
        tasks = self._tasks
        if tasks:
            try:
                tasks.pop()
            except IndexError:
                pass
        if not tasks:
            self._notify_joiners()

    def _tasks_gone(self, count: int) -> None:
        """Account ``count`` tasks whose items were discarded."""
        tasks = self._tasks
        if tasks is None:
            return
        for _ in range(count):
            if not tasks:
                break
            try:
                tasks.pop()
            except IndexError:
                break
        if not tasks:
            self._notify_joiners()

    def _notify_joiners(self) -> None:
        joiners = self._joiners
        if joiners:
            with joiners.mutex:
                joiners.notify()

    # -- iteration --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        """Return the next item (blocking); stop at ``StopIteration`` or shutdown."""
        try:
            item = self.get()
        except ShutDown:
            raise StopIteration from None
        if item is StopIteration:
            raise StopIteration
        return item

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        """Return the next item (waiting); stop at ``StopIteration`` or shutdown."""
        try:
            item = await self.async_get()
        except ShutDown:
            raise StopAsyncIteration from None
        if item is StopIteration:
            raise StopAsyncIteration
        return item


class Queue(SimpleQueue[T]):
    """A FIFO queue with task tracking: :meth:`task_done` and :meth:`join`.

    Everything :class:`SimpleQueue` does, plus the standard library's task accounting: every
    successful put adds an unfinished task, :meth:`task_done` finishes one, and :meth:`join`
    waits until none is left.  ``JoinableQueue`` (gevent's name) is this same class.

    Args:
        maxsize: The most items the queue holds before a put blocks; 0, None or negative for
            no limit.

    Raises:
        TypeError: ``maxsize`` is not an int or None.
    """

    __slots__ = ()

    _builtin = True
    _tracks_tasks = True

    @property
    def unfinished_tasks(self) -> int:
        """How many items were put and not yet marked done with :meth:`task_done`."""
        tasks = self._tasks
        return len(tasks) if tasks is not None else 0

    def task_done(self) -> None:
        """Mark one item got from the queue as processed.

        When the count of unfinished tasks reaches zero, every waiter in :meth:`join` wakes.

        Raises:
            ValueError: called more times than items were put.
        """
        tasks = self._tasks
        try:
            tasks.pop()  # type: ignore[union-attr]
        except IndexError:
            raise ValueError(
                f"task_done() called more times than items were put into {self._brief()}"
            ) from None
        if not tasks and self._joiners:
            self._notify_joiners()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every item put has been marked done with :meth:`task_done`.

        Args:
            timeout: The most seconds to wait; None waits as long as it takes.

        Returns:
            True if no task was unfinished at some moment during the wait, False if
            ``timeout`` passed first.  (The standard library's ``join`` takes no timeout and
            returns None; gevent's returns this same bool.)

        Raises:
            TypeError, ValueError: ``timeout`` is not a non-negative number or None.
            RuntimeError: called from a coroutine on a running asyncio loop (use
                :meth:`async_join`).
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        if not self._tasks:
            return True
        if timeout == 0:
            return False
        return self._get_joiners().listen(timeout, self._all_done)

    async def async_join(self, timeout: float | None = None) -> bool:
        """Wait, from an asyncio task, until every item put is marked done (see :meth:`join`)."""
        timeout = check_timeout(timeout)
        if not self._tasks:
            return True
        if timeout == 0:
            return False
        return await self._get_joiners().async_listen(timeout, self._all_done)

    def _all_done(self) -> bool:
        return not self._tasks


class LifoQueue(Queue[T]):
    """A last-in, first-out :class:`Queue`: :meth:`get` returns the newest item."""

    __slots__ = ()

    _builtin = True
    _FRONT = -1

    def _init(self, maxsize: int) -> None:
        self.queue = []  # as in the standard library; append and pop are atomic on a list
        self._take = self.queue.pop

    def _get(self) -> T:
        return self.queue.pop()  # type: ignore[no-any-return]

    def _peek(self) -> T:
        return self.queue[-1]  # type: ignore[no-any-return]

    def _put_back(self, item: T) -> None:
        self.queue.append(item)


# -- the hooked engine ----------------------------------------------------------------------
#
# Installed by SimpleQueue.__init_subclass__ on a class that overrides a hook.  Every buffer
# operation runs under self._lock (the getters' line mutex, which the putters' line shares);
# parked getters are handed CLAIM and take their item with _get() themselves, parked putters
# are handed ROOM and store theirs with _put().  _claimed and _reserved count those promises,
# so room is `maxsize - (_qsize() - _claimed) - _reserved`, exactly as the built-in engine
# counts items handed straight to getters out of the buffer.


class _HookedEngine(SimpleQueue[Any]):
    """A namespace: the methods that replace the built-in engine's on a class with hooks.

    Not a class anyone instantiates; its methods keep their public names so that the hub,
    refusing a blocking call from a coroutine, names the right ``async_`` twin.
    """

    __slots__ = ()

    _builtin = True

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if timeout is not None:
            timeout = check_timeout(timeout)
        self._put_slow(item, block, timeout)

    def put_nowait(self, item: Any) -> None:
        self._put_slow(item, False, None)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if timeout is not None:
            timeout = check_timeout(timeout)
        # Try before joining the line: a get that finds an item makes no hub (rule 5).
        value = self._retry_get()
        if value is not NOTHING:
            return self._got(value, timeout)
        return self._get_slow(block, timeout)

    def get_nowait(self) -> Any:
        return self._get_slow(False, None)

    def _h_has_room(self) -> bool:
        maxsize = self._maxsize
        return not maxsize or self._qsize() - self._claimed + self._reserved < maxsize

    def qsize(self) -> int:
        with self._lock:
            return self._qsize() - self._claimed

    def empty(self) -> bool:
        return not self.qsize()

    def full(self) -> bool:
        with self._lock:
            return not self._h_has_room()

    def ready(self) -> bool:
        with self._lock:
            return self._qsize() > self._claimed or self._shutdown

    def _size_snapshot(self) -> int:
        return self._qsize() - self._claimed

    def _store(self, item: Any) -> bool:
        with self._lock:
            if self._shutdown:
                raise ShutDown(f"cannot put into {self._brief()}: it was shut down")
            if not self._h_has_room():
                return False
            self._put(item)
            self._h_item_in()
            return True

    def _h_item_in(self) -> None:
        """An item went into the container: count its task, hand a claim or wake listeners."""
        tasks = self._tasks
        if tasks is not None:
            tasks.append(None)
        line = self.waitline
        assert line is not None
        if not line:
            return  # nobody waits or listens: no call into the hub
        if line.takers() and line.handoff(CLAIM):
            self._claimed += 1
        else:
            line.notify()
            _purge(line)

    def _retry_room(self) -> Any:
        with self._lock:
            if self._shutdown:
                return SHUT
            try:
                if not self._h_has_room():
                    return NOTHING
            except Exception as exc:  # noqa: BLE001 - a hook's error, re-raised by the putter
                return _Raised(exc)
            self._reserved += 1
            return ROOM

    def _put_granted(self, item: Any, value: Any, timeout: float | None) -> None:
        if value is TIMED_OUT:
            raise Full(f"{self._brief()} stayed full for {timeout} seconds")
        if value is SHUT:
            raise ShutDown(f"{self._brief()} was shut down while a put waited")
        if value.__class__ is _Raised:
            raise value.exc
        with self._lock:
            self._reserved -= 1
            if self._shutdown:
                self._h_room_freed()
                raise ShutDown(f"{self._brief()} was shut down while a put waited")
            try:
                self._put(item)
            except BaseException:
                self._h_room_freed()  # the room it was given is free again
                raise
            self._h_item_in()

    def _h_room_freed(self) -> None:
        """Hand free room to parked putters.  Hold the lock."""
        putters = self._putters
        while putters and self._h_has_room():
            if not putters.handoff(ROOM):
                break
            self._reserved += 1

    def _retry_get(self) -> Any:
        with self._lock:
            try:
                if self._qsize() > self._claimed:
                    self._claimed += 1
                    return CLAIM
            except Exception as exc:  # noqa: BLE001 - a hook's error, re-raised by the getter
                return _Raised(exc)
            if self._shutdown:
                return SHUT
            return NOTHING

    def _take_claimed(self) -> Any:
        with self._lock:
            self._claimed -= 1
            try:
                item = self._get()
            except BaseException:
                self._h_pass_claim()  # the item stays in the container, free for the next getter
                raise
            self._h_room_freed()
            return item

    def _h_pass_claim(self) -> None:
        """An unclaimed item may be in the container: claim it for a getter, or wake listeners."""
        line = self.waitline
        assert line is not None
        if self._qsize() > self._claimed:
            if line.takers() and line.handoff(CLAIM):
                self._claimed += 1
            else:
                line.notify()

    def _getter_left(self, line: GetLine, value: Any) -> None:
        if value is not CLAIM:
            return
        if line.handoff(CLAIM):
            return
        self._claimed -= 1
        if self._drop:
            # Shut down with immediate=True: the item it was promised is discarded now (a
            # hook that raises here does so in the greenlet that left, loudly).
            self._get()
            self._untrack()
            return
        line.notify()

    def _putter_left(self, line: PutLine, value: Any) -> None:
        if value is not ROOM:
            return
        if line.handoff(ROOM):
            return
        self._reserved -= 1
        self._h_room_freed()

    def _peek_now(self) -> Any:
        with self._lock:
            if self._qsize() > self._claimed:
                return self._peek()
            return _EMPTY

    def _drain(self) -> int:
        with self._lock:
            count = max(0, self._qsize() - self._claimed)
            for _ in range(count):
                self._get()
            return count

    def _is_empty_locked(self) -> bool:
        return self._qsize() <= self._claimed

    def _resize_locked(self, putters: PutLine, old: int, new: int) -> None:
        self._h_room_freed()


#: What __init_subclass__ installs on a class with hooks (``__len__`` is ``qsize``).
_HOOKED_ENGINE: dict[str, Any] = {
    name: function
    for name, function in vars(_HookedEngine).items()
    if callable(function) and name not in ("__init__", "__init_subclass__")
}
_HOOKED_ENGINE["__len__"] = _HookedEngine.qsize
for _name in ("put", "put_nowait", "get", "get_nowait", "qsize", "empty", "full", "ready"):
    _HOOKED_ENGINE[_name].__doc__ = getattr(SimpleQueue, _name).__doc__
del _name


class PriorityQueue(Queue[T]):
    """A :class:`Queue` that returns the lowest item first (a heap, as ``heapq`` orders it).

    Items must be comparable with each other; ``(priority, data)`` tuples are the usual form.
    Items of equal priority come out in no particular order.  A put whose item cannot be
    compared with the items in the queue raises the comparison's error and leaves the queue
    as it was.  Built on the standard library's hooks (``_put`` is ``heappush``, ``_get``
    ``heappop``), so a getter parked on an empty queue takes the lowest item there when it
    runs, as in the standard library.
    """

    __slots__ = ()

    def _init(self, maxsize: int) -> None:
        self.queue = []

    def _put(self, item: T) -> None:
        heap: list[Any] = self.queue
        try:
            heappush(heap, item)
        except BaseException:
            _unpush(heap, item)
            raise

    def _get(self) -> T:
        return heappop(self.queue)  # type: ignore[no-any-return]

    def _peek(self) -> T:
        return self.queue[0]  # type: ignore[no-any-return]


def _unpush(heap: list[Any], item: Any) -> None:
    """Take ``item`` out of ``heap`` after ``heappush`` raised comparing it.

    ``heappush`` appends the item and swaps it up towards the root one parent at a time, so
    when a comparison raises it sits somewhere on the path from the last slot to the root, and
    every parent it passed has moved down one step along that path.  Moving those back up and
    dropping the last slot restores the heap exactly as it was, with no comparison at all.
    """
    pos = len(heap) - 1
    if pos < 0:
        return
    path = [pos]
    while heap[pos] is not item:
        if pos == 0:
            return  # not in the heap: nothing was changed
        pos = (pos - 1) >> 1
        path.append(pos)
    for j in range(len(path) - 1, 0, -1):
        heap[path[j]] = heap[path[j - 1]]
    heap.pop()


#: eventlet's name for :class:`SimpleQueue`.
LightQueue = SimpleQueue
#: gevent's name for :class:`Queue`.
JoinableQueue = Queue
