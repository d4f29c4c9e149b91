"""Shared fixtures of greensync-queue's tests.

The markers (``contract``, ``stress``, ``builtin_hub``) are registered and applied by the shared
plugin ``greensync.hub._pytest_plugin``, which pytest loads through greensync-hub's entry point.
Test modules cannot import each other under ``--import-mode=importlib``, so what they share
lives here:

* ``queue_cls`` runs a test once per queue class (``JoinableQueue`` and ``LightQueue`` are the
  same classes as ``Queue`` and ``SimpleQueue``);
* ``order`` is the order in which that class returns the items in its buffer;
* ``exact`` is True on the built-in deterministic hub, where a forced interleaving has one
  outcome a test may assert.  It is False under the chaos scheduler (each turn's callbacks run
  in a seeded random order) and under the gevent/eventlet/asyncio adapters (whose turns are cut
  differently); there, tests assert only the protocol's promises;
* every test starts with the main thread's hub made (see ``_main_thread_hub_first``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from greensync.hub import Hub, get_hub
from greensync.queue import LifoQueue, PriorityQueue, Queue, SimpleQueue


@pytest.fixture(autouse=True)
def _main_thread_hub_first() -> None:
    """Make the main thread's hub before a test starts any OS thread.

    Work-around for the eventlet adapter: a thread in which eventlet is imported for the first
    time never finishes (its body returns, ``is_alive()`` stays True), so a test that starts
    threads would look deadlocked when it runs first.  Harmless for every other hub.
    """
    get_hub()


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
