"""tools/check_hub_names.py (the lint session's check) finds every use of a private hub name.

Runs only in a checkout (the tool is not part of the distribution): it builds a small fake
repository with one use of each kind, and code that must not be flagged.
"""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

TOOL = Path(__file__).resolve().parents[3] / "tools" / "check_hub_names.py"


@pytest.fixture
def tool() -> ModuleType:
    if not TOOL.is_file():
        pytest.skip("tools/check_hub_names.py is in the repository, not in the distribution")
    spec = importlib.util.spec_from_file_location("check_hub_names", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def test_every_kind_of_use_is_found_and_own_names_are_not(tool: ModuleType, tmp_path: Path) -> None:
    _write(
        tmp_path,
        "packages/hub/src/greensync/hub/_loop.py",
        """
        _THREAD_RECHECK = 0.05

        def _check_callable(fn): ...

        class Hub:
            __slots__ = ("_ready",)

            def __init__(self):
                self._timers = []

            def _poke(self): ...
        """,
    )
    _write(tmp_path, "packages/hub/src/greensync/hub/__init__.py", "from ._loop import Hub\n")
    _write(
        tmp_path,
        "packages/lock/src/greensync/lock/_lock.py",
        """
        from greensync.hub import get_hub

        class Lock:
            def __init__(self):
                self._ready = []        # the lock's own attribute of the same name

            def release(self):
                self._ready.pop()       # its own: not flagged
                get_hub()._poke()       # flagged: the hub's method
        """,
    )
    _write(
        tmp_path,
        "packages/lock/tests/test_lock.py",
        """
        import greensync.hub._loop
        from greensync.hub._loop import Hub
        from greensync.hub import _THREAD_RECHECK
        from greensync import hub

        def test():
            hub.get_hub()._timers          # flagged: tests are not exempt
            hub._loop                      # flagged: a private module
            "_poke and _timers in a string are not code"
        """,
    )
    _write(tmp_path, "examples/demo.py", "import greensync.hub\ngreensync.hub.spawn(print)\n")
    found = tool.check(tmp_path)
    assert sorted(found) == sorted(
        [
            "packages/lock/src/greensync/lock/_lock.py:10: uses the hub's _poke",
            "packages/lock/tests/test_lock.py:2: imports the private module greensync.hub._loop",
            "packages/lock/tests/test_lock.py:3: imports from the private module "
            "greensync.hub._loop",
            "packages/lock/tests/test_lock.py:4: imports _THREAD_RECHECK from greensync.hub",
            "packages/lock/tests/test_lock.py:8: uses the hub's _timers",
            "packages/lock/tests/test_lock.py:9: reaches the private module greensync.hub._loop",
        ]
    )
    assert tool.main(["check_hub_names.py", str(tmp_path)]) == 1


def test_a_clean_tree_passes(tool: ModuleType, tmp_path: Path) -> None:
    _write(
        tmp_path,
        "packages/hub/src/greensync/hub/_loop.py",
        "def _private(): ...\n_get_running_loop = None\n",
    )
    _write(
        tmp_path,
        "packages/queue/src/greensync/queue/q.py",
        "import asyncio\nfrom greensync.hub import WaitLine\n"
        "asyncio.events._get_running_loop()  # asyncio's name, though the hub has one too\n",
    )
    assert tool.check(tmp_path) == []
    assert tool.main(["check_hub_names.py", str(tmp_path)]) == 0
