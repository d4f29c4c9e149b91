"""What greensync-lock's reliability tests share (test modules cannot import each other).

Markers (``contract``, ``stress``, ``builtin_hub``) belong to the shared plugin
``greensync.hub._pytest_plugin``, which the repository's pytest configuration loads.

Fixtures:

* ``exact`` is True on the built-in deterministic hub, where an interleaving forced through
  the order of same-turn callbacks has one outcome a test may assert.  It is False under the
  chaos scheduler (each turn's callbacks run in a seeded random order) and under the
  gevent/eventlet/asyncio adapters (other loops cut their turns differently): there, tests
  assert only what the protocol promises (one outcome, nothing lost or duplicated).
* ``builtin_timers`` is True on the built-in hub, chaos or not: expired timers fire in
  deadline order in one pass, so a race forced through timer deadlines has one outcome.
* ``eager_gil`` hands the GIL between threads every 10 us instead of every 5 ms, so threads
  interleave inside the primitives' check-then-act sequences (as CPython's own thread tests
  do).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from greensync.hub import Hub, get_hub


@pytest.fixture
def exact() -> bool:
    """True on the deterministic built-in hub (not the chaos scheduler, not an adapter)."""
    return type(get_hub()) is Hub


@pytest.fixture
def builtin_timers() -> bool:
    """True on the built-in hub, chaos or not (a ChaosHub shuffles callbacks, not timers)."""
    return isinstance(get_hub(), Hub)


@pytest.fixture
def eager_gil() -> Iterator[float]:
    """Switch threads every 10 us for the duration of the test."""
    interval = 1e-5
    previous = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        yield interval
    finally:
        sys.setswitchinterval(previous)
