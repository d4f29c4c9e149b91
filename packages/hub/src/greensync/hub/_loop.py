"""The per-thread hub: a greenlet that runs callbacks, timers, fd readiness and posted work.

Why it looks like this
----------------------
Every blocking operation in greensync ends in the same place: the current greenlet switches to
its thread's hub, and something later switches back.  The hub is therefore the only seam between
the primitives and a scheduler, and it is kept small on purpose:

* **Ready callbacks** are a FIFO deque.  A turn runs only the callbacks that were queued when the
  turn began; anything queued during the turn waits for the next one, so two greenlets calling
  ``sleep(0)`` in a loop cannot starve timers or file descriptors.
* **Timers** are a binary heap of handles that are themselves ``[deadline, sequence, ...]``
  lists, so ties fire in the order they were armed and comparisons stay in C.  Cancelling the
  newest timer (a ``with Timeout(10):`` left, a wait woken before its timeout) pops it, a leaf
  of the heap; cancelling any other only marks it, and the heap is rebuilt when marked entries
  outnumber live ones.  Either way the arguments are let go of at once.  Ref'd timers are
  counted as the heap's length less the marked and the unref'd ones, so arming and cancelling
  an ordinary timer touches no counter.
* **File descriptors** go through :mod:`selectors`, one waiting greenlet per fd and direction.
* **Other threads** append to a deque and write one byte to a pipe only when the loop is idle in
  ``select()``; a busy loop picks the work up without a system call.

Waking a greenlet with an exception is done by *switching* it a small marker object that
:meth:`Hub.switch` turns into a ``raise`` in the greenlet's own frame.  ``greenlet.throw`` does
the same job at roughly ten times the cost, so it is used only for greenlets that are suspended
somewhere other than :meth:`Hub.switch`.

Rejected alternatives: a per-waiter callback for every wake-up (a handed waiter's switch goes
straight onto the ready queue, see ``_waitline``); running expired timers through the ready
queue (an extra hop, and it opens a window in which a stale wake-up could reach a greenlet that
has moved on); a thread pool or ``asyncio`` loop underneath (both cost more than the whole of
this module).

Deadlock: when the loop has nothing left that could ever wake anyone -- no callbacks, no ref'd
timers, no watched fds, no posted work and no other live OS thread that might post some -- it
throws :class:`LoopExit` into the thread's main greenlet, naming what that greenlet and every
other parked greenlet of the hub wait on (read from their frames: see ``_diagnostics``).  With
other threads alive it keeps polling, and warns once if the main greenlet stays stuck past
:attr:`HubBase.deadlock_warning`.  An idle poll lasts at most a day (epoll cannot wait longer
than about 24.8 days in one call).
"""

from __future__ import annotations

import heapq
import logging
import math
import os
import selectors
import threading
import time
from collections import deque
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar, final

from greenlet import GreenletExit, getcurrent, greenlet

from ._records import CALL, DONE, HANDED, LINE, QUEUED, STATE, VALUE, WHO
from ._state import _local

__all__ = [
    "CallbackHandle",
    "Hub",
    "HubBase",
    "LoopExit",
    "TimerHandle",
    "check_timeout",
    "parks",
]

_greenlet_switch = greenlet.switch

_monotonic = time.monotonic
_heappush = heapq.heappush
_get_ident = threading.get_ident

#: How long an idle loop sleeps between checks that another thread still exists.
_THREAD_RECHECK = 0.05
#: The longest single poll: epoll takes an int of milliseconds (about 24.8 days at most), and
#: a longer wait simply polls again.
_MAX_POLL = 86400.0
#: Seconds the main greenlet may stay parked, with only other threads left to wake it, before
#: the hub warns once (``GREENSYNC_DEADLOCK_WARN``, ``HubBase.deadlock_warning``).
DEADLOCK_WARN_DEFAULT = 10.0

#: Where the hub reports errors of tasks and callbacks, and the deadlock warning.
logger = logging.getLogger("greensync.hub")


def _deadlock_warn_from_env() -> float | None:
    """The interval of the deadlock warning from ``GREENSYNC_DEADLOCK_WARN``; None is off."""
    raw = os.environ.get("GREENSYNC_DEADLOCK_WARN")
    if raw is None or not raw.strip():
        return DEADLOCK_WARN_DEFAULT
    text = raw.strip().lower()
    if text in ("off", "no", "never", "none", "false"):
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value >= 0.0:
        raise ValueError(
            "GREENSYNC_DEADLOCK_WARN must be a non-negative number of seconds or 'off', "
            f"got {raw!r}"
        )
    return None if value == 0.0 or value == math.inf else value


@final
class LoopExit(Exception):
    """Raised in a greenlet that blocks when nothing could ever wake it.

    The message names what the greenlet was waiting on -- the primitive, as its ``repr`` --
    and every other parked greenlet of the same hub with what each waits on, so a
    lock-ordering deadlock names both tasks and both locks.  The objects themselves are
    :attr:`waiting_on` (``None`` when the greenlet parked with a bare :meth:`Hub.switch`) and
    :attr:`parked`, a list of ``(greenlet, what it waits on)`` pairs.
    """

    def __init__(
        self,
        message: str,
        waiting_on: object = None,
        parked: list[tuple[greenlet, object]] | None = None,
    ) -> None:
        super().__init__(message)
        #: What the greenlet that got this exception was waiting on.
        self.waiting_on = waiting_on
        #: The other parked greenlets of its hub, each with what it waits on.
        self.parked: list[tuple[greenlet, object]] = [] if parked is None else parked


class _Throw:
    """A marker switched into a parked greenlet: :meth:`Hub.switch` raises ``exc`` for it."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


#: Code objects of the functions that park a greenlet by switching to the hub and turn a
#: switched-in ``_Throw`` into a raise: :meth:`HubBase.throw_into` may wake those by switching.
_PARK_CODES: set[Any] = set()

F = TypeVar("F", bound=Callable[..., Any])


def parks(fn: F) -> F:
    """Register ``fn`` as a function that parks by switching to the hub (a decorator).

    A greenlet suspended in such a function turns a switched-in ``_Throw`` marker into a
    raise, so :meth:`HubBase.throw_into` wakes it by switching (ten times cheaper than
    ``greenlet.throw``).  Register at the definition, so the rule cannot be forgotten.
    """
    _PARK_CODES.add(fn.__code__)
    return fn


def check_timeout(timeout: object, name: str = "timeout") -> float | None:
    """Validate a timeout argument and return it as a float, or ``None`` for "no timeout".

    ``None`` and ``math.inf`` mean wait forever.  Anything that is not a real number, a bool,
    NaN, or a negative number is rejected.

    Args:
        timeout: The value the caller passed.
        name: The parameter name to put in the error message.

    Returns:
        The timeout in seconds, or ``None``.

    Raises:
        TypeError: ``timeout`` is not a number.
        ValueError: ``timeout`` is negative or NaN.
    """
    if timeout is None:
        return None
    cls = timeout.__class__
    if (
        cls is not float
        and cls is not int
        and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)))
    ):
        raise TypeError(
            f"`{name}` must be a non-negative number or None, got {type(timeout).__name__} "
            f"{timeout!r}"
        )
    try:
        value = float(timeout)  # type: ignore[arg-type]
    except OverflowError:
        # An int too large for a float: longer than anything can wait, so forever if positive;
        # if negative, say so without printing a thousand digits.
        if timeout > 0:  # type: ignore[operator]
            return None
        raise ValueError(
            f"`{name}` must be a non-negative number or None, got a negative int "
            f"({timeout.bit_length()} bits)"  # type: ignore[attr-defined]
        ) from None
    if value >= 0.0:
        return None if value == math.inf else value
    raise ValueError(f"`{name}` must be a non-negative number or None, got {timeout!r}")


def _check_when(when: object) -> float:
    """Validate a deadline for ``call_at`` and return it as a float."""
    if isinstance(when, bool) or not isinstance(when, (int, float)):
        raise TypeError(f"`when` must be a number, got {type(when).__name__} {when!r}")
    if math.isnan(when):
        raise ValueError("`when` must be a number, got nan")
    return float(when)


def _check_callable(fn: object, name: str = "fn") -> None:
    if not callable(fn):
        raise TypeError(f"`{name}` must be callable, got {type(fn).__name__} {fn!r}")


@final
class CallbackHandle(list[Any]):
    """A callback queued with :meth:`Hub.run_callback`; :meth:`cancel` stops it running.

    The ready queue holds ``[fn, args]`` pairs; this handle *is* such a pair (a list), so the
    loop treats public and internal callbacks alike and cancelling is one store.
    """

    __slots__ = ()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self[0] is None

    def cancel(self) -> None:
        """Stop the callback from running, if it has not run yet (and let go of its args)."""
        self[0] = None
        self[1] = ()

    def __repr__(self) -> str:
        fn = self[0]
        return f"<CallbackHandle {'cancelled' if fn is None else _name(fn)}>"


@final
class TimerHandle(list[Any]):
    """A timer armed with :meth:`Hub.call_later` or :meth:`Hub.call_at`.

    ``ref`` says whether the timer keeps the loop alive (as in gevent): a loop whose only
    remaining timers are unref'd is idle, and a parked main greenlet gets :class:`LoopExit`.
    A timer belongs to the thread of its hub; cancel it from that thread.

    The handle is itself the entry in the hub's heap, a list
    ``[when, sequence, fn, args, hub or None, ref]``: heap order is deadline, then arming
    order, compared in C, and arming a timer makes one object.
    """

    __slots__ = ()

    @property
    def when(self) -> float:
        """The deadline, on the hub's clock (:meth:`Hub.time`)."""
        return self[0]  # type: ignore[no-any-return]

    @property
    def pending(self) -> bool:
        """True until the timer has fired or been cancelled."""
        return self[4] is not None

    @property
    def cancelled(self) -> bool:
        """True if :meth:`cancel` stopped the timer before it fired."""
        return self[4] is None and self[2] is None

    @property
    def ref(self) -> bool:
        """Whether this timer keeps the loop alive."""
        return self[5]  # type: ignore[no-any-return]

    @ref.setter
    def ref(self, value: bool) -> None:
        value = bool(value)
        hub = self[4]
        if hub is not None and value != self[5]:
            hub._nunref += -1 if value else 1
        self[5] = value

    def cancel(self) -> None:
        """Stop the timer; a cancelled timer never fires.  Cancelling twice is harmless."""
        hub = self[4]
        if hub is None:
            return
        self[4] = None
        self[2] = None
        self[3] = ()  # let go of the arguments at once, not at the deadline
        if not self[5]:
            hub._nunref -= 1
        timers = hub._timers
        if timers[-1] is self:
            # The newest timer -- a ``with Timeout():`` left, a wait woken before its timeout
            # -- is a leaf of the heap: it leaves at once, and nothing piles up.
            timers.pop()
            return
        hub._ncancelled += 1
        if hub._ncancelled > 256 and hub._ncancelled * 2 > len(timers):
            hub._compact_timers()

    def __repr__(self) -> str:
        state = "pending" if self[4] is not None else "done"
        ref = "" if self[5] else " unref"
        fn = "cancelled" if self[2] is None else _name(self[2])
        return f"<TimerHandle {fn} when={self[0]:.6f} {state}{ref}>"


def _name(fn: object) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def _root_greenlet() -> greenlet:
    g = getcurrent()
    while g.parent is not None:
        g = g.parent
    return g


class HubBase:
    """What every hub offers: the built-in :class:`Hub` and the adapters for other loops.

    The primitives reach a scheduler only through these methods, so an adapter that presents
    gevent's hub, eventlet's hub or an asyncio loop through them lets every greensync primitive
    run there unchanged.  This base holds the machinery that is the same everywhere -- the
    batched wake-ups of the waiter protocol, ``throw_into``, error reporting -- and names what
    each hub must provide.  Not meant to be subclassed outside greensync.hub.
    """

    #: The greenlet that parked greenlets switch to, and the parent of tasks.
    _loop_greenlet: greenlet
    _main: greenlet
    _thread_ident: int
    _wakes: deque[Any]
    _wake_pending: bool
    closed: bool
    #: True for the hub that runs on an asyncio loop: coroutines there may own greenlets.
    _is_asyncio = False

    def _init_base(self) -> None:
        self._main = _root_greenlet()
        self._thread_ident = _get_ident()
        # Batched wake-ups of the waiter protocol (see _linkable): one callback per batch.
        self._wakes = deque()
        self._wake_pending = False
        self._idle_waiters: list[greenlet] = []
        self.closed = False
        self._deadlock_warning = _deadlock_warn_from_env()
        self._stuck_since: float | None = None
        self._stuck_warned = False
        #: True while ``signal.set_wakeup_fd`` points at a file descriptor of this hub.
        self._wakes_signals = False

    @property
    def deadlock_warning(self) -> float | None:
        """Seconds after which a main greenlet stuck with only other threads left to wake it
        is reported, once, as a possible deadlock; ``None`` when the warning is off.

        The default comes from ``GREENSYNC_DEADLOCK_WARN`` (seconds, or ``off``), else 10
        seconds.  Set it on a hub to change it there; ``None`` or ``0`` turns it off.

        Raises:
            TypeError, ValueError: the value is not a non-negative number or None.
        """
        return self._deadlock_warning

    @deadlock_warning.setter
    def deadlock_warning(self, seconds: float | None) -> None:
        value = check_timeout(seconds, "deadlock_warning")
        self._deadlock_warning = value if value else None

    @property
    def loop_greenlet(self) -> greenlet:
        """The greenlet that runs this hub's loop: code running in it must never block."""
        return self._loop_greenlet

    # -- what each hub provides -------------------------------------------------------------

    def time(self) -> float:
        """Return the loop's monotonic clock, in seconds."""
        return _monotonic()

    def run_callback(self, fn: Callable[..., object], *args: Any) -> CallbackHandle:
        """Run ``fn(*args)`` in the hub on its next turn, after callbacks already queued."""
        raise NotImplementedError(f"{type(self).__name__} does not implement run_callback")

    def run_callback_threadsafe(self, fn: Callable[..., object], *args: Any) -> Any:
        """Like :meth:`run_callback`, callable from any thread; wakes the loop if idle."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement run_callback_threadsafe"
        )

    def call_later(
        self, seconds: float, fn: Callable[..., object], *args: Any, ref: bool = True
    ) -> Any:
        """Call ``fn(*args)`` in the hub after ``seconds``; returns a cancellable handle."""
        raise NotImplementedError(f"{type(self).__name__} does not implement call_later")

    def call_at(self, when: float, fn: Callable[..., object], *args: Any, ref: bool = True) -> Any:
        """Call ``fn(*args)`` in the hub once :meth:`time` reaches ``when``."""
        return self.call_later(max(0.0, _check_when(when) - self.time()), fn, *args, ref=ref)

    @parks
    def switch(self, waiting_on: object = None) -> Any:
        """Park the current greenlet until something switches back to it; return what it got.

        ``waiting_on`` names what the greenlet waits for; it appears in :class:`LoopExit`.

        Raises:
            RuntimeError: called inside the hub itself (from a callback), where nothing could
                ever switch back.
        """
        loop_greenlet = self._loop_greenlet
        if getcurrent() is loop_greenlet:
            raise RuntimeError(
                "cannot block inside the hub: a hub callback must not call a blocking "
                f"operation (waiting on {waiting_on!r})"
            )
        # ``waiting_on`` is not stored anywhere: LoopExit and reprs read it from this frame.
        result = self._switch_to_loop(loop_greenlet)
        if result.__class__ is _Throw:
            raise result.exc
        return result

    @parks
    def _switch_to_loop(self, loop_greenlet: greenlet) -> Any:
        return _greenlet_switch(loop_greenlet)

    def wait_readable(self, fd: int | Any, timeout: float | None = None) -> None:
        """Park the current greenlet until ``fd`` is readable.

        Raises:
            TimeoutError: ``timeout`` seconds passed first.
            RuntimeError: another greenlet already waits to read ``fd``.
        """
        self._wait_fd(_fileno(fd), 0, check_timeout(timeout))

    def wait_writable(self, fd: int | Any, timeout: float | None = None) -> None:
        """Park the current greenlet until ``fd`` is writable (see :meth:`wait_readable`)."""
        self._wait_fd(_fileno(fd), 1, check_timeout(timeout))

    def _wait_fd(self, fd: int, direction: int, timeout: float | None) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement fd waits")

    def _wait_idle(self, timeout: float | None) -> bool:
        """Park until the loop has nothing left to run; False if ``timeout`` passed first.

        The loop switches every greenlet in ``_idle_waiters`` with True when it runs out of
        work (instead of raising LoopExit in the main greenlet).
        """
        current = getcurrent()
        if current is self._loop_greenlet:
            raise RuntimeError("cannot block inside the hub: wait()")
        self._idle_waiters.append(current)
        timer = None
        if timeout is not None:
            timer = self.call_later(timeout, current.switch, False, ref=False)
        try:
            return bool(self.switch("the loop to finish"))
        finally:
            if timer is not None:
                timer.cancel()
            if current in self._idle_waiters:
                self._idle_waiters.remove(current)

    def _pending(self) -> int:
        """How many callbacks are queued to run (for the testing helpers)."""
        raise NotImplementedError(f"{type(self).__name__} does not count callbacks")

    def destroy(self) -> None:
        """Release the hub's resources; the next :func:`get_hub` in this thread makes a new one."""
        self.closed = True
        if getattr(_local, "hub", None) is self:
            del _local.hub

    # -- the same for every hub -------------------------------------------------------------

    def throw_into(self, glet: greenlet, exc: BaseException) -> None:
        """Raise ``exc`` in ``glet`` at the point where it is suspended.

        Call this from the hub (for example from a timer callback).  A greenlet parked in
        :meth:`switch` is woken by switching it a marker, which is raised in its own frame;
        any other suspended greenlet gets ``greenlet.throw``.  Dead greenlets are ignored.
        """
        if glet.dead:
            return
        frame = glet.gr_frame
        if frame is not None and frame.f_code in _PARK_CODES:
            glet.switch(_Throw(exc))
        else:
            glet.throw(exc)

    def handle_error(self, context: object, exc: BaseException) -> None:
        """Report an exception raised by ``context`` (a callback or a task) and carry on.

        The default logs it, with its traceback, to the ``greensync.hub`` logger at ERROR
        (shown on ``sys.stderr`` when logging is not configured); under the gevent and
        eventlet adapters it goes to the host hub's error hook as well.  Replace it on the
        instance (``get_hub().handle_error = my_hook``) or wrap it to send errors elsewhere.
        """
        logger.error(
            "%r failed with %s",
            context,
            type(exc).__name__,
            exc_info=(type(exc), exc, exc.__traceback__),
        )

    def _report_error(self, context: object, exc: BaseException) -> None:
        """Call :meth:`handle_error`; a hook that fails is itself logged, never raised."""
        try:
            self.handle_error(context, exc)
        except Exception as hook_exc:
            logger.error("the error hook %r failed", self.handle_error, exc_info=hook_exc)

    def _callback_error(self, context: object, exc: BaseException) -> None:
        if isinstance(exc, (Exception, GreenletExit)):
            self._report_error(context, exc)
        else:
            # KeyboardInterrupt, SystemExit and friends belong to the main greenlet.
            self._main.throw(exc)

    def _loop_exit(self, main_frame: FrameType | None) -> LoopExit:
        """The ``LoopExit`` for the main greenlet, suspended in ``main_frame``."""
        from ._diagnostics import describe_deadlock

        message, what, parked = describe_deadlock(self, main_frame)
        return LoopExit(message, what, parked)

    def _note_stuck(self, now: float) -> None:
        """The loop found only other threads left to wake the main greenlet (at ``now``)."""
        since = self._stuck_since
        if since is None:
            self._stuck_since = now
            return
        interval = self._deadlock_warning
        if interval is not None and not self._stuck_warned and now - since >= interval:
            self._stuck_warned = True
            from ._diagnostics import describe_deadlock

            message = describe_deadlock(self, self._main.gr_frame, threads=True)[0]
            logger.warning(
                "possible deadlock: stuck for %.1f s (warned after %g s: GREENSYNC_DEADLOCK_WARN "
                "or hub.deadlock_warning): %s",
                now - since,
                interval,
                message,
            )

    def _not_stuck(self) -> None:
        """Something ran: a later stretch of being stuck is a new one, warned about anew."""
        self._stuck_since = None
        self._stuck_warned = False

    def _post_signal(self, fn: Callable[[], object]) -> None:
        """Run ``fn()`` on the hub's next turn and wake the loop; called in a signal handler.

        Must take no lock and never block: it runs wherever the main thread was interrupted.
        """
        self.run_callback_threadsafe(fn)

    def _signal_wakeup_fd(self) -> int:
        """A file descriptor for ``signal.set_wakeup_fd`` that wakes this loop, or -1."""
        return -1

    def _release_wakeup_fd(self) -> None:
        """Before closing the descriptor that ``signal.set_wakeup_fd`` points at: unset it."""
        if self._wakes_signals:
            from ._signals import release_wakeup_fd

            release_wakeup_fd(self)

    def _add_signal(self, signum: int, start: Callable[[], object]) -> Callable[[], None] | None:
        """Have ``start()`` run in this hub when ``signum`` arrives, the hub's own way.

        Returns what undoes it, or None to use greensync's Python-level signal handler.
        """
        return None

    def _wake(self, record: Any) -> None:
        """Queue ``record`` (handed a value) for the next wake-up batch; callable from any thread.

        The first record of a batch schedules it: on this hub's next turn when called in the
        hub's own thread, at once through :meth:`run_callback_threadsafe` from any other (the
        waker posts the wake-up itself, rule 4).  Every record of a batch is woken by the one
        callback, :meth:`_run_wakes`.
        """
        self._wakes.append(record)
        if not self._wake_pending:
            self._wake_pending = True
            if self._thread_ident == _get_ident():
                self._post_wakes()
            else:
                self.run_callback_threadsafe(self._run_wakes)

    def _yield_turn(self, current: greenlet) -> None:
        """``sleep(0)``: let every other runnable greenlet run once, then resume ``current``."""
        handle = self.run_callback(current.switch)
        try:
            self.switch("sleep")
        finally:
            handle.cancel()

    def _post_wakes(self) -> None:
        """Have :meth:`_run_wakes` called on this hub's next turn (from its own thread).

        An adapter posts it to its host loop directly, with no handle: a batch is never
        cancelled, and ``_wakes`` itself says that work is pending.
        """
        self.run_callback(self._run_wakes)

    def _run_wakes(self) -> None:
        # Clear the flag first: a wake queued from another thread while we drain either lands
        # in this batch or schedules the next one; it is never stranded.
        self._wake_pending = False
        wakes = self._wakes
        popleft = wakes.popleft
        for _ in range(len(wakes)):
            record = popleft()
            # Only this thread moves a handed record on, so no mutex is needed here: a waiter
            # that left early (and gave back what it was handed) already marked it done.
            if record[STATE] != HANDED:
                continue
            record[STATE] = DONE
            glet = record[WHO]
            if glet is not None:
                glet.switch(record[VALUE])
            else:
                callback = record[CALL]
                try:
                    callback(record[LINE].owner)
                except BaseException as exc:  # noqa: BLE001 - reported, loop survives
                    self._callback_error(callback, exc)

    def _cancel_due(self, owner: object, callback: object) -> None:
        """Stop the due-but-not-run rawlink calls ``callback(owner)`` (for ``unlink``)."""
        for record in list(self._wakes):
            if (
                record[LINE].owner is owner
                and record[STATE] == HANDED
                and record[WHO] is None
                and (record[CALL] is callback or record[CALL] == callback)
            ):
                record[STATE] = DONE

    def _thread_ended(self) -> None:
        """This hub's thread has ended: nobody will ever run its loop again.

        Marks it closed, so primitives shared with other threads stop handing values to its
        greenlets; subclasses also release what they own (descriptors, a private loop).
        """
        self.closed = True

    def _after_fork(self) -> None:
        """In a child process after ``os.fork()``: this hub belonged to the parent; drop it.

        Its greenlets, pipes and selector are the parent's.  Subclasses close what they own
        (never what the parent still uses through shared descriptors beyond closing our copy).
        """
        self.closed = True


def _fileno(fd: int | Any) -> int:
    if not isinstance(fd, int):
        fileno = getattr(fd, "fileno", None)
        if fileno is None:
            raise TypeError(
                f"`fd` must be an int or have a fileno() method, got {type(fd).__name__}"
            )
        fd = fileno()
    if isinstance(fd, bool) or not isinstance(fd, int) or fd < 0:
        raise ValueError(f"`fd` must be a non-negative file descriptor, got {fd!r}")
    return fd


@final
class Hub(HubBase, greenlet):
    """This thread's loop: ready callbacks, timers, fd readiness and work posted by threads.

    Get it with :func:`get_hub`; do not create one yourself.  The hub's parent is the thread's
    main greenlet, which receives :class:`LoopExit` (and ``KeyboardInterrupt``/``SystemExit``
    raised by callbacks).  Not meant to be subclassed.
    """

    def __init__(self) -> None:
        self._init_base()
        greenlet.__init__(self, parent=self._main)
        self._loop_greenlet = self
        # [fn, args] pairs; fn is None once cancelled.
        self._ready: deque[list[Any]] = deque()
        # The heap; pending ref'd timers are counted as len(heap) - cancelled - unref'd, so
        # arming and cancelling an ordinary timer touches no counter.
        self._timers: list[TimerHandle] = []
        self._seq = 0
        self._nunref = 0
        self._ncancelled = 0
        self._threadsafe: deque[list[Any]] = deque()
        self._polling = False
        self._selector: selectors.BaseSelector | None = None
        self._wake_r = -1
        self._wake_w = -1
        self._fd_waiters: dict[int, list[greenlet | None]] = {}
        self._nfds = 0
        self._shuffle_turn: Callable[[deque[list[Any]], int], None] | None = None

    # -- public API -------------------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"<Hub thread={self._thread_ident} ready={len(self._ready)} "
            f"timers={len(self._timers) - self._ncancelled} fds={self._nfds}>"
        )

    def run_callback(self, fn: Callable[..., object], *args: Any) -> CallbackHandle:
        """Run ``fn(*args)`` in the hub on its next turn, after callbacks already queued.

        Must be called from the hub's own thread (use :meth:`run_callback_threadsafe` from
        others).  Returns a handle whose ``cancel()`` stops the call.
        """
        if not callable(fn):
            _check_callable(fn)  # type: ignore[unreachable]
        handle = CallbackHandle((fn, args))
        self._ready.append(handle)
        return handle

    def run_callback_threadsafe(self, fn: Callable[..., object], *args: Any) -> CallbackHandle:
        """Like :meth:`run_callback`, callable from any thread; wakes the loop if it is idle."""
        if not callable(fn):
            _check_callable(fn)  # type: ignore[unreachable]
        handle = CallbackHandle((fn, args))
        self._threadsafe.append(handle)
        if self._polling and _get_ident() != self._thread_ident:
            self._poke()
        return handle

    def call_later(
        self, seconds: float, fn: Callable[..., object], *args: Any, ref: bool = True
    ) -> TimerHandle:
        """Call ``fn(*args)`` in the hub after ``seconds``; returns a cancellable handle.

        Timers with the same deadline fire in the order they were armed.  ``ref=False`` makes
        a timer that does not keep the loop alive.
        """
        cls = seconds.__class__
        if not ((cls is float or cls is int) and seconds >= 0):
            seconds = _check_delay(seconds, "seconds")
        if not callable(fn):
            _check_callable(fn)  # type: ignore[unreachable]
        # _arm, inlined: this is every timed wait's path.
        self._seq = seq = self._seq + 1
        handle = TimerHandle((_monotonic() + seconds, seq, fn, args, self, ref))
        _heappush(self._timers, handle)
        if not ref:
            self._nunref += 1
        return handle

    def call_at(
        self, when: float, fn: Callable[..., object], *args: Any, ref: bool = True
    ) -> TimerHandle:
        """Call ``fn(*args)`` in the hub once :meth:`time` reaches ``when``."""
        return self._arm(_check_when(when), fn, args, ref)

    def destroy(self) -> None:
        """Release the hub's file descriptors; the next :func:`get_hub` makes a new hub."""
        super().destroy()
        self._close_fds()

    def _wake(self, record: Any) -> None:
        # The built-in hub needs no batch: a handed waiter is queued straight onto the ready
        # queue as the switch (or callback) that wakes it, and the loop runs it on its next
        # turn, in order with every other callback, at the cost of a C call.  The record keeps
        # the item, so a waiter that leaves first cancels it (see _waitline._leave).
        glet = record[WHO]
        if glet is not None:
            item = record[QUEUED] = [_greenlet_switch, (glet, record[VALUE])]
        else:
            owner = record[LINE].owner
            if owner is None:
                return  # what it was linked to is gone
            item = record[QUEUED] = [record[CALL], (owner,)]
        if self._thread_ident == _get_ident():
            self._ready.append(item)
        else:
            self._threadsafe.append(item)
            if self._polling:
                self._poke()

    def _cancel_due(self, owner: object, callback: object) -> None:
        for item in self._ready:
            fn = item[0]
            args = item[1]
            if (
                fn is not None
                and len(args) == 1
                and args[0] is owner
                and (fn is callback or fn == callback)
            ):
                item[0] = None
                item[1] = ()

    def _after_fork(self) -> None:
        super()._after_fork()
        self._close_fds()

    def _thread_ended(self) -> None:
        # Its wake pipe and selector would otherwise stay open until the hub is collected (a
        # closed hub is never poked: only a polling one is).
        super()._thread_ended()
        self._close_fds()

    def _pending(self) -> int:
        return len(self._ready) + len(self._threadsafe)

    def _post_signal(self, fn: Callable[[], object]) -> None:
        # One deque append and one non-blocking write: no lock, whatever was interrupted.
        self._threadsafe.append(CallbackHandle((fn, ())))
        self._poke()

    def _signal_wakeup_fd(self) -> int:
        self._ensure_selector()
        return self._wake_w

    # -- internals shared with the rest of greensync.hub ------------------------------------

    def _arm(
        self, when: float, fn: Callable[..., object], args: tuple[Any, ...], ref: bool
    ) -> TimerHandle:
        if not callable(fn):
            _check_callable(fn)  # type: ignore[unreachable]
        self._seq = seq = self._seq + 1
        handle = TimerHandle((when, seq, fn, args, self, ref))
        _heappush(self._timers, handle)
        if not ref:
            self._nunref += 1
        return handle

    def _compact_timers(self) -> None:
        # In place: the loop holds a reference to the list.
        self._timers[:] = [handle for handle in self._timers if handle[4] is not None]
        heapq.heapify(self._timers)
        self._ncancelled = 0

    def _poke(self) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except (BlockingIOError, OSError):
            # A full pipe already wakes the loop; a closed one means the hub is gone.
            return

    def _ensure_selector(self) -> selectors.BaseSelector:
        sel = self._selector
        if sel is None:
            sel = selectors.DefaultSelector()
            r, w = os.pipe()
            os.set_blocking(r, False)
            os.set_blocking(w, False)
            sel.register(r, selectors.EVENT_READ, None)
            self._selector, self._wake_r, self._wake_w = sel, r, w
        return sel

    def _close_fds(self) -> None:
        sel, self._selector = self._selector, None
        if sel is not None:
            self._release_wakeup_fd()
            sel.close()
            for fd in (self._wake_r, self._wake_w):
                try:
                    os.close(fd)
                except OSError:
                    continue
            self._wake_r = self._wake_w = -1

    def _wait_fd(self, fd: int, direction: int, timeout: float | None) -> None:
        current = getcurrent()
        if current is self:
            raise RuntimeError("cannot block inside the hub: wait_readable/wait_writable")
        sel = self._ensure_selector()
        slots = self._fd_waiters.get(fd)
        if slots is None:
            slots = self._fd_waiters[fd] = [None, None]
        if slots[direction] is not None:
            what = "read" if direction == 0 else "write"
            raise RuntimeError(f"another greenlet is already waiting to {what} fd {fd}")
        slots[direction] = current
        self._nfds += 1
        self._update_fd(sel, fd, slots)
        timer = None
        if timeout is not None:
            timer = self.call_later(timeout, current.switch, _FD_TIMEOUT)
        try:
            what = f"fd {fd} {'readable' if direction == 0 else 'writable'}"
            result = self.switch(what)
        finally:
            if timer is not None:
                timer.cancel()
            if slots[direction] is current:
                slots[direction] = None
                self._nfds -= 1
                self._update_fd(sel, fd, slots)
        if result is _FD_TIMEOUT:
            raise TimeoutError(f"fd {fd} was not ready within {timeout} seconds")

    def _update_fd(self, sel: selectors.BaseSelector, fd: int, slots: list[Any]) -> None:
        mask = (selectors.EVENT_READ if slots[0] is not None else 0) | (
            selectors.EVENT_WRITE if slots[1] is not None else 0
        )
        try:
            registered = sel.get_key(fd).events
        except KeyError:
            registered = 0
        if mask == registered:
            return
        if not mask:
            sel.unregister(fd)
            del self._fd_waiters[fd]
        elif registered:
            sel.modify(fd, mask)
        else:
            sel.register(fd, mask)

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        while True:
            try:
                self._loop()
            except BaseException as exc:  # noqa: BLE001 - e.g. KeyboardInterrupt in select()
                self._main.throw(exc)
                continue
            idle = self._idle_waiters
            if idle:
                self._idle_waiters = []
                for glet in idle:
                    glet.switch(True)
                continue
            self._main.throw(self._loop_exit(self._main.gr_frame))

    def _loop(self) -> None:
        ready = self._ready
        popleft = ready.popleft
        threadsafe = self._threadsafe
        monotonic = _monotonic
        shuffle = self._shuffle_turn
        while True:
            # 1. This turn's callbacks, FIFO (in a random order under the chaos scheduler).
            n = len(ready)
            if shuffle is not None and n > 1:
                shuffle(ready, n)
            while n:
                n -= 1
                fn, args = popleft()
                if fn is None:
                    continue
                try:
                    fn(*args)
                except BaseException as exc:  # noqa: BLE001 - reported, loop survives
                    self._callback_error(fn, exc)
            # 2. Expired timers, in deadline order.
            timers = self._timers
            if timers and timers[0][0] <= monotonic():
                self._run_timers()
            # 3. Work posted from other threads.
            if threadsafe:
                for _ in range(len(threadsafe)):
                    ready.append(threadsafe.popleft())
            # 4. File descriptors: poll without blocking while busy, block while idle.
            if ready:
                if self._nfds:
                    self._poll(0.0)
                continue
            # Idle: poll until the first live timer (cancelled ones at the head do not count).
            timers = self._timers
            while timers and timers[0][4] is None:
                heapq.heappop(timers)
                self._ncancelled -= 1
            timeout = min(max(0.0, timers[0][0] - monotonic()), _MAX_POLL) if timers else None
            if len(timers) - self._ncancelled - self._nunref <= 0 and not self._nfds:
                # No ref'd timer and no fd can wake anyone; only another thread could.
                if threading.active_count() <= 1 and not threadsafe:
                    return
                if timeout is None or timeout > _THREAD_RECHECK:
                    timeout = _THREAD_RECHECK
                self._note_stuck(monotonic())
                self._poll(timeout)
                if ready:
                    self._not_stuck()
                continue
            self._poll(timeout)

    def _run_timers(self) -> None:
        timers = self._timers
        now = _monotonic()
        heappop = heapq.heappop
        while timers and timers[0][0] <= now:
            handle = heappop(timers)
            if handle[4] is None:
                self._ncancelled -= 1
                continue
            handle[4] = None
            if not handle[5]:
                self._nunref -= 1
            fn = handle[2]
            args = handle[3]
            handle[3] = ()  # a fired timer keeps nothing alive either
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - reported, loop survives
                self._callback_error(fn, exc)

    def _poll(self, timeout: float | None) -> None:
        sel = self._ensure_selector()
        threadsafe = self._threadsafe
        self._polling = True
        try:
            if threadsafe:
                timeout = 0.0
            events = sel.select(timeout)
        finally:
            self._polling = False
        for key, mask in events:
            fd = key.fd
            if fd == self._wake_r:
                try:
                    while os.read(fd, 4096):
                        continue
                except (BlockingIOError, OSError):
                    continue
                continue
            slots = self._fd_waiters.get(fd)
            if slots is None:
                continue
            if mask & selectors.EVENT_READ and slots[0] is not None:
                slots[0].switch(None)
            if mask & selectors.EVENT_WRITE and slots[1] is not None:
                slots[1].switch(None)
        if threadsafe:
            ready = self._ready
            for _ in range(len(threadsafe)):
                ready.append(threadsafe.popleft())


_FD_TIMEOUT = object()


def _check_delay(seconds: object, name: str) -> float:
    if seconds is None:
        raise TypeError(f"`{name}` must be a non-negative number, got None")
    value = check_timeout(seconds, name)
    return math.inf if value is None else value
