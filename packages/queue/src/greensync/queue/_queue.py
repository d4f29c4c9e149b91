"""SimpleQueue, Queue, LifoQueue and PriorityQueue: one engine, three buffer orders.

The rules, all under the queue's one mutex (see ``_common`` for the two wait lines):

* A put that finds a parked getter hands the item straight to it (``_handoff``): the item never
  enters the buffer and is reserved for that getter, so nobody can take it first.  Otherwise
  the item goes into the buffer and listeners (``peek``, ``iwait``, ``rawlink``) are notified.
* A put on a full queue parks the putter.  When room frees up (a get, a larger ``maxsize``, room
  returned by a putter that left), the first putter is handed *room*: ``_reserved`` counts such
  promises toward fullness, so a newcomer cannot take that place.  The putter stores its item
  when it runs; if it leaves first, the room passes to the next putter.
* An item handed to a getter that leaves before it runs goes to the next getter, or back to the
  front of the buffer, so it is neither lost nor reordered.
* Getters park only when the buffer is empty, so a get that finds items never queues behind
  anyone.
* An item that *is* the hub's ``TIMED_OUT`` marker travels boxed (``TIMED_OUT_ITEM``) on the
  hand-off path, so a getter never mistakes it for its own timeout.
* A push that raises (a ``PriorityQueue`` item that cannot be compared with the others) is
  undone by :meth:`SimpleQueue._push_failed` before the error reaches the caller, and counts
  nothing: the queue keeps exactly the items it had.

The subclasses differ only in :meth:`SimpleQueue._init_buffer`, which picks the container and
the four operations on it; the engine calls them through bound callables, so the FIFO fast
path costs no extra Python frame.

Fast paths: ``_nget``/``_nput`` count greenlets parked in get/put (an upper bound: a waiter
decrements its count itself when it resumes) and ``_listened`` records that anyone ever peeked
or linked, so an uncontended put or get makes no protocol call at all.  The hot methods (put,
get and peek with their ``_nowait`` forms, and ``task_done``) take the mutex with
``acquire()``/``try``/``finally`` rather than ``with``, which measured about 90 ns cheaper per
call on CPython 3.11.
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable, Iterator
from functools import partial
from heapq import heappop, heappush
from typing import Any, ClassVar, Generic, TypeVar, cast

from greensync.hub import TIMED_OUT, Linkable, check_timeout, get_hub

from ._common import (
    ROOM,
    SHUT,
    TIMED_OUT_ITEM,
    Empty,
    Full,
    ShutDown,
    _JoinLine,
    _PutLine,
    waiter_count,
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


def _check_maxsize(maxsize: object, name: str = "maxsize") -> int:
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


class SimpleQueue(Linkable, Generic[T]):
    """A FIFO queue between greenlets, optionally bounded, without task tracking.

    The fastest queue here: :meth:`put_nowait` and :meth:`get_nowait` on a queue nobody waits
    on take one lock and never touch the hub.  Getters and putters are served in the order
    they started waiting, and a put that finds a waiting getter hands the item straight to it.
    Safe to share between OS threads, each running its own hub.

    ``maxsize`` of 0, ``None`` or a negative number means unbounded (as in the standard
    library); :attr:`maxsize` then reads back as 0.

    A queue is linkable: it is :meth:`ready` when it holds an item to get (or was shut down),
    so ``iwait``/``wait`` report it then.  Iterating a queue calls :meth:`get` until the item
    got is the class ``StopIteration`` (gevent's convention) or the queue is shut down and
    drained.

    ``LightQueue`` is another name for this class (eventlet's).  Unlike the standard library's
    ``SimpleQueue``, this one can be bounded and supports :meth:`peek` and :meth:`shutdown`.
    Subclasses change the order by overriding :meth:`_init_buffer` only.

    Args:
        maxsize: The most items the queue holds before a put blocks; 0, None or negative for
            no limit.

    Raises:
        TypeError: ``maxsize`` is not an int or None.
    """

    __slots__ = (
        "_drop",
        "_front",
        "_items",
        "_joiners",
        "_listened",
        "_maxsize",
        "_nget",
        "_nput",
        "_pop",
        "_push",
        "_putters",
        "_reserved",
        "_shutdown",
        "_unfinished",
        "_unpop",
    )

    _items: deque[T] | list[T]
    _push: Callable[[T], object]
    _pop: Callable[[], T]
    _front: Callable[[], T]
    _unpop: Callable[[T], object]

    #: Whether the repr shows the unfinished task count (Queue and its subclasses do).
    _show_tasks: ClassVar[bool] = False

    def __init__(self, maxsize: int | None = 0) -> None:
        size = _check_maxsize(maxsize)
        super().__init__()
        self._maxsize = size
        self._reserved = 0  # room promised to putters that have not run yet
        self._putters: _PutLine | None = None
        self._unfinished = 0  # items put and not yet marked done (Queue's task tracking)
        self._joiners: _JoinLine | None = None
        self._shutdown = False
        self._drop = False  # shut down with immediate=True: items given back are dropped
        # Greenlets parked in get()/put() and not resumed yet (never fewer than really wait),
        # and whether anyone ever listened (peek, rawlink): the fast paths skip the hand-off
        # and notify calls when these say nobody can be there.
        self._nget = 0
        self._nput = 0
        self._listened = False
        self._init_buffer()

    def _init_buffer(self) -> None:
        """Create the buffer and bind the operations the engine uses on it.

        Sets ``_items`` (a deque or list: ``len``, truth and ``clear()`` are used) and four
        callables: ``_push(item)`` adds a new item, ``_pop()`` removes and returns the next
        one, ``_front()`` returns it without removing it, and ``_unpop(item)`` puts back an
        item that ``_pop`` returned so that it is the next one again.
        """
        items: deque[T] = deque()
        self._items = items
        self._push = items.append
        self._pop = items.popleft
        self._front = lambda: items[0]
        self._unpop = items.appendleft

    # -- inspection -------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._describe()}>"

    def _brief(self) -> str:
        """The repr without the waiter counts, for error messages.

        Counting the waiters walks the wait lines, so a message built from the full repr
        costs O(waiters): ten thousand getters timing out together would spend O(n**2) just
        writing their messages.  This one costs the same however many wait.
        """
        return f"<{type(self).__name__} {self._describe(waiters=False)}>"

    def _describe(self, waiters: bool = True) -> str:
        parts = [f"qsize={len(self._items)}"]
        if self._maxsize:
            parts.append(f"maxsize={self._maxsize}")
        if waiters:
            getting = waiter_count(self)
            if getting:
                parts.append(f"getting={getting}")
            putters = self._putters
            putting = (waiter_count(putters) if putters is not None else 0) + self._reserved
            if putting:
                parts.append(f"putting={putting}")
        if self._show_tasks and self._unfinished:
            parts.append(f"unfinished={self._unfinished}")
        if self._shutdown:
            parts.append("shutdown")
        return " ".join(parts)

    def __len__(self) -> int:
        """Return the number of items in the queue (as :meth:`qsize`)."""
        return len(self._items)

    def __bool__(self) -> bool:
        """Return True: a queue is always true, even when empty (as in gevent)."""
        return True

    def qsize(self) -> int:
        """Return the number of items in the queue."""
        return len(self._items)

    def empty(self) -> bool:
        """Return True if the queue holds no item."""
        return not self._items

    def full(self) -> bool:
        """Return True if a put would block.

        Room already promised to a parked putter counts as taken.
        """
        maxsize = self._maxsize
        return maxsize > 0 and len(self._items) + self._reserved >= maxsize

    def ready(self) -> bool:
        """Return True if a get would not block: an item is there, or the queue is shut down."""
        return bool(self._items) or self._shutdown

    def rawlink(self, callback: Callable[[Any], object]) -> None:
        """Call ``callback(self)`` in the hub once the queue is :meth:`ready` (one-shot).

        Raises:
            TypeError: ``callback`` is not callable.
        """
        self._listened = True
        super().rawlink(callback)

    @property
    def maxsize(self) -> int:
        """The most items the queue holds before a put blocks; 0 means unbounded.

        Setting it is the same as :meth:`resize`.
        """
        return self._maxsize

    @maxsize.setter
    def maxsize(self, size: int | None) -> None:
        self._resize(_check_maxsize(size))

    @property
    def is_shutdown(self) -> bool:
        """True once :meth:`shutdown` was called."""
        return self._shutdown

    def getting(self) -> int:
        """Return how many greenlets are parked in :meth:`get` waiting for an item."""
        with self._mutex:
            return self._waiter_count()

    def putting(self) -> int:
        """Return how many greenlets are blocked in :meth:`put` whose item is not in yet.

        This counts putters waiting for room and putters already handed room that have not
        run yet.
        """
        with self._mutex:
            putters = self._putters
            return (putters._waiter_count() if putters is not None else 0) + self._reserved

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
        self._resize(_check_maxsize(size, "size"))

    def _resize(self, new: int) -> None:
        with self._mutex:
            self._maxsize = new
            self._wake_putters()

    # -- put --------------------------------------------------------------------------------

    def put(self, item: T, block: bool = True, timeout: float | None = None) -> None:
        """Put ``item`` into the queue, waiting for room if it is full.

        A getter already waiting receives the item directly.  A blocked putter's item enters
        the queue when the putter runs, on a hub turn after room was made for it.

        Args:
            item: What to put.
            block: If False, never wait: raise :class:`Full` at once if there is no room.
            timeout: The most seconds to wait for room; None waits as long as it takes.
                0 is the same as ``block=False``.

        Raises:
            Full: no room, and ``block`` is False or ``timeout`` passed.
            ShutDown: the queue was shut down, before or while this put waited.
            TypeError, ValueError: ``timeout`` is not a non-negative number or None.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        mutex = self._mutex
        mutex.acquire()  # not `with`: this is the hot path, and try/finally costs less
        try:
            if self._shutdown:
                raise ShutDown(f"cannot put into {self._brief()}: it was shut down")
            maxsize = self._maxsize
            if not maxsize or len(self._items) + self._reserved < maxsize:
                if self._nget and (
                    self._handoff(TIMED_OUT_ITEM if item is TIMED_OUT else item) is not None
                ):
                    self._unfinished += 1
                    return
                try:
                    self._push(item)
                except BaseException:
                    self._push_failed(item)
                    raise
                self._unfinished += 1
                if self._listened:
                    self._notify()
                return
            if not block or timeout == 0:
                raise Full(f"{self._brief()} is full")
            putters = self._putters
            if putters is None:
                putters = self._putters = _PutLine(self)
            link = putters._enqueue_waiter()
            self._nput += 1
        finally:
            mutex.release()
        try:
            value = putters._park(link, timeout)
        except BaseException:
            with self._mutex:
                self._nput -= 1
            raise
        with self._mutex:
            self._nput -= 1
            if value is TIMED_OUT:
                raise Full(f"{self._brief()} stayed full for {timeout} seconds")
            if value is SHUT:
                raise ShutDown(f"{self._brief()} was shut down while a put waited")
            # We were handed room: store the item in it.
            self._reserved -= 1
            if self._shutdown:
                # As in the standard library, a putter woken after shutdown() raises.
                raise ShutDown(f"{self._brief()} was shut down while a put waited")
            if self._nget and (
                self._handoff(TIMED_OUT_ITEM if item is TIMED_OUT else item) is not None
            ):
                self._unfinished += 1
                self._wake_putters()  # a getter took it directly: the room is free again
                return
            try:
                self._push(item)
            except BaseException:
                self._push_failed(item)
                self._wake_putters()  # the room we were handed is free again
                raise
            self._unfinished += 1
            if self._listened:
                self._notify()

    def put_nowait(self, item: T) -> None:
        """Put ``item`` if there is room, without waiting.

        Raises:
            Full: the queue is full.
            ShutDown: the queue was shut down.
        """
        self.put(item, False)

    def _wake_putters(self) -> None:
        """Hand room to parked putters while there is some.  Hold ``_mutex``."""
        putters = self._putters
        if putters is None:
            return
        maxsize = self._maxsize
        while not maxsize or len(self._items) + self._reserved < maxsize:
            if putters._handoff(ROOM) is None:
                return
            self._reserved += 1

    def _room_returned(self) -> None:
        """A putter handed room left without using it.  Called with ``_mutex`` held."""
        self._reserved -= 1
        if not self._shutdown:
            self._wake_putters()

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
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        mutex = self._mutex
        mutex.acquire()
        try:
            if self._items:
                item = self._pop()
                if self._nput:
                    self._wake_putters()
                return item
            if self._shutdown:
                raise ShutDown(f"{self._brief()} was shut down and is empty")
            if not block or timeout == 0:
                raise Empty(f"{self._brief()} is empty")
            link = self._enqueue_waiter()
            self._nget += 1
        finally:
            mutex.release()
        try:
            value = self._park(link, timeout)
        finally:
            with self._mutex:
                self._nget -= 1
        if value is TIMED_OUT:
            raise Empty(f"{self._brief()} stayed empty for {timeout} seconds")
        if value is SHUT:
            raise ShutDown(f"{self._brief()} was shut down while a get waited")
        if value is TIMED_OUT_ITEM:
            return TIMED_OUT  # type: ignore[no-any-return]
        return value  # type: ignore[no-any-return]

    def get_nowait(self) -> T:
        """Remove and return the next item without waiting.

        Raises:
            Empty: the queue is empty.
            ShutDown: the queue was shut down and is empty.
        """
        mutex = self._mutex
        mutex.acquire()
        try:
            if self._items:
                item = self._pop()
                if self._nput:
                    self._wake_putters()
                return item
            if self._shutdown:
                raise ShutDown(f"{self._brief()} was shut down and is empty")
            raise Empty(f"{self._brief()} is empty")
        finally:
            mutex.release()

    def _reclaim(self, value: Any) -> None:
        """Take back an item handed to a getter that left before it ran.  Hold ``_mutex``."""
        if value is SHUT:
            return
        if self._handoff(value) is not None:
            return
        if self._drop:
            self._tasks_gone(1)
            return
        if value is TIMED_OUT_ITEM:
            value = TIMED_OUT
        try:
            self._unpop(value)
        except BaseException:
            # Only a PriorityQueue's can fail: an item handed straight to a getter was never
            # compared with the items put since.  It cannot go back; say so, loudly, in the
            # greenlet that left, and keep the queue and its task count consistent.
            self._push_failed(value)
            self._tasks_gone(1)
            raise
        self._notify()

    def _push_failed(self, item: Any) -> None:
        """Undo a ``_push``/``_unpop`` of ``item`` that raised.  Hold ``_mutex``.

        Appending to a deque cannot fail, so this does nothing; :class:`PriorityQueue`
        overrides it.
        """

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
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        mutex = self._mutex
        mutex.acquire()
        try:
            if self._items:
                return self._front()
            if self._shutdown:
                raise ShutDown(f"{self._brief()} was shut down and is empty")
            if not block or timeout == 0:
                raise Empty(f"{self._brief()} is empty")
            self._listened = True
            link = self._enqueue_listener()
        finally:
            mutex.release()
        hub = get_hub()
        deadline = None if timeout is None else hub.time() + timeout
        while True:
            if self._park(link, timeout) is TIMED_OUT:
                raise Empty(f"{self._brief()} stayed empty for {timeout} seconds")
            with self._mutex:
                if self._items:
                    return self._front()
                if self._shutdown:
                    raise ShutDown(f"{self._brief()} was shut down and is empty")
                if deadline is not None:
                    timeout = deadline - hub.time()
                    if timeout <= 0.0:
                        raise Empty(f"{self._brief()} stayed empty")
                link = self._enqueue_listener()

    def peek_nowait(self) -> T:
        """Return the next item without removing it or waiting.

        Raises:
            Empty: the queue is empty.
            ShutDown: the queue was shut down and is empty.
        """
        mutex = self._mutex
        mutex.acquire()
        try:
            if self._items:
                return self._front()
            if self._shutdown:
                raise ShutDown(f"{self._brief()} was shut down and is empty")
            raise Empty(f"{self._brief()} is empty")
        finally:
            mutex.release()

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
        with self._mutex:
            self._shutdown = True
            if immediate:
                self._drop = True
                count = len(self._items)
                if count:
                    self._items.clear()
                    self._tasks_gone(count)
            putters = self._putters
            if putters is not None:
                while putters._handoff(SHUT) is not None:
                    pass
            if not self._items:
                while self._handoff(SHUT) is not None:
                    pass
            self._notify()

    def _tasks_gone(self, count: int) -> None:
        """Account ``count`` tasks that will never be marked done.  Hold ``_mutex``."""
        unfinished = self._unfinished - count
        self._unfinished = unfinished if unfinished > 0 else 0
        if self._unfinished == 0 and self._joiners is not None:
            self._joiners._notify()

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


class Queue(SimpleQueue[T]):
    """A FIFO queue between greenlets with task tracking: :meth:`task_done` and :meth:`join`.

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

    _show_tasks = True

    @property
    def unfinished_tasks(self) -> int:
        """How many items were put and not yet marked done with :meth:`task_done`."""
        return self._unfinished

    def task_done(self) -> None:
        """Mark one item got from the queue as processed.

        When the count of unfinished tasks reaches zero, every greenlet in :meth:`join` wakes.

        Raises:
            ValueError: called more times than items were put.
        """
        mutex = self._mutex
        mutex.acquire()
        try:
            unfinished = self._unfinished
            if unfinished <= 0:
                raise ValueError(
                    f"task_done() called more times than items were put into {self._brief()}"
                )
            self._unfinished = unfinished - 1
            if unfinished == 1 and self._joiners is not None:
                self._joiners._notify()
        finally:
            mutex.release()

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
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        with self._mutex:
            if self._unfinished == 0:
                return True
            if timeout == 0:
                return False
            joiners = self._joiners
            if joiners is None:
                joiners = self._joiners = _JoinLine(self)
            link = joiners._enqueue_listener()
        return joiners._park(link, timeout) is not TIMED_OUT


class LifoQueue(Queue[T]):
    """A last-in, first-out :class:`Queue`: :meth:`get` returns the newest item."""

    __slots__ = ()

    def _init_buffer(self) -> None:
        items: deque[T] = deque()
        self._items = items
        self._push = items.append
        self._pop = items.pop
        self._front = lambda: items[-1]
        self._unpop = items.append


class PriorityQueue(Queue[T]):
    """A :class:`Queue` that returns the lowest item first (a heap, as ``heapq`` orders it).

    Items must be comparable with each other; ``(priority, data)`` tuples are the usual form.
    Items of equal priority come out in no particular order.
    """

    __slots__ = ()

    def _init_buffer(self) -> None:
        items: list[Any] = []
        self._items = items
        self._push = self._unpop = partial(heappush, items)
        self._pop = partial(heappop, items)
        self._front = lambda: items[0]

    def _push_failed(self, item: Any) -> None:
        """Take ``item`` out of the heap after ``heappush`` raised comparing it.

        ``heappush`` appends the item and swaps it up towards the root one parent at a time,
        so when a comparison raises it sits somewhere on the path from the last slot to the
        root, and every parent it passed has moved down one step along that path.  Moving
        those back up and dropping the last slot restores the heap exactly as it was, with no
        comparison at all.
        """
        items = cast("list[Any]", self._items)
        pos = len(items) - 1
        if pos < 0:
            return
        path = [pos]
        while items[pos] is not item:
            if pos == 0:
                return  # not in the heap: nothing was changed
            pos = (pos - 1) >> 1
            path.append(pos)
        for j in range(len(path) - 1, 0, -1):
            items[path[j]] = items[path[j - 1]]
        items.pop()


#: eventlet's name for :class:`SimpleQueue`.
LightQueue = SimpleQueue
#: gevent's name for :class:`Queue`.
JoinableQueue = Queue
