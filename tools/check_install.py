"""Check what ``pip install <package>`` from the local index brought, from pip's ``--report``.

Used by ``nox -s publish-local``::

    python tools/check_install.py REPORT INDEX_URL DIST_DIR greensync-lock

The installed distributions must be exactly the package and the closure of its declared
run-time dependencies (``greensync-lock`` brings ``greensync-hub`` and ``greenlet``, nothing
else).  Every greensync distribution must come from the local index, at the version of the
tree, byte for byte the file built into DIST_DIR, and declare in its published metadata the
dependencies its ``pyproject.toml`` declares; everything else must come from another index.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools import release


def _requirements(item: dict[str, Any], environment: dict[str, str]) -> list[Requirement]:
    """The run-time requirements an installed item declares that apply here (no extras)."""
    found = []
    for line in item["metadata"].get("requires_dist", []):
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or marker.evaluate({**environment, "extra": ""}):
            found.append(requirement)
    return found


def _sha256(item: dict[str, Any]) -> str | None:
    archive = item.get("download_info", {}).get("archive_info", {})
    hashes: dict[str, str] = archive.get("hashes", {})
    if "sha256" in hashes:
        return hashes["sha256"]
    algorithm, _, value = str(archive.get("hash", "")).partition("=")
    return value if algorithm == "sha256" else None


def check(report: dict[str, Any], index: str, dist_dir: Path, top: str) -> list[str]:
    """Return the problems; print what was installed from where."""
    ours = {pkg.dist: pkg for pkg in release.packages()}
    environment: dict[str, str] = report["environment"]
    installed = {canonicalize_name(i["metadata"]["name"]): i for i in report["install"]}
    problems = []

    wanted = {canonicalize_name(top)}
    todo = [canonicalize_name(top)]
    while todo:
        item = installed.get(todo.pop())
        if item is None:
            continue
        for requirement in _requirements(item, environment):
            name = canonicalize_name(requirement.name)
            if name not in wanted:
                wanted.add(name)
                todo.append(name)
    for name in sorted(wanted - installed.keys()):
        problems.append(f"declared, not installed: {name}")
    for name in sorted(installed.keys() - wanted):
        problems.append(f"installed, not declared: {name}")

    for name, item in sorted(installed.items()):
        url = item.get("download_info", {}).get("url", "?")
        version = item["metadata"]["version"]
        print(f"  {name} {version} from {url.split('#')[0]}")
        pkg = ours.get(name)
        from_local = url.startswith(index)
        if pkg is None:
            if from_local:
                problems.append(f"{name} came from the local index, which serves only greensync")
            continue
        if not from_local:
            problems.append(f"{name} did not come from the local index {index}: {url}")
        if Version(version) != pkg.version:
            problems.append(f"{name} {version} installed, the tree has {pkg.version}")
        built = dist_dir / url.split("#")[0].rsplit("/", 1)[-1]
        digest = _sha256(item)
        if not built.is_file():
            problems.append(f"{name}: {built.name} was not built here")
        elif digest != hashlib.sha256(built.read_bytes()).hexdigest():
            problems.append(f"{name}: the installed {built.name} is not the one built here")
        published = sorted(str(r) for r in _requirements(item, environment))
        declared = sorted(str(r) for r in pkg.dependencies)
        if published != declared:
            problems.append(f"{name} publishes {published}, its pyproject.toml says {declared}")
    return problems


def main(report_path: str, index: str, dist_dir: str, top: str) -> int:
    report = json.loads(Path(report_path).read_text("utf-8"))
    print(f"pip install {top}:")
    problems = check(report, index, Path(dist_dir), top)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"{top}: exactly its declared dependencies, greensync ones from the local index")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
