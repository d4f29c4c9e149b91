"""Fail if code outside packages/hub uses an underscore name of greensync.hub.

DESIGN.md: "Other packages use only the hub's public names" -- that is what lets each package
be released on its own, and a framework author build a primitive from the same parts ours are
built from.  Run by ``nox -s lint`` (``python tools/check_hub_names.py``, from the repository
root or with the root as the only argument).  Exit status 1 and one line per use if any remain.

What counts as the hub's private names (read from ``packages/hub/src`` with :mod:`ast`):

* its private modules (``greensync.hub._loop``, ...), and every underscore name defined at the
  top level of a hub module;
* every underscore method, attribute (``self._x = ...``), class-level name and ``__slots__``
  entry defined in a class of the hub.

What counts as a use, in every ``.py`` file of the repository outside ``packages/hub`` (leaf
sources *and* tests, examples, benchmarks, tools; nothing is exempt):

* importing a private hub module, or an underscore name from any hub module;
* reading or calling ``obj._name`` where ``_name`` is one of the hub's, unless the same
  package (``packages/<name>``, or the top-level directory) defines ``_name`` itself -- a
  leaf's own ``self._lock`` is not the hub's.

Dunder names (``__init__``) are not private.  Strings and comments are not code.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TypeGuard

#: Directories never scanned: environments, caches, build output.
SKIP_DIRS = {".git", ".venv", ".nox", "build", "dist", "__pycache__", ".mypy_cache", "node_modules"}


def is_private(name: str) -> bool:
    """True for ``_name``, false for ``__dunder__`` and public names."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def python_files(top: Path) -> Iterator[Path]:
    """Every ``.py`` file under ``top``, skipping environments and caches."""
    for path in sorted(top.rglob("*.py")):
        if not SKIP_DIRS.intersection(path.relative_to(top).parts[:-1]):
            yield path


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def hub_names(hub_src: Path) -> tuple[set[str], set[str], set[str]]:
    """Return the hub's private module names, class-level names and module-level names."""
    modules: set[str] = set()
    in_classes: set[str] = set()
    top_level: set[str] = set()
    for path in python_files(hub_src):
        if is_private(path.stem):
            modules.add(path.stem)
        tree = parse(path)
        for statement in tree.body:  # top-level definitions of the module
            top_level.update(_defined_here(statement))
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for node in ast.walk(cls):
                in_classes.update(_defined_in_class(node))
    return modules, in_classes, top_level


def _defined_here(node: ast.stmt) -> Iterator[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        if is_private(node.name):
            yield node.name
    elif isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name) and is_private(name.id):
                    yield name.id


def _defined_in_class(node: ast.AST) -> Iterator[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and is_private(node.name):
        yield node.name
    elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
        if is_private(node.attr):
            yield node.attr
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and is_private(node.id):
        yield node.id
    elif isinstance(node, ast.Constant) and _private_string(node.value):
        yield node.value  # __slots__ entries


def _private_string(value: object) -> TypeGuard[str]:
    """A string that names a private identifier (a ``__slots__`` entry, say)."""
    return isinstance(value, str) and value.isidentifier() and is_private(value)


def own_names(tree: ast.Module) -> set[str]:
    """Underscore names a file defines itself: functions, methods, attributes, slots."""
    own: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if is_private(node.name):
                own.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if is_private(node.attr):
                own.add(node.attr)
        elif isinstance(node, ast.Constant) and _private_string(node.value):
            own.add(node.value)
    return own


def _private_hub_module(dotted: str) -> bool:
    parts = dotted.split(".")
    return parts[:2] == ["greensync", "hub"] and any(is_private(part) for part in parts[2:])


def uses(
    tree: ast.Module, modules: set[str], names: set[str], top_level: set[str], own: set[str]
) -> Iterator[tuple[int, str]]:
    """Yield (line, what) for each use of a private hub name in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _private_hub_module(alias.name):
                    yield node.lineno, f"imports the private module {alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _private_hub_module(node.module):
                yield node.lineno, f"imports from the private module {node.module}"
            elif node.module.split(".")[:2] == ["greensync", "hub"]:
                for alias in node.names:
                    if is_private(alias.name):
                        yield node.lineno, f"imports {alias.name} from {node.module}"
        elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Store):
            attr = node.attr
            if not is_private(attr):
                continue
            if attr in modules and attr not in own:
                yield node.lineno, f"reaches the private module greensync.hub.{attr}"
            elif attr in names and attr not in own:
                yield node.lineno, f"uses the hub's {attr}"
            elif attr in top_level and ast.unparse(node.value).startswith("greensync.hub"):
                # A module-level name is the hub's only when reached through a hub module
                # (``asyncio.events._get_running_loop`` is asyncio's, whatever the hub names).
                yield node.lineno, f"uses the hub's {attr}"


def group_of(path: Path, root: Path) -> str:
    """The unit whose own definitions a file may use: ``packages/<name>`` or a top-level dir."""
    parts = path.relative_to(root).parts
    if parts[0] == "packages" and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0] if len(parts) > 1 else "."


def check(root: Path) -> list[str]:
    """Return one line per use of a private hub name outside packages/hub."""
    hub_dir = root / "packages" / "hub"
    modules, names, top_level = hub_names(hub_dir / "src")
    trees: dict[Path, ast.Module] = {}
    own: dict[str, set[str]] = {}
    for path in python_files(root):
        if hub_dir in path.parents:
            continue
        tree = trees[path] = parse(path)
        own.setdefault(group_of(path, root), set()).update(own_names(tree))
    found = []
    for path, tree in trees.items():
        mine = own[group_of(path, root)]
        for line, what in uses(tree, modules, names, top_level, mine):
            found.append(f"{path.relative_to(root)}:{line}: {what}")
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else ".").resolve()
    if not (root / "packages" / "hub" / "src").is_dir():
        print(f"{root} is not the repository root (no packages/hub/src)", file=sys.stderr)
        return 2
    found = check(root)
    for line in found:
        print(line)
    print(f"{len(found)} use(s) of the hub's underscore names outside packages/hub")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
