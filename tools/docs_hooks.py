"""MkDocs hooks of the docs site: API pages that list every public name by themselves.

An API page (``docs/api/<package>.md``) documents a few names by hand, in the order a reader
meets them, and ends with a marker line::

    <!-- public-names: greensync.lock -->

which this hook replaces with a mkdocstrings directive (``::: greensync.lock.Name``) for every
name of that package's ``__all__`` that the page has not documented yet.  A name added to a
package's ``__all__`` therefore appears in the reference without anyone editing the docs, and
``tools/check_site.py`` fails the build if one is missing from the built page.

``__all__`` is read from the package's ``__init__.py`` with :mod:`ast`, without importing it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_MARKER = re.compile(r"^<!-- public-names: (?P<module>greensync\.\w+) -->$", re.MULTILINE)


def public_names(module: str) -> list[str]:
    """Return the ``__all__`` of ``greensync.<name>``, read from its source."""
    package = module.split(".")[1]
    source = ROOT / "packages" / package / "src" / "greensync" / package / "__init__.py"
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            and isinstance(node.value, (ast.List, ast.Tuple))
        ):
            return [ast.literal_eval(element) for element in node.value.elts]
    raise ValueError(f"{source} has no literal __all__")


def _directives(markdown: str, module: str) -> str:
    documented = set(re.findall(rf"^::: {re.escape(module)}\.(\w+)\s*$", markdown, re.MULTILINE))
    missing = [name for name in public_names(module) if name not in documented]
    return "\n\n".join(f"::: {module}.{name}" for name in missing)


def on_page_markdown(markdown: str, **kwargs: object) -> str:
    """Replace each public-names marker with the directives of the names still missing."""
    return _MARKER.sub(lambda match: _directives(markdown, match.group("module")), markdown)
