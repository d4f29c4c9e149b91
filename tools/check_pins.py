"""Check that .pre-commit-config.yaml installs the tool versions constraints.txt pins.

Run by ``nox -s lint``.  Every ``name==version`` in the pre-commit configuration (its hooks'
``additional_dependencies``) must be pinned, to that version, in constraints.txt.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    """Every ``name==version`` in ``text`` outside comments."""
    found = {}
    for line in text.splitlines():
        for name, version in _PIN.findall(line.split("#", 1)[0]):
            found[_normal(name)] = version
    return found


def main() -> int:
    pinned = pins((ROOT / "constraints.txt").read_text("utf-8"))
    hooks = pins((ROOT / ".pre-commit-config.yaml").read_text("utf-8"))
    problems = [
        f".pre-commit-config.yaml installs {name}=={version}, constraints.txt pins "
        f"{pinned.get(name, 'nothing')}"
        for name, version in sorted(hooks.items())
        if pinned.get(name) != version
    ]
    for problem in problems:
        print(problem)
    print(f"pre-commit hooks: {len(hooks)} pinned tools, {len(problems)} differ from constraints")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
