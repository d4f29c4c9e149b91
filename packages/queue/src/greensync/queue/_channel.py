"""Channel: a queue of capacity zero, where a put waits for a getter.

Getters wait in the channel's own line (takers; ``rawlink`` and ``iwait`` are its listeners).
A putter that finds no getter *offers* its item and waits until a getter takes it:

* A put that finds a parked getter hands the item to it and returns: the item is reserved for
  that getter, which runs on its hub's (or loop's) next turn.
* Otherwise the putter parks in a line of its own and, once in it (the line's ``retry``),
  publishes an offer -- its item and its line -- at the back of the channel's offers, under
  the getters' mutex.  So a getter either sees the offer or is seen by the putter, who then
  hands it the item instead.
* A get (``get_nowait`` too) takes the first offer and hands its putter ``TAKEN``, under that
  putter's line mutex: if the putter left meanwhile (its timeout, an exception, a cancelled
  task) the hand-off fails, the item is *not* taken, and the get tries the next offer.  So a
  put that raised ``Full`` never delivered its item, and a put that returned delivered it
  exactly once.  An exception thrown into a putter after a getter took its item (a kill, an
  outer ``Timeout``, a cancellation in the same turn) is raised although the item was
  delivered -- gevent's semantics, the price of a ``get_nowait`` that takes from a waiting
  putter, which is what makes :meth:`Channel.ready` and :meth:`Channel.get_nowait` agree.
* An item handed to a getter that leaves before it runs goes to the next getter; if none
  waits, the channel holds it (``_held``) and the next get returns it first.  So a channel
  can hold items after all, but only ones a put already delivered.

An item that *is* the hub's ``TIMED_OUT`` or ``NOTHING`` marker travels boxed on the paths
through a wait line.  A put or get that does not wait and finds nobody on the other side
takes no lock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import Any, Generic, TypeVar, final

from greensync.hub import NOTHING, TIMED_OUT, Linkable, WaitLine, check_timeout

from ._common import GIVEN, TAKEN, Empty, Full, GetLine, box, unbox

__all__ = ["Channel"]

T = TypeVar("T")


class _Offer:
    """A parked putter's item and the line it waits in (compared by identity)."""

    __slots__ = ("item", "line")

    def __init__(self, item: Any, line: WaitLine) -> None:
        self.item = item
        self.line = line


@final
class Channel(Linkable, Generic[T]):
    """A rendezvous: :meth:`put` waits until a getter takes the item.

    A channel stores nothing: each item goes from a putter to a getter.  Putters and getters
    -- greenlets on any hub, asyncio tasks on any loop, plain threads -- are each served in
    the order they started waiting.  :meth:`put` returns once its item was handed to a getter
    (reserved for it: that getter runs on its next turn, and if it leaves first the item goes
    to the next getter, never back to nowhere).  A put that raised :class:`Full` never
    delivered its item.

    A channel is linkable: it is :meth:`ready` when a putter waits (or a delivered item is
    held), and then :meth:`get_nowait` takes that putter's item, as in gevent: ``iwait`` and
    ``get_nowait`` agree.  Iterating (``for``, ``async for``) gets items until the item got is
    the class ``StopIteration``.  Not meant for subclassing.
    """

    __slots__ = ("_held", "_offers")

    def __init__(self) -> None:
        super().__init__()
        # Both made on first need, under the getters' line mutex.
        self._held: deque[T] | None = None  # delivered items whose getter left
        self._offers: deque[_Offer] | None = None  # parked putters, in the order they came

    def make_waitline(self) -> WaitLine:
        return GetLine(self)

    def __repr__(self) -> str:
        held = f" held={len(self._held)}" if self._held else ""
        return f"<Channel getting={self._getting()} putting={self._putting()}{held}>"

    def _brief(self) -> str:
        """The repr without the waiter counts, for error messages."""
        return f"<Channel held={len(self._held)}>" if self._held else "<Channel>"

    # -- inspection -------------------------------------------------------------------------

    def ready(self) -> bool:
        """Return True if a get would not wait: a putter waits, or a delivered item is held."""
        return bool(self._held) or bool(self._offers)

    def _getting(self) -> int:
        line = self.waitline
        return line.takers() if line is not None else 0

    def _putting(self) -> int:
        offers = self._offers
        if not offers:
            return 0
        # A putter whose timeout expired stays in the offers until it runs; its line no
        # longer counts it.
        try:
            return sum(1 for offer in list(offers) if offer.line.takers())
        except RuntimeError:  # changed while we copied it (a repr, without the mutex)
            return len(offers)

    def getting(self) -> int:
        """Return how many waiters (greenlets, tasks, threads) are parked in :meth:`get`."""
        line = self.waitline
        if line is None:
            return 0
        with line.mutex:
            return line.takers()

    def putting(self) -> int:
        """Return how many waiters are blocked in :meth:`put` whose item is not taken yet."""
        line = self.waitline
        if line is None:
            return 0
        with line.mutex:
            return self._putting()

    @property
    def balance(self) -> int:
        """``putting() - getting()``: positive when putters wait, negative when getters do."""
        line = self.waitline
        if line is None:
            return 0
        with line.mutex:
            return self._putting() - line.takers()

    def qsize(self) -> int:
        """Return 0, or how many delivered items wait for a new getter (see the class notes)."""
        held = self._held
        return len(held) if held else 0

    def empty(self) -> bool:
        """Return True if a get would wait: no putter waits and no delivered item is held."""
        return not self.ready()

    def full(self) -> bool:
        """Return True if a put would wait: no getter is waiting to take an item now."""
        line = self.waitline
        return not (line and line.takers())

    # -- put --------------------------------------------------------------------------------

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
            RuntimeError: called from a coroutine on a running asyncio loop (use
                :meth:`async_put`).
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        if self._give(item):
            return
        if not block or timeout == 0:
            raise Full(f"no getter is waiting on {self._brief()}")
        offer = _Offer(item, WaitLine(self))
        try:
            value = offer.line.park(timeout, partial(self._publish, offer))
        except BaseException:
            self._withdraw(offer)
            raise
        self._put_done(offer, value, timeout)

    def put_nowait(self, item: T) -> None:
        """Give ``item`` to a waiting getter without waiting.

        Raises:
            Full: no getter is waiting.
        """
        if not self._give(item):
            raise Full(f"no getter is waiting on {self._brief()}")

    async def async_put(self, item: T, timeout: float | None = None) -> None:
        """Give ``item`` to a getter from an asyncio task, waiting until one takes it.

        Raises:
            Full: no getter took the item within ``timeout`` (0 never waits).
            TypeError, ValueError: ``timeout`` is not a non-negative number or None.
        """
        timeout = check_timeout(timeout)
        if self._give(item):
            return
        if timeout == 0:
            raise Full(f"no getter is waiting on {self._brief()}")
        offer = _Offer(item, WaitLine(self))
        try:
            value = await offer.line.async_park(timeout, partial(self._publish, offer))
        except BaseException:
            self._withdraw(offer)
            raise
        self._put_done(offer, value, timeout)

    def _give(self, item: T) -> bool:
        """Hand ``item`` to the first parked getter, if there is one."""
        line = self.waitline
        if not line:
            return False
        with line.mutex:
            if line.takers():
                return line.handoff(box(item))
            if line and not line.listeners():
                line.handoff(None)  # only records of getters that left: drop them
        return False

    def _publish(self, offer: _Offer) -> Any:
        """A putter's retry, once in its own line: give to a getter, or publish the offer."""
        line = self.get_waitline()
        with line.mutex:
            if line.takers() and line.handoff(box(offer.item)):
                return GIVEN
            offers = self._offers
            if offers is None:
                offers = self._offers = deque()
            offers.append(offer)
            line.notify()  # ready now: rawlink, iwait
        return NOTHING

    def _withdraw(self, offer: _Offer) -> None:
        """A putter leaves: take its offer back, if no getter took it (or tried to)."""
        offers = self._offers
        if not offers:
            return
        with self.get_waitline().mutex:
            try:
                offers.remove(offer)
            except ValueError:
                pass

    def _put_done(self, offer: _Offer, value: Any, timeout: float | None) -> None:
        if value is TAKEN or value is GIVEN:
            return
        self._withdraw(offer)  # timed out: a getter that finds the offer now passes it over
        raise Full(f"no getter took the item from {self._brief()} in {timeout} seconds")

    # -- get --------------------------------------------------------------------------------

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        """Take an item from a waiting putter, or wait for one.

        Args:
            block: If False, never wait: raise :class:`Empty` unless a putter waits.
            timeout: The most seconds to wait; None waits as long as it takes.  0 is the same
                as ``block=False``.

        Returns:
            The item.

        Raises:
            Empty: no item, and ``block`` is False or ``timeout`` passed.
            TypeError, ValueError: ``timeout`` is not a non-negative number or None.
            RuntimeError: called from a coroutine on a running asyncio loop (use
                :meth:`async_get`).
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        value = self._take()
        if value is NOTHING:
            if not block or timeout == 0:
                raise Empty(f"no item is ready on {self._brief()}")
            value = self.get_waitline().park(timeout, self._take)
        return self._got(value, timeout)

    def get_nowait(self) -> T:
        """Take an item from a waiting putter (or a held one) without waiting.

        The putter's :meth:`put` then returns.

        Raises:
            Empty: no putter waits and no item is held.
        """
        value = self._take()
        if value is NOTHING:
            raise Empty(f"no item is ready on {self._brief()}")
        return unbox(value)  # type: ignore[no-any-return]

    async def async_get(self, timeout: float | None = None) -> T:
        """Take an item from a waiting putter, or wait for one, from an asyncio task.

        A task cancelled after it was handed an item gives it to the next getter (or the
        channel holds it for the next get).

        Raises:
            Empty: no item within ``timeout`` (0 never waits).
            TypeError, ValueError: ``timeout`` is not a non-negative number or None.
        """
        timeout = check_timeout(timeout)
        value = self._take()
        if value is NOTHING:
            if timeout == 0:
                raise Empty(f"no item is ready on {self._brief()}")
            value = await self.get_waitline().async_park(timeout, self._take)
        return self._got(value, timeout)

    def _take(self) -> Any:
        """Take a held item or the first live offer (boxed); ``NOTHING`` if there is none.

        Also a parked getter's retry: it must not raise.
        """
        held = self._held
        if held:
            try:
                return box(held.popleft())
            except IndexError:
                pass
        offers = self._offers
        if not offers:
            return NOTHING
        with self.get_waitline().mutex:
            while offers:
                offer = offers.popleft()
                line = offer.line
                with line.mutex:
                    taken = line.handoff(TAKEN)
                if taken:
                    return box(offer.item)
                # Its putter left (timed out, killed, cancelled): its item stays undelivered.
        return NOTHING

    def _got(self, value: Any, timeout: float | None) -> T:
        if value is TIMED_OUT:
            raise Empty(f"no putter came to {self._brief()} in {timeout} seconds")
        return unbox(value)  # type: ignore[no-any-return]

    def _getter_left(self, line: GetLine, value: Any) -> None:
        """An item handed to a getter that left passes on.  Called with its mutex held."""
        if line.handoff(value):
            return
        held = self._held
        if held is None:
            held = self._held = deque()
        held.appendleft(unbox(value))
        line.notify()

    # -- iteration --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        """Return the next item (blocking); stop when the item is the class ``StopIteration``."""
        item = self.get()
        if item is StopIteration:
            raise StopIteration
        return item

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        """Return the next item (waiting); stop when the item is the class ``StopIteration``."""
        item = await self.async_get()
        if item is StopIteration:
            raise StopAsyncIteration
        return item
