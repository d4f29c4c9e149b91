"""ChaosHub: the built-in hub with a seeded chaos scheduler, a testing tool.

Reached through :mod:`greensync.hub.testing` (``testing.ChaosHub``, ``testing.chaos(seed)``)
or the ``GREENSYNC_CHAOS`` environment variable; not part of the hub's top-level names.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any, final

from greenlet import getcurrent

from ._loop import Hub, HubBase

__all__ = ["ChaosHub"]


@final
class ChaosHub(Hub):  # type: ignore[misc]  # Hub is final to users; this is its one variant
    """The built-in hub with a seeded chaos scheduler, for exploring interleavings in tests.

    Each turn runs its callbacks in a random order, and every blocking point first yields once
    to the other runnable greenlets (as an extra ``sleep(0)``) before it parks.  Both follow
    only from the seed, so a failure is replayed by running again with the same seed: set
    ``GREENSYNC_CHAOS=<seed>`` (the built-in hub then becomes a ChaosHub), or call
    ``greensync.hub.testing.chaos(seed)`` in a thread before its hub is first used.  The waiter
    protocol's promises (FIFO hand-off, nothing lost) must hold under it; the order in which
    unrelated greenlets run does not.
    """

    def __init__(self, seed: int | str) -> None:
        super().__init__()
        self.seed = seed
        self._random = random.Random(seed)
        self._shuffle_turn = self._shuffle

    def __repr__(self) -> str:
        return f"<ChaosHub seed={self.seed!r} thread={self._thread_ident} ready={len(self._ready)}>"

    def _shuffle(self, ready: deque[list[Any]], n: int) -> None:
        turn = [ready.popleft() for _ in range(n)]
        self._random.shuffle(turn)
        ready.extendleft(reversed(turn))

    def switch(self, waiting_on: object = None) -> Any:
        current = getcurrent()
        if current is not self and self._random.random() < 0.5:
            # Yield once before parking: something else may run (and even wake us) first.
            item: list[Any] = [current.switch, (_CHAOS_RESUME,)]
            self._ready.append(item)
            try:
                result = HubBase.switch(self, waiting_on)
            except BaseException:
                item[0] = None  # thrown out while yielding: the resume must not come later
                raise
            if result is not _CHAOS_RESUME:
                item[0] = None  # woken for real while yielding: that is the wake-up
                return result
        return HubBase.switch(self, waiting_on)


_CHAOS_RESUME = object()
