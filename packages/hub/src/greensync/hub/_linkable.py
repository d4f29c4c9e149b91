"""The waiter protocol: the one structure every greensync primitive parks on.

A primitive that can be waited on subclasses :class:`Linkable` and keeps only its *rules* --
when a caller must park, whom a release or a put wakes, and what happens to a value handed to a
waiter that has gone.  The queueing, the timeouts, the cross-thread wake-ups and the clean-up
live here, once.

Two queues, both FIFO
---------------------
* The **hand-off queue** holds greenlets that want to *take* something: a permit, the lock, an
  item.  :meth:`Linkable._handoff` gives a value to the first live waiter and reserves it for
  that waiter: the value is stored on the waiter's record before anyone runs, so the caller of
  ``release()`` cannot barge back in ahead of it.
* The **listener queue** holds greenlets waiting for the object to become *ready* (``Event.wait``,
  ``AsyncResult.get``, ``Semaphore.wait``) and the callbacks registered with :meth:`rawlink`.
  :meth:`Linkable._notify` wakes all of them at once.  Links are one-shot, as in gevent: a
  callback is removed before it is called.

Deferred, batched wake-ups
--------------------------
Neither queue switches to anyone.  Handing a value marks the waiter's record and appends it to
its own hub's wake batch; the hub drains the batch in one callback on its next turn (through
``run_callback_threadsafe`` when the waiter lives in another thread).  ``set()``, ``release()``
and ``put()`` therefore never switch away from their caller, and a thousand waiters cost one
hub callback, not a thousand.

Leaving early
-------------
A record is in one of three states: waiting, handed, done.  Every transition happens under the
owning primitive's mutex, so a timeout that races a hand-off resolves to exactly one of them.  A
waiter that leaves with an exception (``Timeout``, ``GreenletExit`` from a kill, ``LoopExit``)
after it was handed a value gives the value back through :meth:`Linkable._reclaim`, which a
primitive overrides to pass the permit or item to the next waiter.  Records that leave early are
only marked; the queues are compacted when dead records outnumber live ones, so a million
timeouts leave nothing behind and removal stays O(1).

Cheap where it is hot
---------------------
A record is a plain list (``[greenlet, hub, owner, value, state, callback, timer]``), three
times cheaper to make than a slotted object.  A primitive that nobody ever waited on holds only
its mutex and an empty slot: the two lines and the dead count live in a small list made on the
first wait, so an uncontended ``Event`` or ``Lock`` stays as small as gevent's.

Rejected: an ordered dict keyed by record (O(1) removal, but it costs a hash entry per waiter and
more memory than the deque with lazy deletion); one callback per woken waiter (a thousand hub
callbacks for one ``set()``); waking by ``greenlet.throw`` on timeout (ten times a switch).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from threading import Lock
from types import TracebackType
from typing import Any, Generic, TypeVar

from greenlet import getcurrent, greenlet

from ._loop import (
    _DONE,
    _HANDED,
    _L_CALLBACK,
    _L_GLET,
    _L_HUB,
    _L_OWNER,
    _L_STATE,
    _L_TIMER,
    _L_VALUE,
    _PARK_CODES,
    _WAITING,
    Hub,
    HubBase,
    _greenlet_switch,
    _local,
    _peek_hub,
    _Throw,
    check_timeout,
    get_hub,
)

__all__ = ["TIMED_OUT", "Linkable", "Waiter"]

T = TypeVar("T")


class _TimedOut:
    __slots__ = ()

    def __repr__(self) -> str:
        return "TIMED_OUT"


#: Returned by :meth:`Linkable._park` when the wait's own timeout expired.
TIMED_OUT: Any = _TimedOut()


class _Notified:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NOTIFIED"


#: The value handed to listeners by :meth:`Linkable._notify` (never a hand-off value).
_NOTIFIED: Any = _Notified()

#: A parked greenlet or a registered callback:
#: ``[greenlet | None, hub, owner, value, state, callback | None, timer | None]``.
_Link = list[Any]


#: The wait lines of a Linkable, made on its first wait: ``[waiters, listeners, dead]``.  The
#: hand-off line is a deque (served from the front), made when first needed; the listeners are
#: a plain list (always woken all together), dropped when notified: a deque's block is too big
#: for Python's small-object allocator, and making one per wait costs more than the wait.
#: ``dead`` counts records that left early but are still in a line.
_Lines = list[Any]
_WAITERS = 0
_LISTENERS = 1
_DEAD = 2


def _expire(link: _Link) -> None:
    """Timer callback: the wait of ``link`` timed out, unless it was handed a value first."""
    while True:
        owner = link[_L_OWNER]
        mutex = owner._mutex
        mutex.acquire()
        try:
            if link[_L_OWNER] is not owner:
                continue  # moved to another line (Condition.notify) while we looked
            if link[_L_STATE] != _WAITING or link[_L_TIMER] is None:
                return
            link[_L_STATE] = _DONE
            glet = link[_L_GLET]
            link[_L_GLET] = None  # the dead record stays in its line until compacted
            owner._forget()
        finally:
            mutex.release()
        break
    if glet is not None:
        glet.switch(TIMED_OUT)


def _abandon(link: _Link) -> None:
    """The waiter of ``link`` left with an exception: drop it, giving back what it held."""
    while True:
        owner = link[_L_OWNER]
        mutex = owner._mutex
        mutex.acquire()
        try:
            if link[_L_OWNER] is not owner:
                continue
            state = link[_L_STATE]
            link[_L_STATE] = _DONE
            link[_L_GLET] = None  # the dead record must not keep the greenlet alive
            if state == _WAITING:
                owner._forget()
            elif state == _HANDED and link[_L_VALUE] is not _NOTIFIED:
                value = link[_L_VALUE]
                link[_L_VALUE] = None
                owner._reclaim(value)
        finally:
            mutex.release()
        return


def _make_enqueue(line: int, doc: str) -> Callable[[Linkable], _Link]:
    """Build ``_enqueue_waiter`` / ``_enqueue_listener``: one body, no extra call per wait."""

    def enqueue(self: Linkable) -> _Link:
        try:
            hub: HubBase = _local.hub
        except AttributeError:
            hub = get_hub()
        glet = getcurrent()
        if glet is hub._loop_greenlet:
            raise RuntimeError(
                f"cannot block inside the hub: a hub callback must not wait on {self!r}"
            )
        link = [glet, hub, self, None, _WAITING, None, None]
        lines = self._lines
        if lines is None:
            lines = self._lines = [None, None, 0]
        queue = lines[line]
        if queue is None:
            # The hand-off line is served from the front: a deque.  Listeners are all woken
            # together: a plain list, cheaper to make (see _Lines).
            lines[line] = deque((link,)) if line == _WAITERS else [link]
        else:
            queue.append(link)
        return link

    enqueue.__doc__ = doc
    return enqueue


class Linkable(ABC):
    """The base of every primitive that can be waited on.

    Public surface (gevent's): :meth:`rawlink`, :meth:`unlink`, :meth:`linkcount`,
    :meth:`ready`.  Subclasses implement :meth:`ready` and their own blocking methods on top of
    the protected protocol below, always following the same shape::

        with self._mutex:
            if <can proceed now>:
                ...; return                       # no hub involved
            link = self._enqueue_waiter()         # or _enqueue_listener()
        value = self._park(link, timeout)         # mutex released while parked
        if value is TIMED_OUT: ...

    and on the waking side, under ``self._mutex``: ``self._handoff(value)`` to give one waiter
    a value, ``self._notify()`` when the object becomes ready.  :meth:`ready` is called with the
    mutex held and must not take it.  (On CPython 3.11, ``self._mutex.acquire()`` with
    ``try/finally: release()`` costs half of ``with self._mutex:``; hot paths use it.)
    """

    __slots__ = ("_lines", "_mutex")

    #: Returned by :meth:`_park` when the wait's own timeout expired.
    TIMED_OUT: Any = TIMED_OUT

    def __init__(self) -> None:
        self._mutex = Lock()
        self._lines: _Lines | None = None

    # -- public -----------------------------------------------------------------------------

    @abstractmethod
    def ready(self) -> bool:
        """Return True if waiting on this object now would not block."""

    def rawlink(self, callback: Callable[[Any], object]) -> None:
        """Call ``callback(self)`` in the hub once this object is ready.

        The callback runs in the hub of the thread that registered it, on a hub turn after the
        object became ready (at once, on the next turn, if it already is), and is removed
        before it is called.  It must not block.

        Raises:
            TypeError: ``callback`` is not callable.
        """
        if not callable(callback):
            raise TypeError(
                f"`callback` must be callable, got {type(callback).__name__} {callback!r}"
            )
        link = [None, get_hub(), self, None, _WAITING, callback, None]
        mutex = self._mutex
        mutex.acquire()
        try:
            lines = self._lines
            if lines is None:
                self._lines = [None, [link], 0]
            elif lines[_LISTENERS] is None:
                lines[_LISTENERS] = [link]
            else:
                lines[_LISTENERS].append(link)
            if self.ready():
                self._notify()
        finally:
            mutex.release()

    def unlink(self, callback: Callable[[Any], object]) -> None:
        """Remove every registration of ``callback`` made with :meth:`rawlink`.

        A callback that was already due (the object became ready) but has not run yet is not
        called either, when it was registered in this thread.
        """
        mutex = self._mutex
        mutex.acquire()
        try:
            lines = self._lines
            if lines is not None and lines[_LISTENERS]:
                for link in lines[_LISTENERS]:
                    if link[_L_STATE] == _WAITING and link[_L_CALLBACK] == callback:
                        link[_L_STATE] = _DONE
                        self._forget()
            # Already notified but not yet called (queued in this thread's wake batch): as in
            # gevent, unlinking still prevents the call.
            hub = _peek_hub()
            if hub is not None and hub._wakes:
                for link in list(hub._wakes):
                    if (
                        link[_L_OWNER] is self
                        and link[_L_STATE] == _HANDED
                        and link[_L_CALLBACK] is not None
                        and link[_L_CALLBACK] == callback
                    ):
                        link[_L_STATE] = _DONE
        finally:
            mutex.release()

    def linkcount(self) -> int:
        """Return how many callbacks and parked greenlets wait on this object."""
        lines = self._lines
        if lines is None:
            return 0
        waiters, listeners, dead = lines
        live: int = (len(waiters) if waiters else 0) + (len(listeners) if listeners else 0) - dead
        return live

    # -- the protocol for subclasses ---------------------------------------------------------

    _enqueue_waiter = _make_enqueue(
        _WAITERS, "Queue the current greenlet to be handed a value.  Call with ``_mutex`` held."
    )
    _enqueue_listener = _make_enqueue(
        _LISTENERS, "Queue the current greenlet to be woken when ready.  Call with ``_mutex`` held."
    )

    def _park(self, link: _Link, timeout: float | None, waiting_on: object = None) -> Any:
        """Park until ``link`` is handed a value; return it, or :data:`TIMED_OUT`.

        Call without holding ``_mutex``; ``timeout`` must already be validated (see
        :func:`check_timeout`).  An exception thrown into the parked greenlet propagates after
        the link is removed and anything it was handed is given back through :meth:`_reclaim`.
        ``waiting_on`` is what a ``LoopExit`` names (this object by default): a private second
        line of a primitive passes the primitive itself.
        """
        hub = link[_L_HUB]
        what = self if waiting_on is None else waiting_on
        timer = None
        if timeout is not None:
            timer = link[_L_TIMER] = hub.call_later(timeout, _expire, link)
        try:
            if hub.__class__ is Hub:
                # Hub.switch inlined for the built-in hub (the check that we are not the hub
                # itself was made when the link was queued).
                if link[_L_GLET] is hub._main:
                    hub._main_waiting_on = what
                result = _greenlet_switch(hub)
                if result.__class__ is _Throw:
                    raise result.exc
            else:
                result = hub.switch(what)
        except BaseException:
            _abandon(link)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        return result

    def _handoff(self, value: Any) -> greenlet | None:
        """Give ``value`` to the first live waiter and return its greenlet.  Hold ``_mutex``.

        The value is reserved for that greenlet from this moment; it runs on its hub's next
        turn.  Returns ``None`` if nobody waits (test with ``is None``: a greenlet's truth value
        says whether it is running, not whether it exists).
        """
        lines = self._lines
        if lines is None:
            return None
        waiters = lines[_WAITERS]
        while waiters:
            link = waiters.popleft()
            if link[_L_STATE] == _WAITING:
                hub = link[_L_HUB]
                if hub.closed:
                    # Its thread ended (or its hub was destroyed): nobody will ever run it.
                    link[_L_STATE] = _DONE
                    continue
                link[_L_STATE] = _HANDED
                link[_L_VALUE] = value
                hub._wake(link)
                return link[_L_GLET]  # type: ignore[no-any-return]
            lines[_DEAD] -= 1
        return None

    def _has_waiters(self) -> bool:
        """Return True if a live greenlet waits in the hand-off queue.  Hold ``_mutex``."""
        lines = self._lines
        if lines is None:
            return False
        waiters = lines[_WAITERS]
        while waiters:
            if waiters[0][_L_STATE] == _WAITING:
                return True
            waiters.popleft()
            lines[_DEAD] -= 1
        return False

    def _waiter_count(self) -> int:
        """Return how many live greenlets wait in the hand-off queue."""
        lines = self._lines
        if lines is None or not lines[_WAITERS]:
            return 0
        return sum(1 for link in lines[_WAITERS] if link[_L_STATE] == _WAITING)

    def _notify(self) -> None:
        """Wake every listener and schedule every rawlink callback.  Hold ``_mutex``."""
        lines = self._lines
        if lines is None:
            return
        listeners = lines[_LISTENERS]
        if not listeners:
            return
        lines[_LISTENERS] = None
        # Most listeners share one hub: append them to its batch directly and schedule the
        # batch once; listeners from other hubs (threads) go through their own hub's _wake.
        hub = None
        append = None
        dead = 0
        for link in listeners:
            if link[_L_STATE] != _WAITING:
                dead += 1
                continue
            if link[_L_HUB].closed:  # its thread is gone
                link[_L_STATE] = _DONE
                continue
            link[_L_STATE] = _HANDED
            link[_L_VALUE] = _NOTIFIED
            if link[_L_HUB] is hub:
                append(link)  # type: ignore[misc]
            elif hub is None:
                hub = link[_L_HUB]
                append = hub._wakes.append
                append(link)
            else:
                link[_L_HUB]._wake(link)
        if hub is not None:
            hub._schedule_batch()
        if dead:
            lines[_DEAD] -= dead

    def _move_waiters(self, target: Linkable, n: int) -> int:
        """Move up to ``n`` live waiters, in order, to the back of ``target``'s hand-off queue.

        Their timeouts are cancelled: they now wait for ``target`` with no limit.  Hold both
        ``self._mutex`` and ``target._mutex`` (this one first).  Returns how many moved.
        """
        lines = self._lines
        if lines is None:
            return 0
        waiters = lines[_WAITERS]
        moved = 0
        while waiters and moved < n:
            link = waiters.popleft()
            if link[_L_STATE] != _WAITING:
                lines[_DEAD] -= 1
                continue
            link[_L_OWNER] = target
            link[_L_TIMER] = None
            dest = target._lines
            if dest is None:
                dest = target._lines = [deque(), None, 0]
            elif dest[_WAITERS] is None:
                dest[_WAITERS] = deque()
            dest[_WAITERS].append(link)
            moved += 1
        return moved

    def _reclaim(self, value: Any) -> None:
        """Take back ``value``, handed to a waiter that left before it ran.  Hold ``_mutex``.

        The default hands it to the next waiter and drops it if there is none; primitives
        whose values must not be lost when nobody waits (permits, items) override this.
        It runs in the thread of the waiter that left.
        """
        self._handoff(value)

    def _forget(self) -> None:
        """Count one more dead record; compact the lines when the dead outnumber the live."""
        lines = self._lines
        assert lines is not None
        lines[_DEAD] = dead = lines[_DEAD] + 1
        if dead > 32:
            waiters, listeners, _ = lines
            if dead * 2 > (len(waiters) if waiters else 0) + (len(listeners) if listeners else 0):
                if waiters:
                    lines[_WAITERS] = deque(link for link in waiters if link[_L_STATE] == _WAITING)
                if listeners:
                    lines[_LISTENERS] = [link for link in listeners if link[_L_STATE] == _WAITING]
                lines[_DEAD] = 0


# A greenlet parked in Linkable._park switches straight to the built-in hub and turns a
# switched-in _Throw into a raise: throw_into may wake it by switching.
_PARK_CODES.add(Linkable._park.__code__)


class Waiter(Linkable, Generic[T]):
    """A one-shot rendezvous between the greenlet that calls :meth:`get` and whoever wakes it.

    ``switch(value)`` or ``throw(exc)`` may come before or after ``get()``: a value that
    arrives first is kept, and every ``get()`` returns it.  Waking never switches away from the
    caller; the waiting greenlet runs on the hub's next turn.  Works across threads.
    """

    __slots__ = ("_has_value", "_traceback", "_value")

    def __init__(self) -> None:
        super().__init__()
        self._value: Any = None
        self._has_value = False
        self._traceback: TracebackType | None = None

    def __repr__(self) -> str:
        state = "ready" if self._has_value else f"waiters={self.linkcount()}"
        return f"<Waiter {state}>"

    def ready(self) -> bool:
        """Return True once a value or an exception has arrived."""
        return self._has_value

    def switch(self, value: T) -> None:
        """Deliver ``value`` to the greenlet in :meth:`get` (or keep it for a later ``get``).

        Raises:
            RuntimeError: a value or exception was already delivered.
        """
        self._deliver(value)

    def throw(self, exc: BaseException | type[BaseException]) -> None:
        """Make :meth:`get` raise ``exc`` (an exception instance or class).

        Raises:
            TypeError: ``exc`` is not an exception.
            RuntimeError: a value or exception was already delivered.
        """
        if isinstance(exc, type) and issubclass(exc, BaseException):
            exc = exc()
        if not isinstance(exc, BaseException):
            raise TypeError(f"`exc` must be an exception, got {type(exc).__name__} {exc!r}")
        self._deliver(_Throw(exc), exc.__traceback__)

    def _deliver(self, value: Any, traceback: TracebackType | None = None) -> None:
        with self._mutex:
            if self._has_value:
                raise RuntimeError("this Waiter was already switched or thrown: it is one-shot")
            self._value = value
            self._traceback = traceback
            self._has_value = True
            self._notify()

    def get(self, timeout: float | None = None) -> T:
        """Park until a value arrives and return it (or raise the exception thrown).

        Raises:
            TimeoutError: nothing arrived within ``timeout`` seconds.
        """
        if not self._has_value:
            timeout = check_timeout(timeout)
            with self._mutex:
                link = None if self._has_value else self._enqueue_listener()
            if link is not None and self._park(link, timeout) is TIMED_OUT:
                raise TimeoutError(f"{self!r} got nothing within {timeout} seconds")
        value = self._value
        if value.__class__ is _Throw:
            raise value.exc.with_traceback(self._traceback)
        return value  # type: ignore[no-any-return]
