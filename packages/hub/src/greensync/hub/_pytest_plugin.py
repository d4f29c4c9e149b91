"""A pytest plugin shared by every greensync test suite.

greensync-hub registers it as a ``pytest11`` entry point named ``greensync``, so pytest loads it
wherever greensync-hub is installed: in the repository's runs, in a package's isolated venv, and
in a packager's run of the tests unpacked from a package's sdist, which has none of the
repository's configuration.  It registers the markers and applies them:

* ``builtin_hub`` -- about the built-in hub's own internals: skipped, with the reason, when
  ``GREENSYNC_HUB`` selects an adapter (the nox ``compat-*`` sessions);
* ``stress`` -- the long stress runs: skipped unless ``GREENSYNC_STRESS`` is set (the nox
  ``stress`` session); the default run carries reduced versions;
* ``contract`` -- the contract suites, which the nox ``chaos`` session runs under many seeds.

and, when pytest-timeout is installed but no timeout is configured (no ``--timeout``, no
``PYTEST_TIMEOUT``, no ``timeout`` setting), gives each test a timeout of
:data:`DEFAULT_TIMEOUT` seconds, so a test that deadlocks fails instead of hanging a build.

Being installed with the hub, the plugin also loads in other projects' test runs.  It stays out
of them: the skip rules and the timeout apply only to tests of a greensync package, that is,
tests below a directory whose ``pyproject.toml`` names a ``greensync-*`` distribution (each
``packages/<name>/`` of the repository, and an unpacked sdist).  Elsewhere it only registers
the three marker names.  ``-p no:greensync`` turns it off.

Rejected: setting ``--import-mode=importlib`` or ``filterwarnings = error`` from here.  The
first is a process-wide choice that would change every other project's run too, and each
package's tests run in the default mode (they do not import each other); the second is a
developer's strictness, not something a packager's run needs.  The repository's configuration
sets both for its own runs.
"""

from __future__ import annotations

import functools
import os
import tomllib
from pathlib import Path

import pytest

#: Seconds a test of a greensync package may take when nothing else sets a timeout.
DEFAULT_TIMEOUT = 120


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "builtin_hub: exercises the built-in hub itself rather than the primitives",
        "stress: a long stress run, only with GREENSYNC_STRESS set (nox -s stress)",
        "contract: part of a contract suite, run under the chaos scheduler (nox -s chaos)",
    ):
        config.addinivalue_line("markers", line)


@functools.cache
def _in_greensync_package(directory: Path) -> bool:
    """True if the nearest ``pyproject.toml`` at or above ``directory`` is a greensync package."""
    for folder in (directory, *directory.parents):
        project = folder / "pyproject.toml"
        if project.is_file():
            try:
                name = tomllib.loads(project.read_text("utf-8"))["project"]["name"]
            except (OSError, ValueError, KeyError, TypeError):
                return False
            return isinstance(name, str) and name.startswith("greensync-")
    return False


def _timeout_configured(config: pytest.Config) -> bool:
    """True if pytest-timeout is absent or the run sets a timeout of its own."""
    if not config.pluginmanager.hasplugin("timeout"):
        return True
    if config.getoption("timeout", None) is not None or os.environ.get("PYTEST_TIMEOUT"):
        return True
    return bool(config.getini("timeout"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    name = os.environ.get("GREENSYNC_HUB", "").strip().lower()
    adapter = name not in ("", "builtin", "default")
    stress = bool(os.environ.get("GREENSYNC_STRESS"))
    default_timeout = not _timeout_configured(config)
    skip_builtin = pytest.mark.skip(
        reason=f"about the built-in hub itself; the {name} adapter is selected"
    )
    skip_stress = pytest.mark.skip(reason="long stress run: set GREENSYNC_STRESS=1 (nox -s stress)")
    ours = False
    for item in items:
        if not _in_greensync_package(item.path.parent):
            continue
        ours = True
        if adapter and "builtin_hub" in item.keywords:
            item.add_marker(skip_builtin)
        if not stress and "stress" in item.keywords:
            item.add_marker(skip_stress)
        if default_timeout and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT))
    if ours and os.environ.get("CI"):
        _reproducible_hypothesis()


def _reproducible_hypothesis() -> None:
    """Under CI, make hypothesis draw the same examples on every run, and keep no database.

    A property test that fails in CI then fails again with the same example, on any machine,
    instead of passing on the rerun (and a random failure cannot block a merge by luck).  Only
    in runs that hold greensync tests; explicit ``@settings`` of a test still win for the
    options they name.
    """
    try:
        from hypothesis import settings
    except ImportError:
        return
    settings.register_profile("greensync-ci", derandomize=True, database=None, print_blob=True)
    settings.load_profile("greensync-ci")
