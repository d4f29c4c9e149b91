"""A pytest plugin for running greensync test suites on an adapter hub.

Load it with ``-p greensync.hub._pytest_plugin`` (the nox ``compat-*`` sessions do).  When
``GREENSYNC_HUB`` selects an adapter, tests marked ``builtin_hub`` -- the ones about the
built-in hub's own internals -- are skipped, with the reason in the report.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "builtin_hub: exercises the built-in hub itself rather than the primitives"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    name = os.environ.get("GREENSYNC_HUB", "").strip().lower()
    if name in ("", "builtin", "default"):
        return
    skip = pytest.mark.skip(reason=f"about the built-in hub itself; the {name} adapter is selected")
    for item in items:
        if "builtin_hub" in item.keywords:
            item.add_marker(skip)
