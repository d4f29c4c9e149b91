"""Compare a package's public API with its last release, with griffe.

Used by ``nox -s api``, which unpacks the release from its commit::

    python tools/check_api.py greensync.lock --released 0.2.0 --current 0.2.0 \\
        --old RELEASED/packages/lock/src --old-path RELEASED/packages/hub/src ... \\
        --new packages/lock/src --new-path packages/hub/src ...

Every breaking change griffe finds (a public name removed, a parameter removed or renamed or
made required, a changed default or kind, ...) is printed.  Breaking changes fail the check
unless the current version may break the released one: below 1.0 a new minor version
(0.2.x to 0.3.0), from 1.0 on a new major one.  ``--old-path``/``--new-path`` are the other
packages' sources, so that names re-exported from the hub resolve.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import griffe
from packaging.version import Version

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools import release


def load(module: str, source: str, others: list[str]) -> griffe.Object:
    """The module's API from static analysis of ``source`` (never importing it)."""
    loaded = griffe.load(
        module,
        search_paths=[source, *others],
        allow_inspection=False,
        resolve_aliases=True,
        resolve_external=None,
    )
    assert isinstance(loaded, griffe.Object)
    return loaded


def describe(breakage: griffe.Breakage) -> str:
    """One line: the object, what broke, old and new value."""
    line = f"{breakage.obj.path}: {breakage.kind.value}"
    old, new = (
        "" if value is None or isinstance(value, griffe.Object | griffe.Alias) else str(value)
        for value in (breakage.old_value, breakage.new_value)
    )
    if old or new:
        line += f" ({old or '-'} -> {new or '-'})"
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("module", help="the package's import name: greensync.lock")
    parser.add_argument("--released", type=Version, required=True)
    parser.add_argument("--current", type=Version, required=True)
    parser.add_argument("--label", default="", help="how to name the release in the output")
    parser.add_argument("--old", required=True, help="src/ of the released version")
    parser.add_argument("--new", required=True, help="src/ of the current version")
    parser.add_argument("--old-path", action="append", default=[])
    parser.add_argument("--new-path", action="append", default=[])
    args = parser.parse_args(argv)

    old = load(args.module, args.old, args.old_path)
    new = load(args.module, args.new, args.new_path)
    breakages = list(griffe.find_breaking_changes(old, new))
    against = args.label or str(args.released)
    title = f"{args.module} {args.current} against {against}"
    if args.current < args.released:
        print(f"{title}: the version went backwards")
        return 1
    if not breakages:
        print(f"{title}: no breaking change")
        return 0
    for breakage in breakages:
        print(f"  {describe(breakage)}")
    count = f"{len(breakages)} breaking change{'s' if len(breakages) > 1 else ''}"
    if release.is_allowed_break(args.released, args.current):
        print(f"{title}: {count}, allowed by the version bump")
        return 0
    needed = release.next_breaking(args.released)
    bump = "minor" if needed.major == 0 else "major"
    print(
        f"{title}: {count} without the version they need, {needed} or later: release it with "
        f"'tools/release.py prepare {args.module.rsplit('.', 1)[-1]} {bump}', or undo them"
    )
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
