"""The shared pytest plugin: under CI, hypothesis draws the same examples on every run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("hypothesis")

PROJECT = """
[project]
name = "greensync-example"
version = "0"
"""

TEST = """
from hypothesis import given, settings, strategies as st

@settings(max_examples=20)
@given(st.integers())
def test_draws(n):
    with open("drawn.txt", "a") as out:
        out.write(f"{n}\\n")
"""


def _drawn(folder: Path, ci: bool) -> list[str]:
    (folder / "drawn.txt").unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_example.py"],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return (folder / "drawn.txt").read_text().split()


def test_under_ci_hypothesis_is_derandomized_for_greensync_tests(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(PROJECT))
    (tmp_path / "test_example.py").write_text(textwrap.dedent(TEST))
    first = _drawn(tmp_path, ci=True)
    assert len(first) >= 10
    assert _drawn(tmp_path, ci=True) == first  # the same examples, run after run
    assert not (tmp_path / ".hypothesis" / "examples").exists()  # and no example database
