"""Register the markers this suite uses, whether or not the shared plugin already does.

``contract`` marks the shared contract suites (the nox ``chaos`` session selects them with
``-m contract``); ``stress`` marks the long runs of the nox ``stress`` session.  Registering a
marker twice is harmless.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "contract: a shared contract suite, run under chaos seeds")
    config.addinivalue_line("markers", "stress: a long stress run (GREENSYNC_STRESS=1)")
