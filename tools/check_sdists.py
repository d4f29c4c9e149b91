"""Check that an sdist ships what its package's tests and build need.

    python tools/check_sdists.py dist/greensync_lock-0.2.0.tar.gz packages/lock

Every file git tracks under the package's ``src/`` and ``tests/`` (``conftest.py`` included)
must be in the sdist, with the ``pyproject.toml``, README, CHANGELOG and LICENSE, so that the
tests run from the unpacked sdist alone (``nox -s publish-local`` runs them so).
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

REQUIRED = ("pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE", "PKG-INFO")


def check(sdist: Path, package: Path) -> list[str]:
    """Return the files the sdist should ship and does not."""
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    top = names[0].split("/")[0]
    shipped = {name.removeprefix(f"{top}/") for name in names}
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "src", "tests"],
        cwd=package,
        capture_output=True,
        check=True,
        text=True,
    ).stdout.split("\0")
    wanted = {name for name in tracked if name} | set(REQUIRED)
    if not any(name.startswith("tests/") for name in wanted):
        return [f"{package}: no tests/ tracked by git"]
    return [f"{sdist.name}: missing {name}" for name in sorted(wanted - shipped)]


def main(sdist: str, package: str) -> int:
    problems = check(Path(sdist), Path(package))
    for problem in problems:
        print(problem)
    print(f"{Path(sdist).name}: {'ships' if not problems else 'lacks'} its sources and tests")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
