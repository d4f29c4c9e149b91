"""The wait line: the one FIFO structure every greensync primitive parks on.

What it is
----------
A :class:`WaitLine` is a line of waiters, first come, first served, modelled on trio's
``ParkingLot``.  A primitive owns one (or several: a bounded queue has a line of getters and a
line of putters) and keeps only its *rules* -- when a caller must wait, whom a release wakes,
what happens to a value handed to a waiter that has gone.  Queueing, timeouts, cross-thread
wake-ups, asyncio tasks and clean-up live here, once.

Two kinds of waiter share a line, in arrival order:

* **takers** want to be *handed* something -- a permit, the lock, an item.  :meth:`handoff`
  gives a value to the first live taker and reserves it for that taker: it is stored in the
  taker's record before anyone runs, so the caller of ``release()`` cannot barge back in ahead
  of it.
* **listeners** wait for the object to become *ready* (``Event.wait``, ``Semaphore.wait``,
  ``rawlink`` callbacks).  :meth:`notify` wakes all of them at once and leaves the takers.

A waiter is a greenlet (:meth:`park`, :meth:`listen`), an asyncio task (:meth:`async_park`,
:meth:`async_listen`) or a callback (:meth:`link`), from any thread: each is woken through its
own hub or its own event loop.

Uncontended operations never come here
--------------------------------------
The line is a ``deque`` of records, and its truth value is the deque's, tested in C: a
primitive's fast path reads ``if self.waitline:`` and, when nobody may be waiting, touches
only its own state -- a ``list.pop()`` of a permit, a ``deque.append`` of an item -- each one
atomic on its own, with no mutex (DESIGN rule 10).  The line's mutex guards the records only.

The price is a rule for both sides, the one futexes and asyncio's semaphore (gh-90155) follow:

* a waiter joins the line first and only then tries the fast path once more (``retry`` in
  :meth:`park`, ``ready`` in :meth:`listen`) before it parks, so a release that found the line
  empty a moment earlier has already left its permit where the retry finds it;
* a releaser that changes the state checks the line *after* the change and serves whoever is
  there, under the mutex;
* a waiter that both got something on its retry and was handed something gives the handed
  value back (:meth:`give_back`), so nothing is counted twice.

Deferred, batched wake-ups
--------------------------
Handing or notifying never switches to anyone.  Under an adapter, a greenlet's record joins its
hub's wake batch, which one host callback drains on the host's next turn (posted at once, thread
safely, when the waker runs in another thread).  The built-in hub needs no batch: the record is
queued on its ready queue as the very switch a batch callback would make, so the greenlet runs
on the hub's next turn in the order it was handed to, one C call and no Python frame each.  An
asyncio task's future is resolved in its loop's thread (``call_soon_threadsafe`` from
elsewhere), which resumes the task on the loop's next step.

Leaving early
-------------
Every state change of a record happens under the mutex of the line it is in (see
``_records``), so a timeout that races a hand-off resolves to exactly one of them.  A waiter
that leaves -- its timeout, an exception thrown in (``Timeout``, a kill), a cancelled asyncio
task -- after it was handed a value gives it back through :meth:`give_back`, which by default
hands it to the next taker.  Records that leave are only marked; the line drops them lazily,
so removal is O(1) and a million timeouts leave nothing behind.  The line is never emptied
while a live waiter remains in it (records are rotated, not re-queued), so a fast path in
another thread never mistakes a busy line for an empty one.

Rejected: an ordered dict keyed by record (trio's; O(1) removal but a hash entry per waiter,
and no truth value that a fast path can test without a Python call); a line per kind of waiter
(every release would have to test two lines); waking by ``greenlet.throw`` on timeout (ten
times a switch); a line made eagerly with every primitive (a deque is 760 bytes: lines are
made on first need, so an uncontended ``Lock`` stays smaller than gevent's).
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable
from threading import Lock
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

from greenlet import getcurrent, greenlet

from ._current import _stale, get_hub
from ._loop import Hub, HubBase, _Throw, parks
from ._records import (
    CALL,
    DONE,
    HANDED,
    LINE,
    LISTENS,
    QUEUED,
    STATE,
    TIMER,
    VALUE,
    WAITING,
    WAKER,
    WHO,
    Record,
)
from ._state import _local

if TYPE_CHECKING:
    import asyncio

__all__ = ["NOTHING", "TIMED_OUT", "WaitLine"]

T = TypeVar("T")

_greenlet_switch = greenlet.switch
_get_ident = threading.get_ident


class _Marker:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:
        return self._name


#: Returned by :meth:`WaitLine.park` (and its asyncio twin) when the wait's own timeout expired.
TIMED_OUT: Any = _Marker("TIMED_OUT")
#: What a ``retry`` callable of :meth:`WaitLine.park` returns when it found nothing to take.
NOTHING: Any = _Marker("NOTHING")

#: Guards the first creation of a line that is made on first need (see :func:`lazy_waitline`).
_CREATE = Lock()


_weakref = weakref.ref


def _ref(owner: object) -> Callable[[], Any]:
    """A reference to an ``owner`` that cannot be weakly referenced (it then lives as long)."""
    return lambda: owner


class WaitLine(deque[Record]):
    """A FIFO line of waiters -- greenlets, asyncio tasks, callbacks -- for one primitive.

    A primitive parks its callers here and, when it can serve them, hands values to the first
    (:meth:`handoff`) or wakes the listeners (:meth:`notify`).  The documentation's guide
    "Building your own primitive on the wait line" gives the rules both sides follow, with
    worked examples; in short::

        # the waiting side (without the mutex)
        value = line.park(timeout, retry=try_take)      # join, try again, then park
        ready = line.listen(timeout, ready=is_ready)    # join, check again, then park

        # the serving side (with the mutex)
        with line.mutex:
            line.handoff(value)                          # to the first taker, reserved
            line.notify()                                # every listener

    The truth value of a line is true while any waiter may be in it (a record that left may
    still be counted until the line drops it); a fast path tests ``if line:`` -- in C, without
    the mutex.  ``len(line)`` counts records, dead ones included: use :meth:`takers` and
    :meth:`listeners` for who really waits.  A line is a ``deque`` only for that speed: its
    deque methods are not for use.  Lines compare by identity.

    Methods that park (:meth:`park`, :meth:`listen`, their ``async_`` twins) and
    :meth:`link`/:meth:`unlink` take the mutex themselves: call them without it.  Methods that
    hand out, move or count (:meth:`handoff`, :meth:`notify`, :meth:`move_to`, :meth:`takers`,
    :meth:`listeners`, :meth:`give_back`) must be called with :attr:`mutex` held (counts read
    without it are a snapshot).

    Args:
        owner: What the waiters wait on, for error messages, ``LoopExit`` and reprs, and what
            ``rawlink`` callbacks are called with.  Held weakly.
        mutex: A lock to share with another line (by default the line makes its own).

    Attributes:
        mutex: The ``threading.Lock`` that guards the records: hold it around
            :meth:`handoff`, :meth:`notify`, :meth:`move_to` and the counts, to make several
            steps one.  Lines that change together share one (``mutex=`` at creation).
    """

    __slots__ = ("_dead", "_nlisten", "_owner", "mutex")

    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__  # type: ignore[assignment]

    def __init__(self, owner: object = None, mutex: Lock | None = None) -> None:
        # deque.__init__ is not called: a new deque is already empty and unbounded, and a line
        # is made on the first wait of many primitives (a fresh AsyncResult per message).
        #: Guards the records; hold it around :meth:`handoff`, :meth:`notify` and friends.
        #: Lines that must change together (a primitive with two lines whose ``give_back``
        #: serves the other) share one by passing ``mutex=first.mutex``.
        self.mutex = Lock() if mutex is None else mutex
        self._dead = 0  # records still in the deque whose waiter has left
        self._nlisten = 0  # live listeners in the deque
        if owner is None:
            self._owner: Callable[[], Any] | None = None
        else:
            try:
                self._owner = _weakref(owner)
            except TypeError:
                self._owner = _ref(owner)

    def __repr__(self) -> str:
        return f"<WaitLine takers={self.takers()} listeners={self._nlisten}>"

    def __reduce__(self) -> Any:
        raise TypeError("a WaitLine cannot be pickled or copied: its waiters are live greenlets")

    __copy__ = copy = __reduce__

    @property
    def owner(self) -> Any:
        """What the waiters wait on (``None`` if it was not given, or is gone)."""
        ref = self._owner
        return None if ref is None else ref()

    # -- counting ---------------------------------------------------------------------------

    def takers(self) -> int:
        """Return how many takers wait (exact with :attr:`mutex` held)."""
        return len(self) - self._dead - self._nlisten

    def listeners(self) -> int:
        """Return how many listeners wait, callbacks included (exact with the mutex held)."""
        return self._nlisten

    # -- the waiting side -------------------------------------------------------------------

    @parks
    def park(self, timeout: float | None = None, retry: Callable[[], Any] | None = None) -> Any:
        """Wait as a taker until :meth:`handoff` gives this greenlet a value; return it.

        Call without holding the mutex.  After joining the line, ``retry()`` is called once
        (if given): it should try the primitive's fast path again and return what it took, or
        :data:`NOTHING`.  If it took something, the wait ends at once with that value (and a
        value handed meanwhile is given back).  ``timeout`` must already be checked (see
        :func:`~greensync.hub.check_timeout`); ``None`` waits for as long as it takes.

        Returns:
            The value handed to this waiter, what ``retry`` took, or :data:`TIMED_OUT`.

        Raises:
            RuntimeError: called inside the hub (a hub callback), or from a coroutine on a
                running asyncio loop (use :meth:`async_park` there).
            BaseException: whatever is thrown into the waiting greenlet (a ``Timeout``, a
                kill); anything it had been handed is given back first.
        """
        record = _join(self, False)
        if retry is not None:
            try:
                got = retry()
            except BaseException:
                _leave(record)
                raise
            if got is not NOTHING:
                _leave(record)
                return got
            retry = None  # a bound method, kept alive by this frame while parked otherwise
        # _wait(), inlined: a parked greenlet keeps one frame fewer (memory per waiter) and
        # every wait saves a call.
        hub: HubBase = record[WAKER]
        timer = None
        if timeout is not None:
            timer = record[TIMER] = hub.call_later(timeout, _expire, record)
        try:
            if hub.__class__ is Hub:
                result = _greenlet_switch(hub)  # Hub.switch inlined (_join checked)
                if result.__class__ is _Throw:
                    raise result.exc
            else:
                result = hub.switch(self.owner)
        except BaseException:
            _leave(record)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        record[STATE] = DONE  # woken: only this thread moves a handed record on
        return result

    @parks
    def listen(
        self, timeout: float | None = None, ready: Callable[[], object] | None = None
    ) -> bool:
        """Wait as a listener until :meth:`notify` is called; return False on timeout.

        Call without holding the mutex.  After joining the line, ``ready()`` is called once
        (if given): if it is true, the wait ends at once.

        Returns:
            True if notified (or ``ready()`` was true), False if ``timeout`` expired first.

        Raises:
            RuntimeError: as :meth:`park`.
        """
        record = _join(self, True)
        if ready is not None:
            try:
                now = ready()
            except BaseException:
                _leave(record)
                raise
            if now:
                _leave(record)
                return True
            ready = None  # a bound method, kept alive by this frame while parked otherwise
        # _wait(), inlined, as in park().
        hub: HubBase = record[WAKER]
        timer = None
        if timeout is not None:
            timer = record[TIMER] = hub.call_later(timeout, _expire, record)
        try:
            if hub.__class__ is Hub:
                result = _greenlet_switch(hub)
                if result.__class__ is _Throw:
                    raise result.exc
            else:
                result = hub.switch(self.owner)
        except BaseException:
            _leave(record)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        record[STATE] = DONE
        return result is not TIMED_OUT

    async def async_park(
        self, timeout: float | None = None, retry: Callable[[], Any] | None = None
    ) -> Any:
        """:meth:`park`, for an asyncio task: the task waits in the same line as greenlets.

        The task is woken through its own event loop, whichever thread hands it a value.  A
        task cancelled while it waits (directly, by ``asyncio.timeout``, by ``wait_for``)
        leaves like a timed-out greenlet, giving back whatever it had been handed, and the
        ``await`` raises ``CancelledError``.

        Raises:
            RuntimeError: no asyncio event loop is running in this thread.
        """
        record = _join_task(self, False)
        if retry is not None:
            try:
                got = retry()
            except BaseException:
                _leave(record)
                raise
            if got is not NOTHING:
                _leave(record)
                return got
            retry = None
        # The wait itself, in this coroutine (a nested one would cost its creation and a
        # frame per parked task).
        future = record[CALL]
        timer = None
        if timeout is not None:
            timer = record[TIMER] = record[WAKER].loop.call_later(timeout, _expire, record)
        try:
            value = await future
        except BaseException:
            _leave(record)  # cancelled: give back anything handed meanwhile
            raise
        finally:
            if timer is not None:
                timer.cancel()
        record[STATE] = DONE  # taken: only this thread moves a handed record on
        return value

    async def async_listen(
        self, timeout: float | None = None, ready: Callable[[], object] | None = None
    ) -> bool:
        """:meth:`listen`, for an asyncio task (see :meth:`async_park`)."""
        record = _join_task(self, True)
        if ready is not None:
            try:
                now = ready()
            except BaseException:
                _leave(record)
                raise
            if now:
                _leave(record)
                return True
            ready = None
        future = record[CALL]
        timer = None
        if timeout is not None:
            timer = record[TIMER] = record[WAKER].loop.call_later(timeout, _expire, record)
        try:
            value = await future
        except BaseException:
            _leave(record)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        record[STATE] = DONE
        return value is not TIMED_OUT

    def link(self, callback: Callable[[Any], object]) -> None:
        """Call ``callback(owner)`` in this thread's hub at the next :meth:`notify` (one-shot).

        Call without holding the mutex.  The callback is a listener like any other; it runs on
        a hub turn after the notify and must not block.

        Raises:
            TypeError: ``callback`` is not callable.
        """
        if not callable(callback):
            raise TypeError(
                f"`callback` must be callable, got {type(callback).__name__} {callback!r}"
            )
        record = [None, get_hub(), self, None, WAITING, callback, None, True]
        mutex = self.mutex
        mutex.acquire()
        self.append(record)
        self._nlisten += 1
        mutex.release()

    def unlink(self, callback: Callable[[Any], object]) -> None:
        """Remove every registration of ``callback`` made with :meth:`link`.

        A callback already due (notified) but not yet run is not called either, when it was
        registered in this thread.  Call without holding the mutex.
        """
        mutex = self.mutex
        mutex.acquire()
        try:
            gone = [
                record
                for record in self
                if record[STATE] == WAITING
                and record[WHO] is None
                and record[LISTENS]
                and _is_callback(record, callback)
            ]
            for record in gone:
                record[STATE] = DONE
                self._forget(record)
            hub = getattr(_local, "hub", None)
            if hub is not None:
                hub._cancel_due(self.owner, callback)
        finally:
            mutex.release()

    # -- the serving side (hold the mutex) --------------------------------------------------

    def handoff(self, value: Any) -> bool:
        """Give ``value`` to the first taker, reserved for it; return False if none waits.

        Hold :attr:`mutex`.  The taker runs on its hub's (or loop's) next turn; from this
        moment the value is its, and no one else -- the caller included -- can take it.
        Listeners are passed over and stay in the line.
        """
        while self:
            record = self[0]
            if record[STATE] != WAITING:
                self.popleft()
                self._dead -= 1
                continue
            if record[LISTENS]:
                taker = self._pop_taker_behind_listeners()
                if taker is None:
                    return False
                record = taker
            else:
                self.popleft()
            waker = record[WAKER]
            if waker.closed:
                # Its thread ended or its loop closed: nobody will ever run it.
                record[STATE] = DONE
                record[WHO] = None
                continue
            record[STATE] = HANDED
            record[VALUE] = value
            waker._wake(record)
            return True
        return False

    def notify(self) -> int:
        """Wake every listener (greenlets, tasks, callbacks); return how many.  Hold the mutex.

        Takers stay in the line, in their order.
        """
        if not self._nlisten:
            return 0
        woken = 0
        ident = _get_ident()
        fast: HubBase | None = None  # this thread's built-in hub, once met
        ready_append: Callable[[list[Any]], object] | None = None
        popleft = self.popleft
        # The usual case: nobody but listeners waits (a primitive becomes ready when no taker
        # waits for it), so every record leaves the line and none needs looking at twice.
        only_listeners = len(self) - self._dead == self._nlisten
        for _ in range(len(self)):
            if only_listeners:
                record = popleft()
                if record[STATE] != WAITING:
                    continue
            else:
                record = self[0]
                if record[STATE] != WAITING:
                    popleft()
                    self._dead -= 1
                    continue
                if not record[LISTENS]:
                    self.rotate(-1)  # a taker: keep it, in order, never emptying the line
                    continue
                popleft()
            waker = record[WAKER]
            glet = record[WHO]
            if glet is not None and waker is fast:
                # A greenlet of this thread's built-in hub (most listeners): queue its switch
                # straight onto the ready queue, as Hub._wake would, without the call.
                record[STATE] = HANDED
                record[VALUE] = True
                item = record[QUEUED] = [_greenlet_switch, (glet, True)]
                ready_append(item)  # type: ignore[misc]
                woken += 1
                continue
            if waker.closed:
                record[STATE] = DONE
                record[WHO] = None
                continue
            record[STATE] = HANDED
            record[VALUE] = True
            woken += 1
            if (
                glet is not None
                and fast is None
                and waker.__class__ is Hub
                and waker._thread_ident == ident
            ):
                fast = waker
                ready_append = waker._ready.append
                item = record[QUEUED] = [_greenlet_switch, (glet, True)]
                ready_append(item)
                continue
            waker._wake(record)
        if only_listeners:
            self._dead = 0
        self._nlisten = 0
        return woken

    def move_to(self, target: WaitLine, n: int) -> int:
        """Move up to ``n`` takers, in order, to the back of ``target``; return how many.

        Hold both mutexes (this line's first).  The moved waiters now wait in ``target`` with
        no time limit -- their own timeouts are disarmed -- and are handed what ``target``
        hands out (``Condition.notify`` moves waiters onto its lock's line this way, so a
        notified waiter wakes once, holding the lock).
        """
        moved = 0
        while moved < n:
            record = self._pop_taker()
            if record is None:
                break
            record[LINE] = target
            record[TIMER] = None
            target.append(record)
            moved += 1
        return moved

    def give_back(self, value: Any) -> None:
        """Take back ``value``, handed to a taker that left before it took it.  Hold the mutex.

        Called in the thread of the waiter that left.  The default hands it to the next taker
        and drops it if there is none; a primitive whose values must not be lost (permits,
        items, the lock) overrides it in a subclass to put the value back.
        """
        self.handoff(value)

    # -- internals --------------------------------------------------------------------------

    def _pop_taker(self) -> Record | None:
        """Remove and return the first live taker, dropping dead records in front of it."""
        while self:
            record = self[0]
            if record[STATE] != WAITING:
                self.popleft()
                self._dead -= 1
                continue
            if not record[LISTENS]:
                return self.popleft()
            return self._pop_taker_behind_listeners()
        return None

    def _pop_taker_behind_listeners(self) -> Record | None:
        # Rare: listeners wait in front.  Take the taker out from behind them without moving
        # them, so the line never looks empty to a fast path while they wait.
        for index, record in enumerate(self):
            if record[STATE] == WAITING and not record[LISTENS]:
                del self[index]
                return record
        return None

    def _forget(self, record: Record) -> None:
        """Drop ``record`` (just marked DONE, still in the deque), or count it as dead.

        Hold the mutex.  A record at either end (the newest: a retry that succeeded, a zero
        timeout; the oldest: timeouts expiring in order) leaves at once; one in the middle is
        counted and dropped lazily, the line being compacted when the dead outnumber the live.
        """
        if record[LISTENS]:
            self._nlisten -= 1
        record[CALL] = None
        record[TIMER] = None
        if self[-1] is record:
            self.pop()
            return
        if self[0] is record:
            self.popleft()
            return
        self._dead = dead = self._dead + 1
        if dead > 32 and dead * 2 > len(self):
            for _ in range(len(self)):
                if self[0][STATE] != WAITING:
                    self.popleft()
                else:
                    self.rotate(-1)
            self._dead = 0


def _is_callback(record: Record, callback: object) -> bool:
    call = record[CALL]
    return call is callback or bool(call == callback)


# -- leaving, expiring, waiting (module functions: one fewer lookup on the hot paths) --------


def _leave(record: Record) -> int:
    """The waiter of ``record`` leaves (exception, withdrawal): give back what it was handed.

    Returns the state the record was in.
    """
    while True:
        line: WaitLine = record[LINE]
        mutex = line.mutex
        mutex.acquire()
        try:
            if record[LINE] is not line:
                continue  # moved to another line while we looked: lock that one
            state: int = record[STATE]
            record[STATE] = DONE
            record[WHO] = None
            if state == WAITING:
                line._forget(record)
            elif state == HANDED:
                queued = record[QUEUED]
                if queued.__class__ is list:
                    # Its wake-up is still in the built-in hub's ready queue: it must never
                    # run.  (Under an adapter, or for a task, the slot holds the timer.)
                    queued[0] = None
                    queued[1] = ()
                if not record[LISTENS]:
                    value = record[VALUE]
                    record[VALUE] = None
                    line.give_back(value)
            return state
        finally:
            mutex.release()


def _expire(record: Record) -> None:
    """Timer callback: the wait of ``record`` timed out, unless it was handed a value first."""
    while True:
        line: WaitLine = record[LINE]
        mutex = line.mutex
        mutex.acquire()
        try:
            if record[LINE] is not line:
                continue
            if record[STATE] != WAITING or record[TIMER] is None:
                return  # handed meanwhile, or moved (a move disarms the timeout)
            record[STATE] = DONE
            glet = record[WHO]
            future = record[CALL]
            record[WHO] = None
            line._forget(record)
        finally:
            mutex.release()
        break
    if glet is not None:
        glet.switch(TIMED_OUT)
    elif not future.done():
        future.set_result(TIMED_OUT)


def _join(line: WaitLine, listens: bool) -> Record:
    """Put the current greenlet in ``line`` (a taker, or a listener); return its record.

    Raises:
        RuntimeError: called in the hub, or where parking would block a running asyncio loop.
    """
    try:
        hub: HubBase = _local.hub
    except AttributeError:
        hub = _first_hub(line)
    glet = getcurrent()
    running = _running_loop
    if running is None and "asyncio.events" in _modules:
        running = _find_running_loop_getter()
    if glet is hub._loop_greenlet or (
        running is not None
        and (loop := running()) is not None
        and (not hub._is_asyncio or hub._loop is not loop)  # type: ignore[attr-defined]
    ):
        # Parking here would block the asyncio loop running in this thread (fine only under
        # the asyncio hub bound to that very loop: run_greenlet's greenlets).
        if _stale(hub):
            return _join(line, listens)  # once more, on the thread's fresh hub
        raise _cannot_block(line, hub)
    record = [glet, hub, line, None, WAITING, None, None, listens]
    mutex = line.mutex
    mutex.acquire()
    line.append(record)
    if listens:
        line._nlisten += 1
    mutex.release()
    return record


def _join_task(line: WaitLine, listens: bool) -> Record:
    """Put the running asyncio task in ``line`` (a taker, or a listener); return its record.

    Raises:
        RuntimeError: no asyncio event loop is running in this thread.
    """
    running = _running_loop
    if running is None:
        running = _find_running_loop_getter() if "asyncio.events" in _modules else None
    loop: Any = running() if running is not None else None
    if loop is None:
        raise RuntimeError(f"no running asyncio event loop to wait on {line.owner!r} in")
    waker: _LoopWaker | None = getattr(_local, "loop_waker", None)
    if waker is None or waker.loop is not loop:
        waker = _local.loop_waker = _LoopWaker(loop)
    record = [None, waker, line, None, WAITING, loop.create_future(), None, listens]
    mutex = line.mutex
    mutex.acquire()
    line.append(record)
    if listens:
        line._nlisten += 1
    mutex.release()
    return record


def _first_hub(line: WaitLine) -> HubBase:
    """This thread's first wait: make its hub -- unless the wait is refused anyway.

    A coroutine that blocks on a running asyncio loop is refused before a hub is made, so the
    refusal leaves the thread free for ``aio.run_greenlet`` to bind its hub to that loop.
    """
    if _get_running_loop() is not None:
        raise _cannot_block(line, None)
    return get_hub()


# -- asyncio -------------------------------------------------------------------------------


class _LoopWaker:
    """Wakes the asyncio tasks of one event loop that wait in wait lines.

    In the loop's own thread a handed record's future is resolved at once (which resumes the
    task on the loop's next step, as asyncio's own primitives do); from any other thread the
    records join a batch that one ``call_soon_threadsafe`` callback resolves.
    """

    __slots__ = ("__weakref__", "_ident", "_pending", "_wakes", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._ident = _get_ident()
        self._wakes: deque[Record] = deque()
        self._pending = False

    @property
    def closed(self) -> bool:
        """True once the loop is closed: its tasks are gone."""
        return self.loop.is_closed()

    def _wake(self, record: Record) -> None:
        if _get_ident() == self._ident:
            future = record[CALL]
            if not future.done():
                future.set_result(record[VALUE])
            return
        self._wakes.append(record)
        if not self._pending:
            self._pending = True
            try:
                self.loop.call_soon_threadsafe(self._run)
            except RuntimeError:
                return  # closed meanwhile: its tasks will never run

    def _run(self) -> None:
        self._pending = False
        wakes = self._wakes
        for _ in range(len(wakes)):
            record = wakes.popleft()
            if record[STATE] == HANDED:
                future = record[CALL]
                if not future.done():
                    future.set_result(record[VALUE])


#: ``asyncio.events._get_running_loop`` once asyncio is imported (it cannot run a loop before).
_running_loop: Callable[[], object] | None = None
_modules = sys.modules


def _find_running_loop_getter() -> Callable[[], object]:
    global _running_loop
    getter: Callable[[], object] = _modules["asyncio.events"]._get_running_loop
    _running_loop = getter
    return getter


def _get_running_loop() -> object:
    """The asyncio loop running in this thread, or None (without importing asyncio)."""
    getter = _running_loop
    if getter is None:
        if "asyncio.events" not in _modules:
            return None
        getter = _find_running_loop_getter()
    return getter()


def _blocks_a_running_loop(hub: HubBase | None, loop: object) -> bool:
    """True if parking here would block the asyncio loop ``loop`` running in this thread.

    Parking is fine only under the asyncio hub bound to that very loop (a greenlet started by
    ``run_greenlet``); under any other hub (or none yet) the loop would stop until the wait
    ended.
    """
    return loop is not None and (
        hub is None or not hub._is_asyncio or getattr(hub, "loop", None) is not loop
    )


def _cannot_block(line: WaitLine, hub: HubBase | None) -> RuntimeError:
    """The error for a blocking wait where it would freeze the loop that must wake it."""
    owner = line.owner
    what = repr(owner if owner is not None else line)
    # A coroutine, rather than a hub callback, is what blocks: under a hub that is not bound
    # to the running loop, or in the greenlet that runs the user's own loop (run_greenlet's
    # binding).
    loop = _get_running_loop()
    if loop is not None and (
        _blocks_a_running_loop(hub, loop) or not getattr(hub, "_owns_loop", True)
    ):
        twin = _async_twin(owner)
        instead = f"use {twin} instead" if twin else "await it instead of blocking"
        return RuntimeError(
            f"cannot block a coroutine's event loop waiting on {what}: {instead} (or run "
            "blocking code in a greenlet with greensync.hub.aio.run_greenlet)"
        )
    return RuntimeError(f"cannot block inside the hub: a hub callback must not wait on {what}")


def _async_twin(owner: object) -> str | None:
    """Name the awaitable twin of the blocking method that was called on ``owner``."""
    if owner is None:
        return None
    cls = type(owner)
    frame: FrameType | None = sys._getframe(2)
    for _ in range(16):
        if frame is None:
            break
        name = frame.f_code.co_name
        if name == "__enter__" and hasattr(cls, "__aenter__"):
            return f"`async with` on the {cls.__name__}"
        if not name.startswith("_") and hasattr(cls, "async_" + name):
            return f"`await {cls.__name__.lower()}.async_{name}(...)`"
        frame = frame.f_back
    return None


def cancel_due(owner: object, callback: object) -> None:
    """Stop due-but-not-run calls ``callback(owner)`` queued in this thread's hub, if any.

    For ``unlink`` on an object whose line is gone (a one-shot object drops its line once it
    notified): the calls it made are still queued and must not run.
    """
    hub = getattr(_local, "hub", None)
    if hub is not None:
        hub._cancel_due(owner, callback)


def lazy_waitline(obj: Any, attribute: str, make: Callable[[], WaitLine]) -> WaitLine:
    """Return ``obj.<attribute>``, first setting it to ``make()`` if it is None (thread-safe).

    Lines are made on first need so that a primitive nobody waits on stays small; two threads
    that both need one at once must end up with the same line (a line made in a lost race is
    dropped unused).
    """
    new = make()
    with _CREATE:
        line: WaitLine | None = getattr(obj, attribute)
        if line is None:
            line = new
            setattr(obj, attribute, line)
        return line
