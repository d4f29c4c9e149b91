"""A pytest plugin shared by every greensync test suite.

The repository's pytest configuration loads it (``-p greensync.hub._pytest_plugin``).  It
registers the markers and applies them:

* ``builtin_hub`` -- about the built-in hub's own internals: skipped, with the reason, when
  ``GREENSYNC_HUB`` selects an adapter (the nox ``compat-*`` sessions);
* ``stress`` -- the long stress runs: skipped unless ``GREENSYNC_STRESS`` is set (the nox
  ``stress`` session); the default run carries reduced versions;
* ``contract`` -- the contract suites, which the nox ``chaos`` session runs under many seeds.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "builtin_hub: exercises the built-in hub itself rather than the primitives",
        "stress: a long stress run, only with GREENSYNC_STRESS set (nox -s stress)",
        "contract: part of a contract suite, run under the chaos scheduler (nox -s chaos)",
    ):
        config.addinivalue_line("markers", line)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    name = os.environ.get("GREENSYNC_HUB", "").strip().lower()
    adapter = name not in ("", "builtin", "default")
    stress = bool(os.environ.get("GREENSYNC_STRESS"))
    skip_builtin = pytest.mark.skip(
        reason=f"about the built-in hub itself; the {name} adapter is selected"
    )
    skip_stress = pytest.mark.skip(reason="long stress run: set GREENSYNC_STRESS=1 (nox -s stress)")
    for item in items:
        if adapter and "builtin_hub" in item.keywords:
            item.add_marker(skip_builtin)
        if not stress and "stress" in item.keywords:
            item.add_marker(skip_stress)
