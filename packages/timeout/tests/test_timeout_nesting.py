"""Nested timeouts: each fires on its own, each is caught by its own block, none hides another."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from greensync.hub import sleep, spawn
from greensync.hub.testing import Trace
from greensync.timeout import Timeout, with_timeout


class Boom(Exception):
    pass


def raised_by(fn: Callable[[], object]) -> BaseException:
    """Call ``fn`` and return what it raised (it must raise)."""
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - the test inspects it
        return exc
    raise AssertionError(f"{fn!r} raised nothing")


def test_inner_timeout_firing_first_is_caught_by_the_inner_block_only() -> None:
    trace = Trace()
    with Timeout(10) as outer:
        try:
            with Timeout(0.01) as inner:
                sleep(1)
        except Timeout as exc:
            trace("inner caught" if exc is inner else "wrong timeout")
        assert outer.pending
        trace("outer block goes on")
    assert trace == ["inner caught", "outer block goes on"]
    assert not outer.pending


def test_outer_timeout_firing_first_goes_through_the_inner_block() -> None:
    trace = Trace()
    try:
        with Timeout(0.01) as outer:
            try:
                with Timeout(10) as inner:
                    sleep(1)
            except Timeout as exc:
                trace("outer seen in inner handler" if exc is outer else "wrong timeout")
                raise
            trace("not reached")
    except Timeout as exc:
        trace("outer caught" if exc is outer else "wrong timeout")
    assert trace == ["outer seen in inner handler", "outer caught"]
    assert not inner.pending


def test_silent_inner_timeout_does_not_hide_an_outer_one_that_fires_first() -> None:
    trace = Trace()
    outer = Timeout(0.01)

    def body() -> None:
        with outer:
            with Timeout(10, False):
                sleep(1)
            trace("not reached")

    assert raised_by(body) is outer
    assert trace == []


def test_silent_inner_timeout_with_the_same_delay_does_not_hide_the_outer_one() -> None:
    # The outer timer was armed first, so it fires first; the inner one is cancelled on exit.
    with pytest.raises(Timeout) as info, Timeout(0.01) as outer, Timeout(0.01, False):
        sleep(1)
    assert info.value is outer


def test_silent_inner_then_outer_each_fire_in_turn() -> None:
    trace = Trace()
    with Timeout(0.03, False):
        with Timeout(0.01, False):
            sleep(1)
        trace("inner left silently")
        sleep(1)
        trace("not reached")
    trace("outer left silently")
    assert trace == ["inner left silently", "outer left silently"]


def test_outer_with_its_own_exception_goes_through_silent_inner() -> None:
    with pytest.raises(Boom), Timeout(0.01, Boom), Timeout(10, False):
        sleep(1)


def test_inner_silent_timeout_firing_during_the_outer_ones_cleanup_does_not_hide_it() -> None:
    # The outer timeout fires; while it unwinds through the inner block, clean-up code there
    # blocks past the inner deadline.  The inner firing must not swallow the outer one.
    trace = Trace()
    outer = Timeout(0.01)

    def body() -> None:
        with outer:
            with Timeout(0.03, False):
                try:
                    sleep(1)
                finally:
                    trace("cleanup")
                    sleep(1)  # the inner timeout fires here
                    trace("not reached")
            trace("not reached either")

    assert raised_by(body) is outer
    assert trace == ["cleanup"]


def test_inner_loud_timeout_firing_during_the_outer_ones_cleanup_gives_way_to_it() -> None:
    boom = Boom("outer")

    def body() -> None:
        with Timeout(0.01, boom), Timeout(0.03):
            try:
                sleep(1)
            finally:
                sleep(1)  # the inner timeout fires here

    assert raised_by(body) is boom


def test_with_timeout_firing_during_the_outer_ones_cleanup_gives_way_to_it() -> None:
    def slow_cleanup() -> str:
        try:
            sleep(1)
        finally:
            sleep(1)
        return "done"

    with pytest.raises(Timeout) as info, Timeout(0.01) as outer:
        with_timeout(0.03, slow_cleanup, timeout_value="timed out")
    assert info.value is outer


def test_silent_timeout_in_a_handler_of_an_outer_timeout_still_works() -> None:
    # The outer timeout fired *before* the inner block started: the handler is handling it on
    # purpose, and the inner silent timeout is the handler's own business.
    trace = Trace()
    with Timeout(0.01) as outer:
        try:
            sleep(1)
        except Timeout as exc:
            trace("outer caught" if exc is outer else "wrong timeout")
            with Timeout(0.01, False):
                trace("best-effort cleanup")
                sleep(1)
            trace("handler finished")
    trace("after outer")
    assert trace == ["outer caught", "best-effort cleanup", "handler finished", "after outer"]


def test_five_levels_each_caught_at_its_own_level() -> None:
    trace = Trace()
    delays = [0.09, 0.07, 0.05, 0.03, 0.01]  # innermost fires first

    def level(depth: int) -> None:
        if depth == len(delays):
            sleep(1)
            return
        try:
            with Timeout(delays[depth]) as timeout:
                level(depth + 1)
                sleep(1)
        except Timeout as exc:
            if exc is not timeout:
                raise
            trace(f"level {depth}")

    level(0)
    assert trace == ["level 4", "level 3", "level 2", "level 1", "level 0"]


def test_timeouts_in_different_greenlets_fire_only_where_they_were_started() -> None:
    trace = Trace()

    def worker(name: str, delay: float) -> None:
        try:
            with Timeout(delay) as timeout:
                sleep(0.2)
                trace(f"{name} slept")
        except Timeout as exc:
            trace(f"{name} timed out" if exc is timeout else f"{name} got a foreign timeout")

    tasks = [spawn(worker, "a", 0.01), spawn(worker, "b", 10), spawn(worker, "c", 0.03)]
    for task in tasks:
        task.join()
    assert trace == ["a timed out", "c timed out", "b slept"]


def test_a_timeout_started_by_hand_fires_only_in_its_greenlet() -> None:
    trace = Trace()
    timeouts: list[Timeout] = []

    def starter() -> None:
        timeouts.append(Timeout.start_new(0.01))
        try:
            sleep(1)
        except Timeout:
            trace("starter timed out")

    def bystander() -> None:
        sleep(0.05)
        trace("bystander untouched")

    tasks = [spawn(starter), spawn(bystander)]
    sleep(0.05)
    trace("main untouched")
    for task in tasks:
        task.join()
    # main armed its 0.05 s timer before the bystander did, so it wakes first
    assert trace == ["starter timed out", "main untouched", "bystander untouched"]
    timeouts[0].close()
