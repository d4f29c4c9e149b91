# mypy: disallow-subclassing-any=False
"""A Griffe extension for the docs site: Sphinx roles in docstrings become cross-references.

The docstrings of greensync are Google style, but name other objects the Sphinx way
(``:meth:`wait```, ``:class:`~greensync.hub.Linkable```).  Rendered as Markdown by mkdocstrings,
those roles would show up literally.  This extension rewrites each one, before the docstring is
parsed, into an *optional* autorefs reference to the public path of the object it names:

* the target is looked up the way a reader would: a member of the class (or of one of its
  bases), then a name of the module the docstring is in, then an absolute path;
* the object found is mapped from its private home (``greensync.lock._semaphore.Semaphore``) to
  the public name it is documented under (``greensync.lock.Semaphore``), through the ``__all__``
  of each ``greensync.*`` package;
* optional means that a target without a page of its own (a private helper, the standard
  library) renders as code instead of failing the strict build.

It also turns a reStructuredText ``::`` before a literal block into a plain colon.  It is loaded
by the ``mkdocstrings`` configuration in ``mkdocs.yml``; nothing else uses it.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(class|meth|func|attr|data|mod|exc|obj):`(?P<target>[^`]+)`")
_LITERAL_MARKER = re.compile(r"(?<=\S)::$", re.MULTILINE)
_BARE_MARKER = re.compile(r"^\s*::\s*$\n?", re.MULTILINE)


def _follow(root: Any, path: str) -> Any:
    """Return the object at ``path`` in the tree under ``root``, following aliases and bases.

    Returns None when the path leaves the tree or names nothing.
    """
    parts = path.split(".")
    if parts[0] != root.name:
        return None
    obj = root
    for depth, name in enumerate(parts[1:], start=1):
        member = _member(root, obj, name)
        if member is None:
            return None
        if member.is_alias:
            target = member.target_path
            if not target.startswith(root.name + "."):
                return None
            rest = ".".join(parts[depth + 1 :])
            return _follow(root, f"{target}.{rest}" if rest else target)
        obj = member
    return obj


def _member(root: Any, obj: Any, name: str) -> Any:
    """Return ``obj``'s member ``name``, looking through the bases of a class."""
    member = obj.members.get(name)
    if member is not None or not obj.is_class:
        return member
    for base in obj.bases:
        base_obj = _follow(root, _qualify(root, obj.parent, str(base)))
        if base_obj is not None and base_obj is not obj:
            found = _member(root, base_obj, name)
            if found is not None:
                return found
    return None


def _qualify(root: Any, module: Any, name: str) -> str:
    """Turn a name used in ``module`` into an absolute path (through its imports)."""
    head = name.split(".")[0]
    member = module.members.get(head)
    if member is None:
        return name
    rest = name[len(head) :]
    return f"{member.target_path if member.is_alias else member.path}{rest}"


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles into optional autorefs references (see the module docstring)."""

    def on_package(self, *, pkg: Any, **kwargs: Any) -> None:
        """Rewrite every docstring of the ``greensync`` namespace once it is loaded."""
        if pkg.name != "greensync":
            return
        public = _public_names(pkg)
        for obj in _walk(pkg):
            docstring = obj.docstring
            if docstring is not None and docstring.value:
                docstring.value = _rewrite(pkg, public, obj, docstring.value)


def _public_names(root: Any) -> dict[str, str]:
    """Map the private path of every public object to the path it is documented under."""
    public: dict[str, str] = {}
    for package in root.members.values():
        if package.is_alias or not package.is_module:
            continue
        for name in package.exports or ():
            member = package.members.get(str(name))
            if member is not None and member.is_alias:
                public.setdefault(member.target_path, f"{package.path}.{name}")
        for module in package.members.values():
            if not module.is_alias and module.is_module and not module.name.startswith("_"):
                public.setdefault(module.path, module.path)
        public.setdefault(package.path, package.path)
    return public


def _walk(obj: Any) -> list[Any]:
    found = [obj]
    for member in obj.members.values():
        if not member.is_alias:
            found.extend(_walk(member))
    return found


def _rewrite(root: Any, public: dict[str, str], obj: Any, text: str) -> str:
    module = obj if obj.is_module else obj.module
    scope = None
    if obj.is_class:
        scope = obj
    elif obj.parent is not None and obj.parent.is_class:
        scope = obj.parent

    def replace(match: re.Match[str]) -> str:
        role, target = match.group(1), match.group("target").strip()
        short = target.startswith("~")
        target = target.lstrip("~.")
        shown = target.rsplit(".", 1)[-1] if short else target
        if role in ("meth", "func"):
            shown += "()"
        code = f"<code>{html.escape(shown)}</code>"
        identifier = _resolve(root, public, module, scope, target)
        if identifier is None:
            return code
        return f'<autoref identifier="{html.escape(identifier)}" optional>{code}</autoref>'

    text = _ROLE.sub(replace, text)
    text = _BARE_MARKER.sub("", text)
    return _LITERAL_MARKER.sub(":", text)


def _resolve(root: Any, public: dict[str, str], module: Any, scope: Any, target: str) -> str | None:
    """Return the public path documenting ``target`` as seen from ``module``/``scope``."""
    candidates = []
    if scope is not None:
        candidates.append(f"{scope.path}.{target}")
    candidates.append(_qualify(root, module, target))
    candidates.append(target)
    for candidate in candidates:
        found = _follow(root, candidate)
        if found is None:
            continue
        path = found.path
        # The longest public prefix: a member of a public class is documented under it.
        parts = path.split(".")
        for cut in range(len(parts), 0, -1):
            prefix = ".".join(parts[:cut])
            if prefix in public:
                return ".".join([public[prefix], *parts[cut:]])
        return None
    return None
