"""greensync.hub: a tiny per-thread loop and the waiter protocol every greensync primitive uses.

Everything a primitive or a user needs is re-exported here; the modules behind it are private.
"""

from __future__ import annotations

import os as _os

from .__about__ import __version__
from ._linkable import TIMED_OUT, Linkable, Waiter
from ._loop import (
    CallbackHandle,
    ChaosHub,
    Hub,
    HubBase,
    LoopExit,
    TimerHandle,
    check_timeout,
    get_hub,
    use,
)
from ._task import Task, iwait, joinall, sleep, spawn, spawn_later, wait

__all__ = [
    "TIMED_OUT",
    "CallbackHandle",
    "ChaosHub",
    "Hub",
    "HubBase",
    "Linkable",
    "LoopExit",
    "Task",
    "TimerHandle",
    "Waiter",
    "__version__",
    "check_timeout",
    "get_hub",
    "iwait",
    "joinall",
    "sleep",
    "spawn",
    "spawn_later",
    "use",
    "wait",
]

if _os.environ.get("GREENSYNC_HUB"):
    use(_os.environ["GREENSYNC_HUB"])
