"""Type checkers reject wrong calls to the hub: mypy and pyright run on code that must fail.

Issue 14: ``spawn(f, "x")`` for ``def f(n: int)`` passed ``mypy --strict``.  Each line marked
``# error`` below must be reported by the checker -- at that line, with no ``# type: ignore``
anywhere -- and no other line may be.  ``typing_hub.py`` holds the positive side (what each
call returns); ``nox -s typecheck`` checks it with both checkers.  A checker that is not
installed skips its test (the typecheck session installs both).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

WRONG = textwrap.dedent(
    """
    from __future__ import annotations

    import signal

    from greensync.hub import Task, Waiter, joinall, signal_handler, spawn, spawn_later, wait
    from greensync.hub.aio import run_greenlet


    def needs_int(n: int) -> int:
        return n


    def named(*, flag: bool) -> None:
        return None


    spawn(needs_int, "x")  # error
    spawn(needs_int)  # error
    spawn(named, flag="yes")  # error
    spawn_later(1.0, needs_int, 1, 2)  # error
    Task(needs_int, b"1")  # error
    signal_handler(signal.SIGTERM, needs_int, "x")  # error
    signal_handler(signal.SIGTERM, needs_int)  # error
    joinall([1, 2])  # error
    text: str = spawn(needs_int, 1).get()  # error
    strings: list[Waiter[str]] = wait([Waiter[int]()])  # error


    async def coroutine() -> None:
        await run_greenlet(needs_int, "x")  # error


    class MyWaiter(Waiter[int]):  # error
        pass
    """
)


def _marked_lines(source: str) -> set[int]:
    return {n for n, line in enumerate(source.splitlines(), 1) if line.endswith("# error")}


@pytest.fixture
def wrong_code(tmp_path: Path) -> Path:
    path = tmp_path / "wrong_calls.py"
    path.write_text(WRONG)
    return path


def test_the_negative_cases_carry_no_type_ignore() -> None:
    assert "type: ignore" not in WRONG
    assert "pyright: ignore" not in WRONG
    assert len(_marked_lines(WRONG)) == 12


@pytest.mark.timeout(300)
def test_mypy_strict_rejects_every_wrong_call(wrong_code: Path) -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (nox -s typecheck installs it)")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file=",
            "--no-incremental",
            "--show-error-codes",
            "--no-error-summary",
            str(wrong_code),
        ],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=wrong_code.parent,
    )
    errors: dict[int, list[str]] = {}
    for line in done.stdout.splitlines():
        parts = line.split(":", 3)
        if len(parts) == 4 and parts[0].endswith("wrong_calls.py") and "error" in parts[2]:
            errors.setdefault(int(parts[1]), []).append(parts[3].strip())
    assert set(errors) == _marked_lines(WRONG), done.stdout + done.stderr
    assert any(
        '"spawn" has incompatible type "str"; expected "int"' in e for e in errors[min(errors)]
    )


@pytest.mark.timeout(300)
def test_pyright_strict_rejects_every_wrong_call(wrong_code: Path) -> None:
    pyright = shutil.which("basedpyright") or shutil.which("pyright")
    if pyright is None:
        pytest.skip("pyright is not installed (nox -s typecheck installs basedpyright)")
    (wrong_code.parent / "pyrightconfig.json").write_text(
        json.dumps({"typeCheckingMode": "strict", "pythonVersion": "3.11"})
    )
    done = subprocess.run(
        [pyright, "--outputjson", "--pythonpath", sys.executable, str(wrong_code)],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=wrong_code.parent,
    )
    report = json.loads(done.stdout)
    errors: dict[int, list[str]] = {}
    for diagnostic in report["generalDiagnostics"]:
        if diagnostic["severity"] == "error":
            line = diagnostic["range"]["start"]["line"] + 1
            errors.setdefault(line, []).append(diagnostic["message"])
    assert set(errors) == _marked_lines(WRONG), json.dumps(errors, indent=1)
    assert any('"Literal[\'x\']" is not assignable to "int"' in e for e in errors[min(errors)])
