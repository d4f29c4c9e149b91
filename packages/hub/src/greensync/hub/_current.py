"""Which hub a thread runs: ``get_hub``, ``use``, the choice of an adapter, and fork.

A thread gets its hub on first use.  Which kind is decided here, in this order:

1. ``use(name)`` or the ``GREENSYNC_HUB`` environment variable, when given, decides;
2. otherwise, a thread in which gevent's or eventlet's hub already exists gets that
   framework's adapter, so greensync primitives used inside a gevent or eventlet program
   cooperate with its greenlets without any setup (gevent and eventlet are only looked at
   when the program itself imported them);
3. otherwise the built-in :class:`~greensync.hub.Hub` (a ``ChaosHub`` when
   ``GREENSYNC_CHAOS`` is set, for tests).

The loop module knows nothing of this (it imports no adapter); the adapters are imported only
when chosen.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from importlib.util import find_spec

from ._loop import Hub, HubBase
from ._state import _local

__all__ = ["get_hub", "use"]

#: The extras that bring each adapter's framework: ``pip install greensync-hub[<extra>]``.
_EXTRAS = {"gevent": "gevent", "eventlet": "eventlet"}
_NAMES = ("builtin", "gevent", "eventlet", "asyncio")


def _builtin_factory() -> HubBase:
    """The built-in hub (a ``ChaosHub`` under ``GREENSYNC_CHAOS``, for tests)."""
    seed = os.environ.get("GREENSYNC_CHAOS")
    if seed:
        from ._chaos import ChaosHub

        return ChaosHub(int(seed) if seed.lstrip("-").isdigit() else seed)
    return Hub()


def _default_factory() -> HubBase:
    """No choice was made: the host framework's adapter if its hub exists, else ours."""
    adapter = _host_adapter()
    return adapter() if adapter is not None else _builtin_factory()


#: Makes the hub of a thread that has none yet; ``use()`` replaces it.
_factory: Callable[[], HubBase] = _default_factory


def _host_adapter() -> type[HubBase] | None:
    """The adapter for a host framework whose hub already exists in this thread, if any."""
    gevent_hubs = sys.modules.get("gevent._hub_local")
    if gevent_hubs is not None:
        exists = getattr(gevent_hubs, "get_hub_if_exists", None)
        if callable(exists) and exists() is not None:
            from ._adapters import GeventHub

            return GeventHub
    eventlet_hubs = sys.modules.get("eventlet.hubs")
    if eventlet_hubs is not None:
        local = getattr(eventlet_hubs, "_threadlocal", None)
        if getattr(local, "hub", None) is not None:
            from ._adapters import EventletHub

            return EventletHub
    return None


class _ThreadEnd:
    """Kept in the thread-local next to the hub: when the thread ends, its locals go, and this
    marks the hub closed, so primitives shared with other threads stop handing values to
    greenlets that can never run again."""

    __slots__ = ("hub",)

    def __init__(self, hub: HubBase) -> None:
        self.hub = hub

    def __del__(self, _finalizing: Callable[[], bool] = sys.is_finalizing) -> None:
        if _finalizing():
            # Interpreter shutdown: modules are being torn down; the process is ending anyway.
            self.hub.closed = True
            return
        self.hub._thread_ended()


def _stale(hub: HubBase) -> bool:
    """If ``hub`` is bound to an asyncio loop that is closed now, drop it and say so.

    ``aio.run_greenlet`` binds the thread's hub to the running loop; once that ``asyncio.run()``
    is over, greenlet code in the thread must get a hub of its own again.
    """
    loop = getattr(hub, "_loop", None) if hub._is_asyncio else None
    if loop is None or getattr(hub, "_owns_loop", True) or not loop.is_closed():
        return False
    hub.destroy()
    return True


def get_hub() -> HubBase:
    """Return this thread's hub, creating it on first use.

    Which kind of hub a new thread gets: the one chosen with :func:`use` (or
    ``GREENSYNC_HUB``); else gevent's or eventlet's adapter if that framework's hub already
    exists in this thread; else the built-in :class:`Hub`.
    """
    try:
        hub: HubBase = _local.hub
    except AttributeError:
        return _install(_factory())
    if hub._is_asyncio and _stale(hub):
        return _install(_factory())
    return hub


def _install(hub: HubBase) -> HubBase:
    """Make ``hub`` this thread's hub."""
    _local.hub = hub
    _local.end = _ThreadEnd(hub)
    return hub


def _peek_hub() -> HubBase | None:
    """Return this thread's hub if it exists, without creating one."""
    return getattr(_local, "hub", None)


def _resolve(name: object) -> type[HubBase]:
    """Return the hub class for ``name``, importing (and so checking) its framework.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: ``name`` is not a known hub.
        ModuleNotFoundError: the framework of ``name`` is not installed.
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a str, got {type(name).__name__} {name!r}")
    key = name.strip().lower()
    if key in ("builtin", "default", ""):
        return Hub
    if key not in _NAMES:
        raise ValueError(f"`name` must be one of {', '.join(_NAMES)}, got {name!r}")
    extra = _EXTRAS.get(key)
    if extra is not None and find_spec(key) is None:
        raise ModuleNotFoundError(
            f"use({name!r}) needs {key}, which is not installed: "
            f"pip install 'greensync-hub[{extra}]'",
            name=key,
        )
    from . import _adapters

    if key == "gevent":
        return _adapters.GeventHub
    if key == "eventlet":
        # Import eventlet here, in the thread that selects it: eventlet set up first in a
        # worker thread keeps that thread from ever finishing.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import eventlet.hubs  # noqa: F401
        return _adapters.EventletHub
    return _adapters.AsyncioHub


def use(name: str) -> None:
    """Choose the hub that threads without one will get.

    ``"builtin"`` (greensync's own loop), ``"gevent"``, ``"eventlet"`` or ``"asyncio"``.  Call
    it before the hub is first used; the ``GREENSYNC_HUB`` environment variable does the same
    when ``greensync.hub`` is imported.  Threads that already have a hub keep it.  Without a
    choice, a thread in which gevent's or eventlet's hub already exists gets that framework's
    adapter by itself.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: ``name`` is not a known hub.
        ModuleNotFoundError: the framework ``name`` needs is not installed (the message names
            the extra to install, such as ``greensync-hub[gevent]``).
        RuntimeError: this thread already runs a hub of another kind.
    """
    global _factory
    factory = _resolve(name)
    existing = _peek_hub()
    if existing is not None and not isinstance(existing, factory):
        raise RuntimeError(
            f"this thread already runs {existing!r}: call use({name!r}) before the hub is "
            "first used"
        )
    _factory = _builtin_factory if factory is Hub else factory


def _after_fork_in_child() -> None:
    # The parent's hub (and its greenlets, pipe and selector) are not ours to drive; forget it
    # and let get_hub() make a fresh one.  Each kind of hub closes what it owns.
    hub = getattr(_local, "hub", None)
    if hub is not None:
        del _local.hub
        hub._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
