"""signal_handler: run a function in the hub soon after a signal arrives.

Why it looks like this
----------------------
A Python signal handler runs in the main thread between two bytecodes, wherever that thread
happens to be -- possibly inside a primitive's own critical section, holding its mutex.  A
handler that calls ``Event.set()`` there can deadlock on that very mutex.  And a hub idle in
``select()`` is not woken by a Python handler at all: the handler runs, and PEP 475 retries the
``select()`` with what is left of its timeout, so the work the handler queued waits for the
next timer (or for ever).

So the Python-level handler here does two things only, neither of which takes a lock: it
appends the registration's start function to the hub's thread-safe queue (one ``deque.append``)
and writes a byte to the hub's wake pipe (a non-blocking ``os.write``), so the retried
``select()`` returns at once.  The hub then runs ``fn(*args)`` in a new task on its next turn,
where it may block, set events and take locks like any task.  For the built-in hub (and the
eventlet adapter) ``signal.set_wakeup_fd`` also points at that pipe, so a signal that the
kernel delivers to another thread wakes the main thread's loop too (which then runs the Python
handler).  Under the gevent adapter libev watches the signal itself (``gevent.signal_handler``)
and nothing of this is needed.

Python runs signal handlers in the main thread only, and only the main thread may install one
(``signal.signal``): ``signal_handler`` must be called there, and ``fn`` runs in the main
thread's hub.  ``cancel()`` may be called from any thread; the previous handler of the signal
comes back when the last registration is cancelled (at once in the main thread, else when the
next such signal arrives).

A registration does not keep the loop alive (gevent's rule): a main greenlet that waits for
nothing but a signal still gets ``LoopExit``.

Rejected: calling ``fn`` in the Python handler (the deadlock above); ``run_callback_threadsafe``
alone (it wakes the loop only when called from another thread, and a handler runs in the hub's
own thread); ``loop.add_signal_handler`` under asyncio (one handler per signal, and removing it
resets the signal to ``SIG_DFL`` rather than to what was there before).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVarTuple, final

from ._current import get_hub
from ._loop import HubBase
from ._state import _local

__all__ = ["SignalHandle", "release_wakeup_fd", "signal_handler"]

Ts = TypeVarTuple("Ts")

#: The registrations of each signal handled here, in the order made (replaced, never mutated,
#: so the handler reads a consistent tuple without a lock).
_handles: dict[int, tuple[SignalHandle, ...]] = {}
#: What each signal's handler was before greensync's, to put back when the last goes.
_previous: dict[int, Any] = {}
#: Signals no process can catch.
_UNCATCHABLE = frozenset(
    getattr(signal, name) for name in ("SIGKILL", "SIGSTOP") if hasattr(signal, name)
)
#: Guards changes of the two dicts above (never taken by the signal handler itself).
_changes = threading.Lock()
#: The hub, and its file descriptor, that greensync pointed ``signal.set_wakeup_fd`` at.
_wakeup: tuple[HubBase, int] | None = None


@final
class SignalHandle:
    """A registration made by :func:`signal_handler`; :meth:`cancel` undoes it."""

    __slots__ = ("_args", "_fn", "_hub", "_undo", "signum")

    def __init__(self, signum: int, hub: HubBase, fn: Callable[..., object], args: tuple[Any, ...]):
        #: The signal number.
        self.signum = signum
        self._hub: HubBase | None = hub
        self._fn: Callable[..., object] | None = fn
        self._args = args
        self._undo: Callable[[], None] | None = None

    def __repr__(self) -> str:
        fn = self._fn
        what = "cancelled" if fn is None else getattr(fn, "__qualname__", None) or repr(fn)
        return f"<SignalHandle {_signal_name(self.signum)} {what}>"

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._fn is None

    def cancel(self) -> None:
        """Stop calling the function for this signal, and let go of it and its arguments.

        Harmless if called again.  Callable from any thread.
        """
        if self._fn is None:
            return
        self._fn = None
        self._args = ()
        self._hub = None
        undo, self._undo = self._undo, None
        if undo is not None:
            undo()

    def _start(self) -> None:
        # In the hub (or, under gevent, in the greenlet gevent runs handlers in): start a task.
        fn = self._fn
        if fn is not None:
            from ._task import spawn

            spawn(fn, *self._args)

    def _deliver(self) -> None:
        # In the Python-level signal handler, in the main thread: no lock, no blocking.
        hub = self._hub
        if hub is None:
            return
        if hub.closed:
            # The hub it was made in is gone (destroyed, or we are a forked child): the main
            # thread's current hub takes over, if there is one.
            hub = getattr(_local, "hub", None)
            if hub is None:
                return
            self._hub = hub
        hub._post_signal(self._start)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def signal_handler(signum: int, fn: Callable[[*Ts], object], *args: *Ts) -> SignalHandle:
    """Run ``fn(*args)`` in a new task of this thread's hub soon after signal ``signum`` arrives.

    gevent's ``signal_handler``.  The loop is woken at once, even when it is idle; ``fn`` runs
    on the hub's next turn, in a task of its own, so it may block, set events and take locks
    (a plain Python handler that did so could deadlock on a lock the interrupted code holds).
    Several functions may handle one signal; each runs once per signal that arrives.  Errors in
    ``fn`` are reported like those of any task (see ``HubBase.handle_error``).  The
    registration does not keep the loop alive.

    Call it from the main thread: Python runs signal handlers there only.  The hub is created
    if the thread has none yet.

    Returns:
        A handle whose ``cancel()`` stops it; the signal's previous handler comes back when
        its last registration is cancelled.

    Raises:
        TypeError: ``fn`` is not callable.
        ValueError: called from another thread than the main one, or ``signum`` is not a
            signal that can be handled (``SIGKILL``, ``SIGSTOP``, out of range).
    """
    if not callable(fn):
        raise TypeError(f"`fn` must be callable, got {type(fn).__name__} {fn!r}")
    if isinstance(signum, bool) or not isinstance(signum, int):
        raise TypeError(f"`signum` must be a signal number, got {type(signum).__name__} {signum!r}")
    if threading.current_thread() is not threading.main_thread():
        raise ValueError(
            "signal_handler() must be called from the main thread: Python runs signal "
            "handlers only there"
        )
    signum = int(signum)
    if signum not in signal.valid_signals() or signum in _UNCATCHABLE:
        raise ValueError(f"`signum` {signum} ({_signal_name(signum)}) cannot be handled")
    hub = get_hub()
    handle = SignalHandle(signum, hub, fn, args)
    undo = hub._add_signal(signum, handle._start)
    if undo is None:
        _register(handle, hub)
        handle._undo = lambda: _unregister(handle)
    else:
        handle._undo = undo
    return handle


def _register(handle: SignalHandle, hub: HubBase) -> None:
    signum = handle.signum
    with _changes:
        handles = _handles.get(signum, ())
        if not handles:
            previous = signal.signal(signum, _dispatch)  # ValueError/OSError if it cannot be
            if previous is not _dispatch:
                _previous[signum] = previous
        _handles[signum] = (*handles, handle)
        _claim_wakeup_fd(hub)


def _unregister(handle: SignalHandle) -> None:
    signum = handle.signum
    with _changes:
        left = tuple(h for h in _handles.get(signum, ()) if h is not handle)
        if left:
            _handles[signum] = left
            return
        _handles.pop(signum, None)
        if threading.current_thread() is threading.main_thread():
            _restore(signum)
        mine = _wakeup
        if not _handles and mine is not None:
            release_wakeup_fd(mine[0])


def _restore(signum: int) -> object:
    """Put back the handler ``signum`` had before greensync's (main thread only)."""
    previous = _previous.pop(signum, signal.SIG_DFL)
    if signal.getsignal(signum) is _dispatch:
        signal.signal(signum, previous)
    return previous


def _dispatch(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler of every signal handled here (main thread, any moment)."""
    handles = _handles.get(signum)
    if handles:
        for handle in handles:
            handle._deliver()
        return
    # Every registration was cancelled from another thread: hand the signal to what was
    # there before, as if greensync had never been involved.
    previous = _restore(signum)
    if previous == signal.SIG_DFL:
        signal.raise_signal(signum)
    elif callable(previous):
        previous(signum, frame)


def _claim_wakeup_fd(hub: HubBase) -> None:
    """Point ``signal.set_wakeup_fd`` at ``hub``'s wake pipe, unless something else uses it."""
    global _wakeup
    mine = _wakeup
    if mine is not None and mine[0] is hub:
        return
    fd = hub._signal_wakeup_fd()
    if fd < 0:
        return
    try:
        old = signal.set_wakeup_fd(fd, warn_on_full_buffer=False)
    except ValueError:
        return  # not the main thread, or the descriptor is not usable
    if old != -1 and (mine is None or old != mine[1]):
        # Someone else's (asyncio's add_signal_handler, say): keep theirs; our handler writes
        # to our pipe itself.
        signal.set_wakeup_fd(old)
        return
    if mine is not None:
        mine[0]._wakes_signals = False
    _wakeup = (hub, fd)
    hub._wakes_signals = True


def release_wakeup_fd(hub: HubBase) -> None:
    """Unset ``signal.set_wakeup_fd`` if greensync pointed it at ``hub`` (before its fds close).

    Takes no lock: it also runs in a child process right after ``fork()``.
    """
    global _wakeup
    mine = _wakeup
    if mine is None or mine[0] is not hub:
        return
    _wakeup = None
    hub._wakes_signals = False
    try:
        current = signal.set_wakeup_fd(-1)
    except ValueError:
        return  # not the main thread: it stays set, and writes to a closed fd fail harmlessly
    if current != mine[1]:
        signal.set_wakeup_fd(current)  # not ours after all
