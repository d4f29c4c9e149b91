"""greensync.hub: a tiny per-thread loop and the wait line every greensync primitive parks on.

Everything a primitive or a user needs is re-exported here; the modules behind it are private.
``greensync.hub.aio`` (the asyncio bridge) and ``greensync.hub.testing`` are loaded on first
use.
"""

from __future__ import annotations

import os as _os
from typing import Any as _Any

from .__about__ import __version__
from ._current import get_hub, use
from ._linkable import Linkable, Waiter
from ._loop import (
    CallbackHandle,
    Hub,
    HubBase,
    LoopExit,
    TimerHandle,
    check_timeout,
)
from ._signals import SignalHandle, signal_handler
from ._task import Task, iwait, joinall, sleep, spawn, spawn_later, wait
from ._waitline import NOTHING, TIMED_OUT, WaitLine

__all__ = [
    "NOTHING",
    "TIMED_OUT",
    "CallbackHandle",
    "Hub",
    "HubBase",
    "Linkable",
    "LoopExit",
    "SignalHandle",
    "Task",
    "TimerHandle",
    "WaitLine",
    "Waiter",
    "__version__",
    "check_timeout",
    "get_hub",
    "iwait",
    "joinall",
    "signal_handler",
    "sleep",
    "spawn",
    "spawn_later",
    "use",
    "wait",
]

# Every public class and function reports the module it is used from, not a private one: in
# tracebacks (``greensync.hub.LoopExit: ...``), reprs, ``help()`` and pickles.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith(__name__ + "._"):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):
            pass
del _name, _obj


def __getattr__(name: str) -> _Any:
    # ``import greensync.hub`` then ``greensync.hub.aio.run_greenlet(...)`` works: the asyncio
    # bridge (which imports asyncio) and the testing helpers load on first use.
    if name in ("aio", "testing"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if _os.environ.get("GREENSYNC_HUB"):
    use(_os.environ["GREENSYNC_HUB"])
