"""Check built wheels: each greensync wheel ships its own leaf package and py.typed, never a
``greensync/__init__.py`` (which would break every other package's import)."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path


def check(wheel: Path) -> list[str]:
    """Return the problems found in one wheel."""
    problems = []
    names = zipfile.ZipFile(wheel).namelist()
    if "greensync/__init__.py" in names:
        problems.append(f"{wheel.name}: ships greensync/__init__.py")
    leaves = {n.split("/")[1] for n in names if n.startswith("greensync/") and n.count("/") >= 2}
    if len(leaves) != 1:
        problems.append(f"{wheel.name}: expected one leaf package, found {sorted(leaves)}")
    for leaf in leaves:
        if f"greensync/{leaf}/py.typed" not in names:
            problems.append(f"{wheel.name}: greensync/{leaf} has no py.typed")
    return problems


def main(directory: str) -> int:
    wheels = sorted(Path(directory).glob("greensync_*.whl"))
    if not wheels:
        print(f"no greensync wheels in {directory}", file=sys.stderr)
        return 1
    problems = [p for wheel in wheels for p in check(wheel)]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"checked {len(wheels)} wheels: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
