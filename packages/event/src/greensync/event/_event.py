"""``Event``: a flag that greenlets wait on (threading's and gevent's Event)."""

from __future__ import annotations

from greensync.hub import TIMED_OUT, Linkable, check_timeout

__all__ = ["Event"]


class Event(Linkable):
    """Let any number of greenlets wait until a flag is set.

    The flag starts cleared.  :meth:`set` wakes every greenlet blocked in :meth:`wait`, in
    the order they began to wait, on the hub's next turn: ``set()`` itself never switches
    away from its caller.  While the flag is set, :meth:`wait` returns at once without
    touching the hub.  :meth:`clear` lowers the flag again.

    An event may be shared between OS threads: ``set()`` from one thread wakes greenlets
    parked in another thread's hub.  Callbacks registered with :meth:`rawlink` run once, in
    the hub, the next time the flag is set (or on the next turn if it already is).

    Not meant to be subclassed.
    """

    __slots__ = ("_flag",)

    def __init__(self) -> None:
        super().__init__()
        self._flag = False

    def __repr__(self) -> str:
        if self._flag:
            return "<Event set>"
        return f"<Event clear waiters={self.linkcount()}>"

    def is_set(self) -> bool:
        """Return True if the flag is set."""
        return self._flag

    #: gevent's and old threading's spelling of :meth:`is_set`.
    isSet = is_set

    def ready(self) -> bool:
        """Return True if the flag is set (:meth:`wait` would not block)."""
        return self._flag

    def set(self) -> None:
        """Set the flag and wake every greenlet waiting for it.

        The waiters run on their hubs' next turn, in the order they began to wait; the caller
        keeps running.  Setting a flag that is already set does nothing.
        """
        if self._flag:
            return
        mutex = self._mutex
        mutex.acquire()
        try:
            self._flag = True
            self._notify()
        finally:
            mutex.release()

    def clear(self) -> None:
        """Lower the flag; later calls to :meth:`wait` block until :meth:`set` is called.

        Greenlets already woken by an earlier :meth:`set` still see ``wait()`` return True.
        """
        if not self._flag:
            return
        mutex = self._mutex
        mutex.acquire()
        try:
            self._flag = False
        finally:
            mutex.release()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the flag is set, or until ``timeout`` seconds pass.

        Returns at once, without touching the hub, if the flag is already set.  A zero
        ``timeout`` checks the flag and returns without blocking or yielding.  ``timeout`` is
        validated either way, so a bad value fails whether or not the flag happens to be set.

        Args:
            timeout: How long to wait, in seconds; ``None`` (or ``math.inf``) waits for as
                long as it takes.

        Returns:
            True if the flag was set at any moment during the wait -- even if :meth:`clear`
            ran again before this greenlet woke up -- and False if the wait timed out.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative or NaN.
        """
        if self._flag:
            # A float that is >= 0 (inf included) needs no look; NaN fails the comparison.
            if timeout is not None and (timeout.__class__ is not float or not timeout >= 0.0):
                check_timeout(timeout)
            return True
        timeout = check_timeout(timeout)
        if timeout == 0.0:
            return self._flag
        mutex = self._mutex
        mutex.acquire()
        try:
            if self.ready():  # not self._flag: mypy would keep it narrowed to False
                return True
            link = self._enqueue_listener()
        finally:
            mutex.release()
        return self._park(link, timeout) is not TIMED_OUT
