"""Adapters: greensync's hub interface over gevent, eventlet and a live asyncio loop.

The whole suite also runs with each adapter selected (``nox -s compat-gevent`` and friends);
these tests check what only an adapter can show: greensync waits mixed with the framework's own
greenlets, timeouts and kills, and coroutines awaiting greensync objects.  Each runs in a fresh
thread that gets the adapter, so they run in every session where the framework is installed.
"""

from __future__ import annotations

import asyncio
import os
import threading
import warnings
from typing import Any

import pytest

from greensync.hub import (
    LoopExit,
    Waiter,
    get_hub,
    sleep,
    spawn,
    use,
)
from greensync.hub._adapters import AsyncioHub
from greensync.hub.aio import bind_running_loop, run_greenlet, wait_ready
from greensync.hub.testing import Trace, assert_no_links, run_with_hub


def test_use_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="`name` must be one of builtin, gevent"):
        use("twisted")
    with pytest.raises(TypeError, match="`name` must be a str"):
        use(3)  # type: ignore[arg-type]


def test_use_refuses_to_swap_the_hub_of_a_running_thread() -> None:
    def body() -> str:
        get_hub()
        try:
            use("asyncio")
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    message = run_with_hub("builtin", body)
    assert "before the hub is first used" in message


# -- asyncio: a live loop ---------------------------------------------------------------------


def _in_fresh_thread(fn: Any) -> Any:
    out: list[Any] = []
    errors: list[BaseException] = []

    def body() -> None:
        try:
            out.append(fn())
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            errors.append(exc)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "asyncio test thread deadlocked"
    if errors:
        raise errors[0]
    return out[0]


def test_greenlets_under_a_live_asyncio_loop() -> None:
    trace = Trace()

    def producer(waiter: Waiter[str]) -> int:
        trace("greenlet started")
        sleep(0.01)  # a loop timer resumes it
        trace("greenlet slept")
        waiter.switch("hello")
        return 42

    async def main() -> tuple[str, int, bool]:
        waiter: Waiter[str] = Waiter()
        running = asyncio.ensure_future(run_greenlet(producer, waiter))
        trace("coroutine waits")
        await wait_ready(waiter)
        trace("coroutine woke")
        value = await running
        return waiter.get(), value, isinstance(get_hub(), AsyncioHub)

    got = _in_fresh_thread(lambda: asyncio.run(main()))
    assert got == ("hello", 42, True)
    assert trace == ["coroutine waits", "greenlet started", "greenlet slept", "coroutine woke"]


def test_greenlet_parks_until_a_coroutine_wakes_it() -> None:
    async def main() -> str:
        waiter: Waiter[str] = Waiter()
        running = asyncio.ensure_future(run_greenlet(waiter.get))
        await asyncio.sleep(0.01)
        assert not running.done()
        waiter.switch("from the coroutine")
        return await running

    assert _in_fresh_thread(lambda: asyncio.run(main())) == "from the coroutine"


def test_wait_ready_times_out_and_unlinks() -> None:
    async def main() -> int:
        bind_running_loop()
        waiter: Waiter[int] = Waiter()
        with pytest.raises(TimeoutError):
            await wait_ready(waiter, timeout=0.01)
        return waiter.linkcount()

    assert _in_fresh_thread(lambda: asyncio.run(main())) == 0


def test_wait_ready_set_from_another_thread() -> None:
    async def main() -> str:
        waiter: Waiter[str] = Waiter()
        bind_running_loop()
        threading.Timer(0.02, waiter.switch, args=("cross-thread",)).start()
        await wait_ready(waiter, timeout=30)
        return waiter.get()

    assert _in_fresh_thread(lambda: asyncio.run(main())) == "cross-thread"


def test_run_greenlet_propagates_errors_and_cancellation_kills() -> None:
    def fail() -> None:
        raise KeyError("inside the greenlet")

    async def main() -> bool:
        with pytest.raises(KeyError):
            await run_greenlet(fail)
        waiter: Waiter[int] = Waiter()
        running = asyncio.ensure_future(run_greenlet(waiter.get))
        await asyncio.sleep(0.01)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        await asyncio.sleep(0.01)
        return waiter.linkcount() == 0

    assert _in_fresh_thread(lambda: asyncio.run(main())) is True


def test_asyncio_hub_repr_and_rebinding_after_the_loop_closed() -> None:
    async def one() -> AsyncioHub:
        return bind_running_loop()

    def body() -> bool:
        first = asyncio.run(one())
        second = asyncio.run(one())
        return first is not second and first.loop.is_closed() and "AsyncioHub" in repr(second)

    assert _in_fresh_thread(body) is True


def test_wait_ready_outside_a_loop_is_an_error() -> None:
    with pytest.raises(TypeError, match="linkable"):
        asyncio.run(wait_ready(object()))


# -- gevent -----------------------------------------------------------------------------------


def test_gevent_greenlets_and_greensync_waits_interleave() -> None:
    gevent = pytest.importorskip("gevent")
    trace = Trace()

    def body() -> list[str]:
        waiter: Waiter[str] = Waiter()

        def gevent_side() -> None:
            trace("gevent greenlet runs")
            gevent.sleep(0.01)
            waiter.switch("from gevent")

        gevent.spawn(gevent_side)
        trace(f"greensync got {waiter.get(timeout=30)}")
        task = spawn(lambda: trace("greensync task runs"))
        gevent.sleep(0)
        task.join()
        return list(trace)

    assert run_with_hub("gevent", body) == [
        "gevent greenlet runs",
        "greensync got from gevent",
        "greensync task runs",
    ]


def test_gevent_timeout_around_a_greensync_wait_leaves_it_clean() -> None:
    gevent = pytest.importorskip("gevent")

    def body() -> tuple[bool, int]:
        waiter: Waiter[int] = Waiter()
        fired = False
        try:
            with gevent.Timeout(0.01):
                waiter.get()
        except gevent.Timeout:
            fired = True
        return fired, waiter.linkcount()

    assert run_with_hub("gevent", body) == (True, 0)


def test_gevent_kill_of_a_parked_greensync_task() -> None:
    gevent = pytest.importorskip("gevent")

    def body() -> tuple[bool, int]:
        waiter: Waiter[int] = Waiter()
        task = spawn(waiter.get)
        gevent.sleep(0)
        task.kill()
        return task.successful(), waiter.linkcount()

    assert run_with_hub("gevent", body) == (True, 0)


def test_gevent_cross_thread_wake() -> None:
    pytest.importorskip("gevent")

    def body() -> str:
        waiter: Waiter[str] = Waiter()
        threading.Timer(0.05, waiter.switch, args=("posted",)).start()
        return waiter.get(timeout=30)

    assert run_with_hub("gevent", body) == "posted"


# -- eventlet ---------------------------------------------------------------------------------


def _import_eventlet() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("eventlet")


def test_eventlet_greenthreads_and_greensync_waits_interleave() -> None:
    eventlet = _import_eventlet()
    trace = Trace()

    def body() -> list[str]:
        waiter: Waiter[str] = Waiter()

        def eventlet_side() -> None:
            trace("eventlet greenthread runs")
            eventlet.sleep(0.01)
            waiter.switch("from eventlet")

        eventlet.spawn(eventlet_side)
        trace(f"greensync got {waiter.get(timeout=30)}")
        return list(trace)

    assert run_with_hub("eventlet", body) == [
        "eventlet greenthread runs",
        "greensync got from eventlet",
    ]


def test_eventlet_timeout_around_a_greensync_wait_leaves_it_clean() -> None:
    eventlet = _import_eventlet()

    def body() -> tuple[bool, int]:
        waiter: Waiter[int] = Waiter()
        fired = False
        try:
            with eventlet.Timeout(0.01):
                waiter.get()
        except eventlet.Timeout:
            fired = True
        return fired, waiter.linkcount()

    assert run_with_hub("eventlet", body) == (True, 0)


def test_eventlet_cross_thread_wake() -> None:
    _import_eventlet()

    def body() -> str:
        waiter: Waiter[str] = Waiter()
        threading.Timer(0.05, waiter.switch, args=("posted",)).start()
        return waiter.get(timeout=30)

    assert run_with_hub("eventlet", body) == "posted"


def test_adapter_timers_ref_and_cancel() -> None:
    def body() -> list[str]:
        hub = get_hub()
        trace = Trace()
        hub.call_later(0.005, trace, "fired")
        gone = hub.call_later(0.001, trace, "cancelled")
        gone.cancel()
        unref = hub.call_later(30, trace, "never", ref=False)
        assert unref.ref is False
        assert unref.pending
        sleep(0.02)
        unref.cancel()
        assert not unref.pending
        assert not gone.pending
        return list(trace)

    for name in ("asyncio", "gevent", "eventlet"):
        if name != "asyncio":
            try:
                if name == "eventlet":
                    _import_eventlet()
                else:
                    __import__(name)
            except ImportError:
                continue
        assert run_with_hub(name, body) == ["fired"], name


def test_links_left_clean_under_every_adapter() -> None:
    def body() -> int:
        waiter: Waiter[int] = Waiter()
        with pytest.raises(TimeoutError):
            waiter.get(timeout=0.001)
        assert_no_links(waiter)
        return waiter.linkcount()

    assert run_with_hub("asyncio", body) == 0


@pytest.mark.skipif(
    os.environ.get("GREENSYNC_HUB", "builtin") in ("", "builtin"),
    reason="checks the adapter selected for this run",
)
def test_the_selected_adapter_runs_this_suite() -> None:
    from greensync.hub import Hub

    hub = get_hub()
    assert not isinstance(hub, Hub)
    assert type(hub).__name__.lower().startswith(os.environ["GREENSYNC_HUB"].lower())
    with pytest.raises(LoopExit, match="would block forever"):
        Waiter().get()
