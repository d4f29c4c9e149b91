"""Run inside a package's isolated venv: the package imports from site-packages, and no other
greensync distribution than the ones it declares is installed."""

from __future__ import annotations

import importlib
import re
import sys
from importlib import metadata


def _name(requirement: str) -> str:
    """The distribution name at the start of a PEP 508 requirement, normalised."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    return re.sub(r"[-_.]+", "-", match.group(0)).lower() if match else requirement


def main(package: str, *declared: str) -> int:
    module = importlib.import_module(f"greensync.{package}")
    location = module.__file__ or ""
    if "site-packages" not in location:
        print(f"greensync.{package} imported from {location}, not site-packages", file=sys.stderr)
        return 1
    allowed = {f"greensync-{package}"} | {_name(requirement) for requirement in declared}
    installed = {
        (dist.metadata["Name"] or "").lower()
        for dist in metadata.distributions()
        if (dist.metadata["Name"] or "").lower().startswith("greensync")
    }
    extra = sorted(installed - allowed)
    if extra:
        print(f"greensync-{package} venv also holds {extra}", file=sys.stderr)
        return 1
    version = getattr(module, "__version__", "?")
    print(f"greensync.{package} {version} from {location}; greensync dists: {sorted(installed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
