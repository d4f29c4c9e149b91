"""Which hub a thread gets: the host framework found by itself, ``use()`` and its errors.

Issue 13: a gevent program that used greensync without ``use("gevent")`` froze; ``use("gevent")``
was accepted without gevent installed and failed later with a bare ``ModuleNotFoundError``;
``greensync.hub.aio`` was not reachable after ``import greensync.hub``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from typing import Any

import pytest

import greensync.hub._current as current
from greensync.hub import Hub, get_hub, use
from greensync.hub.testing import run_in_threads

EVENTLET_MISSING = False
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
        import eventlet.hubs as eventlet_hubs
    except ImportError:  # pragma: no cover - eventlet is installed in every session here
        EVENTLET_MISSING = True


@pytest.fixture
def no_choice_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a program that never called use() (the compat sessions set GREENSYNC_HUB)."""
    monkeypatch.setattr(current, "_factory", current._default_factory)


def _in_new_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn()`` in a fresh thread (its own hub, made the default way; destroyed after)."""
    return run_in_threads(lambda _: fn(), 1, timeout=60, what="the test thread")[0]


def test_a_thread_where_geventss_hub_exists_gets_the_gevent_adapter(no_choice_made: None) -> None:
    gevent = pytest.importorskip("gevent")

    def body() -> str:
        ghub = gevent.get_hub()
        try:
            return type(get_hub()).__name__
        finally:
            ghub.destroy(destroy_loop=True)

    assert _in_new_thread(body) == "GeventHub"


@pytest.mark.skipif(EVENTLET_MISSING, reason="eventlet is not installed")
def test_a_thread_where_eventlets_hub_exists_gets_the_eventlet_adapter(
    no_choice_made: None,
) -> None:
    def body() -> str:
        eventlet_hubs.get_hub()
        try:
            return type(get_hub()).__name__
        finally:
            eventlet_hubs._threadlocal.hub = None

    assert _in_new_thread(body) == "EventletHub"


def test_a_thread_without_a_host_hub_gets_the_built_in_hub(no_choice_made: None) -> None:
    assert _in_new_thread(lambda: type(get_hub()).__name__) in ("Hub", "ChaosHub")


def test_use_still_forces_a_choice_where_geventss_hub_exists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gevent = pytest.importorskip("gevent")
    monkeypatch.setattr(current, "_factory", current._factory)  # restored afterwards
    _in_new_thread(lambda: use("builtin"))  # a thread without a hub yet may choose

    def body() -> bool:
        ghub = gevent.get_hub()
        try:
            return isinstance(get_hub(), Hub)
        finally:
            ghub.destroy(destroy_loop=True)

    assert _in_new_thread(body) is True


def test_greensync_hub_environment_variable_still_forces_a_choice() -> None:
    pytest.importorskip("gevent")
    script = textwrap.dedent(
        """
        import gevent
        gevent.get_hub()
        from greensync.hub import get_hub
        print(type(get_hub()).__name__)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("GREENSYNC_HUB", "GREENSYNC_CHAOS")}
    chosen = {}
    for value in ("builtin", ""):
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            env={**env, "GREENSYNC_HUB": value},
        )
        assert done.returncode == 0, done.stderr
        chosen[value] = done.stdout.strip()
    assert chosen == {"builtin": "Hub", "": "GeventHub"}


@pytest.mark.parametrize("framework", ["gevent", "eventlet"])
def test_use_fails_in_use_itself_naming_the_extra_when_the_framework_is_missing(
    framework: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry in sys.modules is how Python spells "this module cannot be imported":
    # find_spec() returns None for it, and ``import`` raises.
    monkeypatch.setitem(sys.modules, framework, None)
    chosen = current._factory
    with pytest.raises(ModuleNotFoundError) as info:
        use(framework)
    assert f"pip install 'greensync-hub[{framework}]'" in str(info.value)
    assert info.value.name == framework
    assert current._factory is chosen  # the failed call changed nothing
    with pytest.raises(ModuleNotFoundError, match=f"greensync-hub\\[{framework}\\]"):
        use(f"  {framework.upper()} ")


def test_aio_and_testing_are_reachable_after_import_greensync_hub() -> None:
    script = textwrap.dedent(
        """
        import sys
        import greensync.hub

        assert "asyncio" not in sys.modules, "import greensync.hub must not import asyncio"
        assert "greensync.hub.aio" not in sys.modules
        print(greensync.hub.aio.run_greenlet.__qualname__)
        print(greensync.hub.testing.Permits.__name__)
        try:
            greensync.hub.nonexistent
        except AttributeError as exc:
            print(exc)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("GREENSYNC_HUB", "GREENSYNC_CHAOS")}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "run_greenlet",
        "Permits",
        "module 'greensync.hub' has no attribute 'nonexistent'",
    ]
