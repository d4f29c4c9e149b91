"""Shared set-up for greensync-queue's tests.

Markers: ``contract`` (the contract suites, run under chaos seeds by the nox ``chaos`` session)
and ``stress`` (the long runs of the nox ``stress`` session) belong to the shared plugin
``greensync.hub._pytest_plugin``.  Until that plugin registers and applies them, this file
registers whichever of them it does not know yet, and skips this package's ``stress`` tests
unless ``GREENSYNC_STRESS`` is set.  Both steps are idempotent, so they are harmless once the
plugin does the same.

Fixtures (test modules cannot import each other under ``--import-mode=importlib``, so what they
share lives here):

* ``queue_cls`` runs a test once per queue class (``JoinableQueue`` and ``LightQueue`` are the
  same classes as ``Queue`` and ``SimpleQueue``);
* ``order`` is the order in which that class returns the items in its buffer;
* ``exact`` is True on the built-in deterministic hub, where a forced interleaving has one
  outcome a test may assert.  It is False under the chaos scheduler (each turn's callbacks run
  in a seeded random order) and under the gevent/eventlet/asyncio adapters (whose turns are cut
  differently); there, tests assert only the protocol's promises.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from greensync.hub import Hub, get_hub
from greensync.queue import LifoQueue, PriorityQueue, Queue, SimpleQueue

_MARKERS = {
    "contract": "a shared contract suite, run under chaos seeds (nox -s chaos)",
    "stress": "a long stress run, skipped unless GREENSYNC_STRESS is set (nox -s stress)",
}
_HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    known = {line.split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")}
    for name, doc in _MARKERS.items():
        if name not in known:
            config.addinivalue_line("markers", f"{name}: {doc}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("GREENSYNC_STRESS"):
        return
    skip = pytest.mark.skip(reason="a stress run: set GREENSYNC_STRESS=1 (nox -s stress)")
    for item in items:
        if "stress" in item.keywords and _HERE in item.path.parents:
            item.add_marker(skip)


QUEUE_CLASSES: list[type[SimpleQueue[Any]]] = [Queue, SimpleQueue, LifoQueue, PriorityQueue]


def _fifo(items: list[Any]) -> list[Any]:
    return list(items)


def _lifo(items: list[Any]) -> list[Any]:
    return list(reversed(items))


ORDERS: dict[type[SimpleQueue[Any]], Callable[[list[Any]], list[Any]]] = {
    Queue: _fifo,
    SimpleQueue: _fifo,
    LifoQueue: _lifo,
    PriorityQueue: sorted,
}


@pytest.fixture(params=QUEUE_CLASSES, ids=lambda cls: cls.__name__)
def queue_cls(request: pytest.FixtureRequest) -> type[SimpleQueue[Any]]:
    """Each queue class in turn."""
    cls: type[SimpleQueue[Any]] = request.param
    return cls


@pytest.fixture
def order(queue_cls: type[SimpleQueue[Any]]) -> Callable[[list[Any]], list[Any]]:
    """Map the items put into an idle queue of ``queue_cls`` to the order gets return them."""
    return ORDERS[queue_cls]


@pytest.fixture
def exact() -> bool:
    """True on the built-in deterministic hub (not the chaos scheduler, not an adapter)."""
    return type(get_hub()) is Hub
