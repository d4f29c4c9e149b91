"""pytest plugin: every Python code block of the docs and of the READMEs runs as a test.

``nox -s docs`` runs ``pytest -p docs_examples README.md packages/*/README.md docs`` with this
directory on ``PYTHONPATH``.  Sybil collects each Markdown file as one module of tests, one test
per code block, and the blocks of a file share one namespace, in order, as a reader reads them.

The rules a page can rely on:

* A fence whose info string is exactly ``python`` runs.  An example that only illustrates says
  so in an HTML comment on the line before it, ``<!-- skip: next -->``, which neither GitHub nor
  the site shows.  Any other spelling of a Python fence (``py``, ``python3``, ``python notest``)
  fails the run rather than going untested by accident.
* ``<!-- invisible-code-block: python -->`` blocks (Sybil's) set up what a shown example takes
  for granted, such as the list of URLs a crawler example fetches.
* A block made only of snippet lines (``--8<-- "examples/inside_gevent.py"``), which the site
  replaces with the file, runs that file in a fresh Python process: an example that picks the
  thread's hub with ``use()`` needs a process of its own.
* A block preceded by ``<!-- own-process: next -->`` (invisible, like the skip marker) runs,
  as shown, in a fresh Python process of its own, not in the file's namespace: an example that
  starts gevent's or eventlet's hub in the main thread would otherwise hand every later page
  that framework's adapter.
* Every file starts on a fresh hub in the test's thread, so one page's parked greenlets or
  asyncio binding never reach the next page.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from sybil import Region, Sybil
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.markdown import CodeBlockParser, SkipParser
from sybil.parsers.markdown.lexers import DirectiveInHTMLCommentLexer, FencedCodeBlockLexer

from greensync.hub import get_hub

ROOT = Path(__file__).resolve().parent.parent
_SNIPPET = re.compile(r'^--8<--\s+"(?P<path>[^"]+)"\s*$')
# Fences that look like Python but would not run: a typo must not hide an example from the tests.
_NEAR_PYTHON = re.compile(r"^(py|python3?|pycon|python\s.+)$")
_run_python = PythonEvaluator(future_imports=())
# Set in a file's namespace by an ``<!-- own-process: next -->`` marker, taken by the next block.
_OWN_PROCESS = "__greensync_docs_own_process__"


def _run_apart(command: list[str], what: str) -> None:
    """Run ``command`` (a Python program) in a fresh process; fail with its output."""
    __tracebackhide__ = True
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode:
        raise AssertionError(f"{what} exited with {done.returncode}:\n{done.stdout}{done.stderr}")


def _evaluate(example: Any) -> None:
    """Run one ``python`` block: in this process, or in a fresh one (snippets, own-process)."""
    __tracebackhide__ = True
    source = str(example.parsed)
    if example.namespace.pop(_OWN_PROCESS, False):
        _run_apart([sys.executable, "-c", source], f"the block at line {example.line}")
        return
    lines = [line for line in source.splitlines() if line.strip()]
    matches = [_SNIPPET.match(line) for line in lines]
    if not lines or not all(matches):
        _run_python(example)
        return
    for match in matches:
        assert match is not None
        script = ROOT / match.group("path")
        _run_apart([sys.executable, str(script)], str(script.relative_to(ROOT)))


class _OwnProcessParser:
    """A Sybil parser for ``<!-- own-process: next -->``: the next block runs in a new process."""

    def __init__(self) -> None:
        self.lexer = DirectiveInHTMLCommentLexer(directive="own-process", arguments="next")

    def __call__(self, document: Any) -> Any:
        for lexed in self.lexer(document):
            yield Region(lexed.start, lexed.end, "next", self._mark)

    @staticmethod
    def _mark(example: Any) -> None:
        example.namespace[_OWN_PROCESS] = True


class _Fail:
    """Evaluator of a fence that looks like Python but is neither run nor marked."""

    def __init__(self, info: str) -> None:
        self.info = info

    def __call__(self, example: Any) -> None:
        raise AssertionError(
            f"a ```{self.info} fence is not run: write ```python, and mark an example that "
            "only illustrates with <!-- skip: next --> on the line before it"
        )


class _NearPythonFences:
    """A Sybil parser that turns every almost-Python fence into a failing example."""

    def __init__(self) -> None:
        self.lexer = FencedCodeBlockLexer(
            language=r".+", mapping={"language": "arguments", "source": "source"}
        )

    def __call__(self, document: Any) -> Any:
        for region in self.lexer(document):
            info = str(region.lexemes["arguments"]).strip()
            if info != "python" and _NEAR_PYTHON.match(info):
                region.parsed = info
                region.evaluator = _Fail(info)
                yield region


def _fresh_hub(namespace: dict[str, Any]) -> None:
    """Give the file a hub of its own: forget the one the previous file used (if any)."""
    get_hub().destroy()


pytest_collect_file = Sybil(
    parsers=[
        CodeBlockParser("python", _evaluate),
        SkipParser(),
        _OwnProcessParser(),
        _NearPythonFences(),
    ],
    path=str(ROOT),
    patterns=["*.md"],
    excludes=["site/*", ".nox/*"],
    setup=_fresh_hub,
    teardown=_fresh_hub,
).pytest()
