"""Shared test set-up for greensync-timeout.

Registers the markers this suite uses, whether or not the shared plugin already does
(``contract``: run under chaos seeds by the nox ``chaos`` session; ``stress``: long runs).
Registering a marker twice is harmless.

Every timeout a test starts by hand (``start()``/``start_new()``) is closed when the test ends,
so a test that fails before its own ``cancel()`` cannot leave a timer that fires in the next
test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from greensync.timeout import Timeout


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "contract: a shared contract suite, run under chaos seeds")
    config.addinivalue_line("markers", "stress: a long stress run (GREENSYNC_STRESS=1)")


@pytest.fixture(autouse=True)
def _close_started_timeouts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    started: list[Timeout] = []
    start = Timeout.start

    def recording_start(self: Timeout) -> Timeout:
        started.append(self)
        return start(self)

    monkeypatch.setattr(Timeout, "start", recording_start)
    yield
    for timeout in started:
        timeout.close()
