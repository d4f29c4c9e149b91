"""Adapters: gevent's hub, eventlet's hub and an asyncio loop, presented as a greensync hub.

Every greensync primitive reaches its scheduler only through :class:`HubBase`: ``run_callback``,
``run_callback_threadsafe``, ``call_later``, ``switch``, ``throw_into``, fd waits and the
batched wake-ups.  An adapter implements those few methods on top of another loop, so the
primitives run there unchanged.  The rules of the waiter protocol hold the same way:

* parked greenlets switch to the other loop's greenlet, and are woken by callbacks it runs;
* waking across threads goes through that loop's own thread-safe mechanism (gevent's async
  watcher, asyncio's ``call_soon_threadsafe``, a pipe registered with eventlet's hub);
* deadlock is still an error: gevent's own ``LoopExit`` is translated into ours, and for
  eventlet and asyncio, which would sleep forever, a watchdog timer notices that nothing is left
  to run while the main greenlet is parked;
* while another OS thread is alive the loop is kept alive, because that thread may still post.

Each adapter imports its framework only when it is created; none is a dependency of the hub
(install ``greensync-hub[gevent]`` or ``[eventlet]`` to get them).  Select one with
:func:`greensync.hub.use` before the first use of the hub in a thread, or with the
``GREENSYNC_HUB`` environment variable.
"""

from __future__ import annotations

import _thread
import asyncio
import os
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any, final

from greenlet import getcurrent, greenlet

from ._loop import (
    _PARK_CODES,
    CallbackHandle,
    HubBase,
    _check_callable,
    _check_delay,
    _Throw,
    parks,
)

__all__ = ["AsyncioHub", "EventletHub", "GeventHub"]

_greenlet_switch = greenlet.switch
_get_running_loop = asyncio.events._get_running_loop
_set_running_loop = asyncio.events._set_running_loop
_monotonic = time.monotonic

#: How often the watchdog of an adapter looks for a deadlock, or for other threads leaving.
_WATCH_INTERVAL = 0.02


class _Timer:
    """A timer handle over another loop's timer: ``cancel()``, ``pending``, ``ref``."""

    __slots__ = ("_cancel", "_fired", "_ref", "_set_ref", "when")

    def __init__(
        self,
        when: float,
        cancel: Callable[[], object],
        set_ref: Callable[[bool], object] | None,
        ref: bool,
    ) -> None:
        self.when = when
        self._cancel = cancel
        self._set_ref = set_ref
        self._ref = ref
        self._fired = False

    @property
    def pending(self) -> bool:
        """True until the timer has fired or been cancelled."""
        return not self._fired

    @property
    def ref(self) -> bool:
        """Whether this timer keeps the loop alive."""
        return self._ref

    @ref.setter
    def ref(self, value: bool) -> None:
        value = bool(value)
        if value != self._ref and not self._fired and self._set_ref is not None:
            self._set_ref(value)
        self._ref = value

    def cancel(self) -> None:
        """Stop the timer; a cancelled timer never fires."""
        if not self._fired:
            self._fired = True
            self._cancel()


class _AdapterHub(HubBase):
    """What the three adapters share: counted callbacks, error wrapping, deadlock watch."""

    def __init__(self) -> None:
        self._init_base()
        self._npending = 0
        self._ntimers = 0
        self._watching = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} thread={self._thread_ident} pending={self._npending}>"

    # -- the loop primitives each adapter maps ------------------------------------------------

    def _post(self, fn: Callable[[], object]) -> Callable[[], object]:
        """Queue ``fn()`` on the loop; return something whose call cancels it."""
        raise NotImplementedError

    def _post_threadsafe(self, fn: Callable[[], object]) -> None:
        raise NotImplementedError

    def _arm(self, seconds: float, fn: Callable[[], object], ref: bool) -> _Timer:
        return self._arm_at(self.time() + seconds, fn, ref)

    def _schedule_at(self, when: float, fn: Callable[[], object]) -> Callable[[], object]:
        """Arm a timer of the other loop for ``when``; return its cancel function."""
        raise NotImplementedError

    def _arm_at(self, when: float, fn: Callable[[], object], ref: bool) -> _Timer:
        # The other loop cannot tell us whether it still has work, so ref'd timers are
        # counted here; the watchdog's own timer is not.
        if fn == self._watchdog:
            return _Timer(when, self._schedule_at(when, fn), None, False)
        timer: _Timer

        def fire() -> None:
            if timer._ref:
                self._ntimers -= 1
            fn()

        cancel_underlying = self._schedule_at(when, fire)

        def cancel() -> None:
            if timer._ref:
                self._ntimers -= 1
            cancel_underlying()

        def set_ref(value: bool) -> None:
            self._ntimers += 1 if value else -1

        timer = _Timer(when, cancel, set_ref, ref)
        if ref:
            self._ntimers += 1
        return timer

    def call_at(
        self, when: float, fn: Callable[..., object], *args: Any, ref: bool = True
    ) -> _Timer | _GeventTimer:
        if isinstance(when, bool) or not isinstance(when, (int, float)) or when != when:
            return super().call_at(when, fn, *args, ref=ref)  # type: ignore[no-any-return]
        return self._timer_at(float(when), fn, args, ref)

    def _loop_is_idle(self) -> bool:
        """True if the other loop has nothing but our watchdog left to run."""
        raise NotImplementedError

    # -- HubBase ------------------------------------------------------------------------------

    def run_callback(self, fn: Callable[..., object], *args: Any) -> CallbackHandle:
        if not callable(fn):
            _check_callable(fn)  # type: ignore[unreachable]
        handle = CallbackHandle((fn, args))
        self._npending += 1

        def run() -> None:
            fn = handle[0]
            if fn is None:
                return
            handle[0] = None
            self._npending -= 1
            self._call(fn, handle[1])

        self._post(run)
        return _CountedHandle(handle, self)

    def run_callback_threadsafe(self, fn: Callable[..., object], *args: Any) -> CallbackHandle:
        if not callable(fn):
            _check_callable(fn)  # type: ignore[unreachable]
        handle = CallbackHandle((fn, args))

        def run() -> None:
            if handle[0] is not None:
                self._call(handle[0], handle[1])

        self._post_threadsafe(run)
        return handle

    def call_later(
        self, seconds: float, fn: Callable[..., object], *args: Any, ref: bool = True
    ) -> _Timer | _GeventTimer:
        delay = _check_delay(seconds, "seconds")
        return self._timer_at(self.time() + delay, fn, args, ref)

    def _timer_at(
        self, when: float, fn: Callable[..., object], args: tuple[Any, ...], ref: bool
    ) -> _Timer | _GeventTimer:
        if not callable(fn):
            _check_callable(fn)  # type: ignore[unreachable]
        timer: _Timer

        def fire() -> None:
            if timer._fired:
                return
            timer._fired = True
            self._call(fn, args)

        timer = self._arm_at(when, fire, ref)
        return timer

    @parks
    def _switch_to_loop(self, loop_greenlet: greenlet) -> Any:
        # Keep the other loop alive while another thread might post, and watch for deadlock
        # while the main greenlet is parked.
        # (_thread._count() counts the other live threads, without threading's lock.)
        if not self._watching and (getcurrent() is self._main or _thread._count()):
            self._watch()
        return self._switch_raw(loop_greenlet)

    @parks
    def _switch_raw(self, loop_greenlet: greenlet) -> Any:
        return _greenlet_switch(loop_greenlet)

    def _pending(self) -> int:
        return self._npending + len(self._wakes)

    def _wait_fd(self, fd: int, direction: int, timeout: float | None) -> None:
        current = getcurrent()
        if current is self._loop_greenlet:
            raise RuntimeError("cannot block inside the hub: wait_readable/wait_writable")
        stop = self._watch_fd(fd, direction, current.switch)
        timer = None
        if timeout is not None:
            timer = self.call_later(timeout, current.switch, _FD_TIMEOUT)
        try:
            what = f"fd {fd} {'readable' if direction == 0 else 'writable'}"
            result = self.switch(what)
        finally:
            if timer is not None:
                timer.cancel()
            stop()
        if result is _FD_TIMEOUT:
            raise TimeoutError(f"fd {fd} was not ready within {timeout} seconds")

    def _watch_fd(self, fd: int, direction: int, wake: Callable[[], object]) -> Callable[[], None]:
        raise NotImplementedError

    # -- shared machinery ---------------------------------------------------------------------

    def _call(self, fn: Callable[..., object], args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except BaseException as exc:  # noqa: BLE001 - reported, loop survives
            self._callback_error(fn, exc)

    def _watch(self) -> None:
        """Start the watchdog: it keeps the loop alive while other threads exist and turns
        "nothing left to run while the main greenlet is parked" into LoopExit."""
        if not self._watching:
            self._watching = True
            self._arm(_WATCH_INTERVAL, self._watchdog, True)

    def _watchdog(self) -> None:
        if self._npending or self._wakes or not self._loop_is_idle():
            self._not_stuck()
            self._arm(_WATCH_INTERVAL, self._watchdog, True)
            return
        if threading.active_count() > 1:
            # Idle, but another thread might still post: keep waiting, and warn if it lasts.
            frame = self._main.gr_frame
            if frame is not None and frame.f_code in _PARK_CODES:
                self._note_stuck(_monotonic())
            self._arm(_WATCH_INTERVAL, self._watchdog, True)
            return
        self._watching = False
        idle = self._idle_waiters
        if idle:
            self._idle_waiters = []
            for glet in idle:
                glet.switch(True)
            return
        if not self._main.dead and self._main.gr_frame is not None:
            parked = self._main.gr_frame.f_code in _PARK_CODES
            if parked:
                self._main.switch(_Throw(self._loop_exit(self._main.gr_frame)))


@final
class _CountedHandle(CallbackHandle):  # type: ignore[misc]  # final to users, not to the hub
    """A callback handle whose cancel also uncounts the callback (adapters only)."""

    __slots__ = ("_hub",)

    def __init__(self, inner: CallbackHandle, hub: _AdapterHub) -> None:
        super().__init__(())
        self._hub = hub
        self.append(inner)

    @property
    def cancelled(self) -> bool:
        return self[0][0] is None

    def cancel(self) -> None:
        inner = self[0]
        if inner[0] is not None:
            inner[0] = None
            self._hub._npending -= 1


_FD_TIMEOUT = object()


# -- gevent ---------------------------------------------------------------------------------


@final
class _GeventTimer:
    """A greensync timer handle over a libev/libuv timer watcher of gevent's loop."""

    __slots__ = ("_watcher", "when")

    def __init__(self, watcher: Any, when: float) -> None:
        self._watcher: Any = watcher
        self.when = when

    @property
    def pending(self) -> bool:
        """True until the timer has fired or been cancelled."""
        return self._watcher is not None

    @property
    def ref(self) -> bool:
        """Whether this timer keeps the loop alive."""
        watcher = self._watcher
        return bool(watcher.ref) if watcher is not None else False

    @ref.setter
    def ref(self, value: bool) -> None:
        watcher = self._watcher
        if watcher is not None:
            watcher.ref = bool(value)

    def cancel(self) -> None:
        """Stop the timer; a cancelled timer never fires (and lets go of its call at once)."""
        self.close()

    def close(self) -> None:
        watcher = self._watcher
        if watcher is not None:
            self._watcher = None
            watcher.close()


@final
class GeventHub(_AdapterHub):
    """greensync's hub interface over gevent's hub (and its libev/libuv loop) in this thread.

    Greenlets park by switching to gevent's hub greenlet; greensync tasks are children of it,
    so gevent greenlets and greensync tasks interleave in one loop.  gevent's ``LoopExit`` is
    re-raised as greensync's.
    """

    def __init__(self) -> None:
        super().__init__()
        import gevent
        import gevent.exceptions

        self._ghub = gevent.get_hub()
        self._gloop = self._ghub.loop
        self._loop_greenlet = self._ghub
        self._gevent_loop_exit = gevent.exceptions.LoopExit

    def time(self) -> float:
        return _monotonic()

    def _post(self, fn: Callable[[], object]) -> Callable[[], object]:
        cb = self._gloop.run_callback(fn)
        return cb.stop  # type: ignore[no-any-return]

    def _post_threadsafe(self, fn: Callable[[], object]) -> None:
        self._gloop.run_callback_threadsafe(fn)

    def _post_wakes(self) -> None:
        self._gloop.run_callback(self._run_wakes)

    def _yield_turn(self, current: greenlet) -> None:
        # HubBase._yield_turn without the handle and closure of run_callback: gevent's own
        # callback, counted for _pending() (the testing helpers) by hand.
        self._npending += 1
        callback = self._gloop.run_callback(self._resume, current)
        try:
            self.switch("sleep")
        finally:
            if callback.pending:
                callback.stop()
                self._npending -= 1

    def _resume(self, glet: greenlet) -> None:
        self._npending -= 1
        glet.switch()

    def _timer_at(
        self, when: float, fn: Callable[..., object], args: tuple[Any, ...], ref: bool
    ) -> _GeventTimer:
        # libev's own timer, started with the call and its arguments: no closure, no wrapper
        # timer (gevent keeps its own count of what keeps the loop alive).
        if not callable(fn):
            _check_callable(fn)  # type: ignore[unreachable]
        self._gloop.update_now()
        watcher = self._gloop.timer(max(0.0, when - _monotonic()), ref=ref)
        handle = _GeventTimer(watcher, when)
        watcher.start(self._fire, handle, fn, args)
        return handle

    def _fire(self, handle: _GeventTimer, fn: Callable[..., object], args: tuple[Any, ...]) -> None:
        handle.close()  # fired: let go of the call and its arguments at once
        self._call(fn, args)

    def _arm_at(self, when: float, fn: Callable[[], object], ref: bool) -> _Timer:
        self._gloop.update_now()
        seconds = max(0.0, when - _monotonic())
        watcher = self._gloop.timer(seconds, ref=ref)
        watcher.start(fn)

        def set_ref(value: bool) -> None:
            watcher.ref = value

        return _Timer(when, watcher.close, set_ref, ref)

    def _loop_is_idle(self) -> bool:
        # gevent raises its own LoopExit when idle; our watchdog only keeps it alive.
        return False

    @parks
    def _switch_raw(self, loop_greenlet: greenlet) -> Any:
        try:
            return _greenlet_switch(loop_greenlet)
        except self._gevent_loop_exit as exc:
            raise self._loop_exit(sys._getframe()) from exc

    def _watchdog(self) -> None:
        if threading.active_count() > 1:
            self._arm(_WATCH_INTERVAL, self._watchdog, True)
        else:
            self._watching = False

    def handle_error(self, context: object, exc: BaseException) -> None:
        """Log the error (see :meth:`HubBase.handle_error`), then hand it to gevent's hub.

        So an error-reporting hook installed on ``gevent.get_hub().handle_error`` sees the
        errors of greensync tasks and callbacks too.
        """
        super().handle_error(context, exc)
        self._ghub.handle_error(context, type(exc), exc, exc.__traceback__)

    def _add_signal(self, signum: int, start: Callable[[], object]) -> Callable[[], None] | None:
        # libev watches the signal itself and wakes its loop; the handler runs in a gevent
        # greenlet, from which ``start`` spawns the greensync task.
        import gevent

        watcher = gevent.signal_handler(signum, start)
        return watcher.cancel  # type: ignore[no-any-return]

    def _wait_idle(self, timeout: float | None) -> bool:
        import gevent

        return bool(gevent.wait(timeout=timeout))

    def _watch_fd(self, fd: int, direction: int, wake: Callable[[], object]) -> Callable[[], None]:
        watcher = self._gloop.io(fd, 1 if direction == 0 else 2)
        watcher.start(wake)
        return watcher.close  # type: ignore[no-any-return]

    def destroy(self) -> None:
        super().destroy()


# -- eventlet -------------------------------------------------------------------------------


@final
class EventletHub(_AdapterHub):
    """greensync's hub interface over eventlet's hub in this thread.

    eventlet has no thread-safe callback, so posts from other threads go through a deque and a
    pipe registered with eventlet's hub.  eventlet would sleep forever on a deadlock; the
    watchdog raises ``LoopExit`` instead.
    """

    def __init__(self) -> None:
        super().__init__()
        with warnings.catch_warnings():
            # eventlet warns that it is deprecated on import; greensync is the way out of it.
            warnings.simplefilter("ignore")
            import eventlet.hubs

        self._ehub = eventlet.hubs.get_hub()
        self._READ = eventlet.hubs.hub.READ
        self._WRITE = eventlet.hubs.hub.WRITE
        self._loop_greenlet = self._ehub.greenlet
        self._threadsafe: deque[Callable[[], object]] = deque()
        self._pipe_r, self._pipe_w = os.pipe()
        os.set_blocking(self._pipe_r, False)
        os.set_blocking(self._pipe_w, False)
        self._pipe_listener = self._ehub.add(
            self._READ, self._pipe_r, self._drain_threadsafe, self._ignore, None
        )
        self._nwatchers = 0

    def time(self) -> float:
        return float(self._ehub.clock())

    @staticmethod
    def _ignore(*_args: object) -> None:
        return

    @parks
    def _switch_raw(self, loop_greenlet: greenlet) -> Any:
        if loop_greenlet.dead:
            self._ehub.ensure_greenlet()
            self._loop_greenlet = loop_greenlet = self._ehub.greenlet
        return _greenlet_switch(loop_greenlet)

    def _post(self, fn: Callable[[], object]) -> Callable[[], object]:
        timer = self._ehub.schedule_call_global(0, fn)
        return timer.cancel  # type: ignore[no-any-return]

    def _post_wakes(self) -> None:
        self._ehub.schedule_call_global(0, self._run_wakes)

    def _post_threadsafe(self, fn: Callable[[], object]) -> None:
        self._threadsafe.append(fn)
        try:
            os.write(self._pipe_w, b"\0")
        except (BlockingIOError, OSError):
            return

    def _drain_threadsafe(self, _fd: int) -> None:
        try:
            while os.read(self._pipe_r, 4096):
                continue
        except (BlockingIOError, OSError):
            pass
        queue = self._threadsafe
        for _ in range(len(queue)):
            fn = queue.popleft()
            self._call(fn, ())

    def _schedule_at(self, when: float, fn: Callable[[], object]) -> Callable[[], object]:
        timer = self._ehub.schedule_call_global(max(0.0, when - self.time()), fn)
        return timer.cancel  # type: ignore[no-any-return]

    def _loop_is_idle(self) -> bool:
        return self._ntimers <= 0 and self._nwatchers <= 0 and not self._threadsafe

    def _watch_fd(self, fd: int, direction: int, wake: Callable[[], object]) -> Callable[[], None]:
        kind = self._READ if direction == 0 else self._WRITE
        listener = self._ehub.add(kind, fd, lambda _fd: wake(), self._ignore, None)
        self._nwatchers += 1

        def stop() -> None:
            self._nwatchers -= 1
            self._ehub.remove(listener)

        return stop

    def handle_error(self, context: object, exc: BaseException) -> None:
        """Log the error (see :meth:`HubBase.handle_error`), then hand it to eventlet's hub.

        eventlet's hook for errors outside a greenthread is
        ``hub.squelch_generic_exception(exc_info)``; replace it there to see greensync's too.
        """
        super().handle_error(context, exc)
        self._ehub.squelch_generic_exception((type(exc), exc, exc.__traceback__))

    def _signal_wakeup_fd(self) -> int:
        return self._pipe_w

    def _after_fork(self) -> None:
        super()._after_fork()
        self._release_wakeup_fd()
        for fd in (self._pipe_r, self._pipe_w):
            try:
                os.close(fd)
            except OSError:
                continue

    def destroy(self) -> None:
        super().destroy()
        self._release_wakeup_fd()
        try:
            self._ehub.remove(self._pipe_listener)
        except (KeyError, ValueError):
            pass
        for fd in (self._pipe_r, self._pipe_w):
            try:
                os.close(fd)
            except OSError:
                continue


# -- asyncio --------------------------------------------------------------------------------


@final
class AsyncioHub(_AdapterHub):
    """greensync's hub interface over an asyncio event loop.

    Two ways in.  Selected with ``use("asyncio")``, the hub runs a private event loop in a
    greenlet of its own (as gevent runs libev), so plain greenlet code works unchanged.  From
    inside a running loop, :func:`greensync.hub.aio.run_greenlet` binds this thread's hub to
    that loop instead: greenlets started from a coroutine park on greensync primitives and are
    resumed by the loop's own callbacks and timers.
    """

    _is_asyncio = True

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__()
        if loop is None:
            self._loop = asyncio.new_event_loop()
            self._owns_loop = True
            self._loop_greenlet = greenlet(self._run_forever, parent=self._main)
        else:
            self._loop = loop
            self._owns_loop = False
            self._loop_greenlet = getcurrent()
        self._nwatchers = 0

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The asyncio event loop this hub runs on."""
        return self._loop

    def _run_forever(self) -> None:
        asyncio.set_event_loop(self._loop)
        while True:
            self._loop.run_forever()

    def _call(self, fn: Callable[..., object], args: tuple[Any, ...]) -> None:
        # The loop runs this callback, which may switch into a greenlet: greenlet code is not a
        # coroutine of this loop, and must not find it "running" (asyncio.run() in a greenlet,
        # or in the main greenlet while it waits, would fail with "cannot be called from a
        # running event loop").  The loop is running again once the greenlet switches back.
        running = _get_running_loop()
        _set_running_loop(None)
        try:
            super()._call(fn, args)
        finally:
            _set_running_loop(running)

    def time(self) -> float:
        return self._loop.time()

    def _post(self, fn: Callable[[], object]) -> Callable[[], object]:
        return self._loop.call_soon(fn).cancel

    def _post_wakes(self) -> None:
        self._loop.call_soon(self._call, self._run_wakes, ())

    def _post_threadsafe(self, fn: Callable[[], object]) -> None:
        try:
            self._loop.call_soon_threadsafe(fn)
        except RuntimeError:
            # The loop was closed: the thread that owned it is gone, nobody waits any more.
            return

    def _schedule_at(self, when: float, fn: Callable[[], object]) -> Callable[[], object]:
        return self._loop.call_at(when, fn).cancel

    def _loop_is_idle(self) -> bool:
        ready = getattr(self._loop, "_ready", None)
        return self._ntimers <= 0 and self._nwatchers <= 0 and not ready

    def _watch_fd(self, fd: int, direction: int, wake: Callable[[], object]) -> Callable[[], None]:
        if direction == 0:
            self._loop.add_reader(fd, self._call, wake, ())
            remove: Callable[[int], object] = self._loop.remove_reader
        else:
            self._loop.add_writer(fd, self._call, wake, ())
            remove = self._loop.remove_writer
        self._nwatchers += 1

        def stop() -> None:
            self._nwatchers -= 1
            remove(fd)

        return stop

    def destroy(self) -> None:
        super().destroy()
        if self._owns_loop and not self._loop.is_running():
            self._loop.close()

    def _thread_ended(self) -> None:
        # A private loop left open would warn (ResourceWarning) when collected.
        super()._thread_ended()
        if self._owns_loop and not self._loop.is_running():
            self._loop.close()
