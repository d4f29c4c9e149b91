"""Channel: a queue of capacity zero, where a put waits for a getter.

The same two lines as the queues (getters in the channel's own hand-off line, putters in a
``_PutLine``), with "room" meaning *a getter is waiting for your item*:

* A put that finds a waiting getter hands the item to it and returns: the item is reserved for
  that getter, which runs on its hub's next turn.
* A get that finds parked putters parks too, and hands the first putter room (``_reserved``
  counts these claims).  That putter, when it runs, hands its own item to the first waiting
  getter and returns.  A getter never takes an item out of a parked putter's hands, so a put
  that raised (timeout, kill, outer exception) never delivered its item, and a put that
  returned delivered it exactly once.
* A claim handed to a putter that leaves first passes to the next putter.  If the getter behind
  a claim leaves first, the putter finds nobody to give its item to and parks again.
* An item handed to a getter that leaves before it runs goes to the next getter; if none waits,
  the channel holds it (``_held``) and the next get returns it at once.  So a channel can hold
  items after all, but only ones a put already delivered.

An item that *is* the hub's ``TIMED_OUT`` marker travels boxed (``TIMED_OUT_ITEM``) on the
hand-off path, so a getter never mistakes it for its own timeout.  The four hot methods take
the mutex with ``acquire()``/``try``/``finally`` rather than ``with`` (cheaper on CPython 3.11).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from greensync.hub import TIMED_OUT, Linkable, check_timeout, get_hub

from ._common import ROOM, TIMED_OUT_ITEM, Empty, Full, _PutLine, waiter_count

__all__ = ["Channel"]

T = TypeVar("T")


class Channel(Linkable, Generic[T]):
    """A rendezvous between greenlets: :meth:`put` waits until a getter takes the item.

    A channel stores nothing: each item goes from a putter to a getter.  Putters and getters
    are each served in the order they started waiting.  :meth:`put` returns once its item has
    been handed to a getter (reserved for it: that getter runs on its hub's next turn, and if
    it leaves first the item goes to the next getter, never back to nowhere).  A put that
    raises never delivered its item.

    Because a parked putter hands over its item itself when it runs, :meth:`get_nowait` (and
    ``get(block=False)``) succeeds only when an item is ready without waiting -- in practice,
    almost never; a getter that finds putters parked waits one hub turn for the first of them.

    A channel is linkable: it is :meth:`ready` when a putter is waiting for a getter, so
    ``iwait``/``wait`` report it then.  Iterating calls :meth:`get` until the item got is the
    class ``StopIteration``.  Safe to share between OS threads.  Not meant for subclassing.
    """

    __slots__ = ("_held", "_parked", "_putters", "_reserved")

    def __init__(self) -> None:
        super().__init__()
        self._held: deque[T] = deque()  # delivered items whose getter left; handed out first
        self._putters: _PutLine | None = None
        self._reserved = 0  # putters told that a getter waits for them, not run yet
        self._parked = 0  # putters parked in put() and not resumed yet (for ready())

    def __repr__(self) -> str:
        putters = self._putters
        putting = (waiter_count(putters) if putters is not None else 0) + self._reserved
        held = f" held={len(self._held)}" if self._held else ""
        return f"<Channel getting={waiter_count(self)} putting={putting}{held}>"

    def _brief(self) -> str:
        """The repr without the waiter counts (which cost O(waiters)), for error messages."""
        return f"<Channel held={len(self._held)}>" if self._held else "<Channel>"

    # -- inspection -------------------------------------------------------------------------

    def ready(self) -> bool:
        """Return True if a putter waits for a getter (or a delivered item is held)."""
        return bool(self._held) or self._parked > self._reserved

    def getting(self) -> int:
        """Return how many greenlets are parked in :meth:`get` waiting for an item."""
        with self._mutex:
            return self._waiter_count()

    def putting(self) -> int:
        """Return how many greenlets are blocked in :meth:`put` whose item is not taken yet."""
        with self._mutex:
            return self._putting()

    def _putting(self) -> int:
        putters = self._putters
        return (putters._waiter_count() if putters is not None else 0) + self._reserved

    @property
    def balance(self) -> int:
        """``putting() - getting()``: positive when putters wait, negative when getters do."""
        with self._mutex:
            return self._putting() - self._waiter_count()

    def qsize(self) -> int:
        """Return 0, or how many delivered items wait for a new getter (see the class notes)."""
        return len(self._held)

    def empty(self) -> bool:
        """Return True if no delivered item is held, so a get would wait."""
        return not self._held

    def full(self) -> bool:
        """Return True unless a getter is waiting to take an item now, so a put would wait."""
        with self._mutex:
            return not self._waiter_count() > self._reserved

    # -- put --------------------------------------------------------------------------------

    def _give(self, item: T) -> bool:
        """Hand ``item`` to a waiting getter not claimed by a putter.  Hold ``_mutex``."""
        reserved = self._reserved
        if reserved and self._waiter_count() <= reserved:
            return False
        return self._handoff(TIMED_OUT_ITEM if item is TIMED_OUT else item) is not None

    def put(self, item: T, block: bool = True, timeout: float | None = None) -> None:
        """Give ``item`` to a getter, waiting until one takes it.

        Args:
            item: What to send.
            block: If False, never wait: raise :class:`Full` unless a getter is waiting.
            timeout: The most seconds to wait for a getter; None waits as long as it takes.
                0 is the same as ``block=False``.

        Raises:
            Full: no getter took the item, and ``block`` is False or ``timeout`` passed.
            TypeError, ValueError: ``timeout`` is not a non-negative number or None.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        mutex = self._mutex
        mutex.acquire()  # not `with`: this is the hot path, and try/finally costs less
        try:
            if self._give(item):
                return
            if not block or timeout == 0:
                raise Full(f"no getter is waiting on {self._brief()}")
            putters = self._putters
            if putters is None:
                putters = self._putters = _PutLine(self)
            link = putters._enqueue_waiter()
            self._parked += 1
            self._notify()
        finally:
            mutex.release()
        hub = get_hub()
        deadline = None if timeout is None else hub.time() + timeout
        while True:
            try:
                value = putters._park(link, timeout)
            except BaseException:
                with self._mutex:
                    self._parked -= 1
                raise
            with self._mutex:
                self._parked -= 1
                if value is TIMED_OUT:
                    raise Full(f"no getter took the item from {self._brief()} in {timeout} seconds")
                self._reserved -= 1  # value is ROOM: a getter asked for our item
                if self._handoff(TIMED_OUT_ITEM if item is TIMED_OUT else item) is not None:
                    return
                # The getter that asked left before we ran: wait for the next one.
                if deadline is not None:
                    timeout = deadline - hub.time()
                    if timeout <= 0.0:
                        raise Full(f"no getter took the item from {self._brief()} in time")
                link = putters._enqueue_waiter()
                self._parked += 1
                self._notify()

    def put_nowait(self, item: T) -> None:
        """Give ``item`` to a waiting getter without waiting.

        Raises:
            Full: no getter is waiting.
        """
        mutex = self._mutex
        mutex.acquire()
        try:
            if self._give(item):
                return
        finally:
            mutex.release()
        raise Full(f"no getter is waiting on {self._brief()}")

    def _room_returned(self) -> None:
        """A putter asked for its item left first; ask the next one.  Hold ``_mutex``."""
        self._reserved -= 1
        putters = self._putters
        if (
            putters is not None
            and self._waiter_count() > self._reserved
            and putters._handoff(ROOM) is not None
        ):
            self._reserved += 1

    # -- get --------------------------------------------------------------------------------

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        """Wait for a putter and return its item.

        Args:
            block: If False, never wait: raise :class:`Empty` unless an item is ready now.
            timeout: The most seconds to wait; None waits as long as it takes.  0 is the same
                as ``block=False``.

        Returns:
            The item.

        Raises:
            Empty: no item, and ``block`` is False or ``timeout`` passed.
            TypeError, ValueError: ``timeout`` is not a non-negative number or None.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        mutex = self._mutex
        mutex.acquire()
        try:
            held = self._held
            if held:
                return held.popleft()
            if not block or timeout == 0:
                raise Empty(f"no item is ready on {self._brief()}")
            link = self._enqueue_waiter()
            putters = self._putters
            if (
                putters is not None
                and (not self._reserved or self._waiter_count() > self._reserved)
                and putters._handoff(ROOM) is not None
            ):
                self._reserved += 1
        finally:
            mutex.release()
        value = self._park(link, timeout)
        if value is TIMED_OUT:
            raise Empty(f"no putter came to {self._brief()} in {timeout} seconds")
        if value is TIMED_OUT_ITEM:
            return TIMED_OUT  # type: ignore[no-any-return]
        return value  # type: ignore[no-any-return]

    def get_nowait(self) -> T:
        """Return an item that is ready now, without waiting (see the class notes).

        Raises:
            Empty: no item is ready.
        """
        mutex = self._mutex
        mutex.acquire()
        try:
            held = self._held
            if held:
                return held.popleft()
        finally:
            mutex.release()
        raise Empty(f"no item is ready on {self._brief()}")

    def _reclaim(self, value: Any) -> None:
        """Take back an item handed to a getter that left first.  Hold ``_mutex``."""
        if self._handoff(value) is None:
            self._held.appendleft(TIMED_OUT if value is TIMED_OUT_ITEM else value)
            self._notify()

    # -- iteration --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        """Return the next item (blocking); stop when the item is the class ``StopIteration``."""
        item = self.get()
        if item is StopIteration:
            raise StopIteration
        return item
