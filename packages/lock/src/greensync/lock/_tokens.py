"""Permits as tokens in a list, and the wait line that hands them out.

Why it looks like this
----------------------
An uncontended acquire or release must take no mutex and call nothing in the hub (DESIGN
rule 10).  So a primitive's free units -- the permits of a semaphore, the one token of a lock
-- are tokens in a plain ``list``: acquiring is one ``list.pop()`` and releasing one
``list.append()``, each a single C call, atomic on its own under the GIL and under the
per-object locks of free-threaded CPython.  A token is an int: how many units it stands for.
Small counts are held one unit per token; a large count keeps a single *bundle* at the bottom
of the list (``Semaphore(10**9)`` must not cost a billion list slots), which a taker splits by
putting back what it does not need.

Who waits is the business of a :class:`TokenLine`, the primitive's
:class:`~greensync.hub.WaitLine`: it knows the token list (never the primitive: the line holds
its owner weakly) and, under its mutex, hands tokens to takers (:meth:`TokenLine.serve`) and
takes back what a leaver had been handed (:meth:`TokenLine.give_back`).  The rules every user
of a token list follows:

* a taker tests ``if tokens:`` before ``tokens.pop()`` (a raised ``IndexError`` costs more than
  the whole fast path) and, if it finds none, parks with a ``retry`` that tries once more after
  joining the line -- so a token put back a moment earlier is found, never lost;
* a giver first looks at the line: if anyone may wait, it hands its token over under the mutex
  (reserved for the first taker: the giver cannot barge back in ahead of it); otherwise it
  appends the token and then looks at the line *again*, serving whoever joined meanwhile;
* a taker that splits a bundle puts the rest back, which is a give like any other.

Rejected: a counter guarded by a mutex (the round trip doubled the cost of ``with sem:``); a
``deque`` (the list's ``pop``/``append`` are as atomic and a list is smaller); one token per
unit always (a large semaphore would cost its count in memory).
"""

from __future__ import annotations

from typing import Any

from greensync.hub import NOTHING, WaitLine

__all__ = ["SINGLES", "Line", "TokenLine", "fill", "put", "take"]

#: Up to this many units are held one per token; above, the rest is one bundle at the bottom.
SINGLES = 64


def fill(n: int) -> list[int]:
    """Return a token list holding ``n`` units."""
    if n <= SINGLES:
        return [1] * n
    return [n - SINGLES + 1] + [1] * (SINGLES - 1)


def put(tokens: list[int], n: int) -> None:
    """Add ``n`` units to ``tokens`` (as single tokens, or one bundle for many)."""
    if n <= SINGLES:
        tokens.extend([1] * n)
    else:
        tokens.append(n)


class Line(WaitLine):
    """A :class:`~greensync.hub.WaitLine` of this package, which can count its waiters.

    ``linkcount()`` (takers and listeners, every kind) makes a private line of a
    :class:`~greensync.lock.Condition` or :class:`~greensync.lock.Barrier` as easy to inspect
    as a linkable; ``repr`` names its owner.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<line of {self.owner!r}>"

    def linkcount(self) -> int:
        """Return how many takers and listeners wait (a snapshot without the mutex)."""
        return self.takers() + self.listeners()


class TokenLine(Line):
    """The wait line of a token list: hands its tokens to takers, one unit each.

    Hold :attr:`mutex` around :meth:`serve` and :meth:`give_back` (the WaitLine rules).
    """

    __slots__ = ("tokens",)

    def __init__(self, owner: object, tokens: list[int]) -> None:
        super().__init__(owner)
        #: The primitive's free units (shared with it, never copied).
        self.tokens = tokens

    def serve(self) -> None:
        """Hand free units to waiting takers, first come first served; wake the listeners.

        Called (mutex held) by whoever put units in the list and then found the line busy.
        """
        tokens = self.tokens
        while tokens and self.takers():
            if take(tokens) is NOTHING:
                break
            if not self.handoff(1):
                tokens.append(1)
                break
        if tokens and self.listeners():
            self.notify()

    def give_back(self, value: Any) -> None:
        """A unit handed to a taker that left: the next taker gets it, or the list."""
        if not self.handoff(value):
            self.tokens.append(value)
            if self.listeners():
                self.notify()

    def put(self, n: int) -> None:
        """Give ``n`` units: hand them to waiting takers, the rest to the list.  Hold the mutex."""
        while n and self.handoff(1):
            n -= 1
        if n:
            put(self.tokens, n)
            if self.listeners():
                self.notify()


def take(tokens: list[int]) -> Any:
    """Take one unit from ``tokens`` without waiting: return 1, or NOTHING if there is none.

    A bundle is split and its rest put back: a give, so a caller that does not hold the
    line's mutex must serve the line afterwards if it is busy (:meth:`TokenLine.serve` loops
    on its own).
    """
    if tokens:
        try:
            k = tokens.pop()
        except IndexError:
            return NOTHING
        if k != 1:
            tokens.append(k - 1)
        return 1
    return NOTHING
