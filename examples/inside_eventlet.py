"""greensync primitives inside an eventlet application: a way out of eventlet.

``use("eventlet")`` runs greensync on eventlet's hub, so an eventlet program can move its
synchronization to greensync one primitive at a time, and later drop eventlet altogether.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from greensync.hub import use

use("eventlet")  # before anything else touches greensync's hub

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # eventlet warns that it is deprecated; we know
    # eventlet ships no type information: name it Any rather than let strict checkers guess.
    eventlet: Any = importlib.import_module("eventlet")

from greensync.event import AsyncResult  # noqa: E402


def main() -> None:
    result: AsyncResult[str] = AsyncResult()

    def worker() -> None:
        eventlet.sleep(0.01)
        result.set("computed in an eventlet greenthread")

    eventlet.spawn(worker)
    print("main: waiting on a greensync AsyncResult from eventlet code ...")
    print(f"main: got {result.get(timeout=5)!r}")


if __name__ == "__main__":
    main()
