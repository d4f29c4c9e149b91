"""Mutation testing of the hot paths: does each package's test suite notice a small wrong change?

``nox -s mutants`` runs ``python tools/mutants.py run``.  For every module listed in
``tools/mutants.toml``, this enumerates the mutants of the module (one small change each: a
comparison operator swapped, an int constant off by one, ``and``/``or`` swapped, a condition
negated, a statement replaced with ``pass``, a returned value replaced with ``None``,
``break``/``continue`` swapped, ...), draws a fixed-seed sample of them, runs the module's own
package's test suite against each, and reports the share of mutants the suite killed.  A module
whose score falls below the floor recorded in the config fails the session.  Mutants that were
read and found equivalent (no behaviour differs) are listed in the config with the reason; they
are not run and the score leaves them out (the ``raw`` column counts them as survivors).

Why a mutator of our own
------------------------
mutmut (3.x) copies the project into a ``mutants/`` tree and rewrites every function into a
trampoline that picks the mutant at run time; our packages are PEP 420 namespace portions in
five ``src`` directories, tested with ``--import-mode=importlib``, and several of our tests
depend on thread interleavings and on a profiler watching which hub functions run, both of
which a trampoline in every call changes.  cosmic-ray writes each mutant into the source file
itself and restores it afterwards, so a run that is killed can leave a mutated file in the
tree.  This tool never writes into the tree: each mutant is a copy of its package's
``src/greensync/<name>`` directory in a temporary directory put first on ``PYTHONPATH``, where
it shadows the installed package (a namespace portion found earlier on the path wins).  The
tree stays untouched whatever happens to the run.

Usage::

    python tools/mutants.py run [--module PATH ...] [--per-module N] [--seed N] [--jobs N]
    python tools/mutants.py run --only PATH:INDEX [--only PATH:INDEX ...]
    python tools/mutants.py list [--module PATH ...] [--all]
    python tools/mutants.py show PATH:INDEX

A mutant is named ``PATH:INDEX``: the module's path from the repository root and the mutant's
place in the module's full enumeration (stable as long as the module's source is).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tools" / "mutants.toml"

# -- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Equivalent:
    """A mutant that changes no behaviour: not run, and left out of its module's score."""

    index: int
    description: str
    why: str


@dataclass(frozen=True)
class Module:
    """A module to mutate, with the floor its score must not fall below."""

    path: str
    floor: float
    #: The score recorded before the wait-line rewrite, shown beside each new score.
    before: float | None = None
    #: Functions whose bodies are not mutated (by name, at any depth).
    skip_functions: tuple[str, ...] = ()
    #: Mutants read one by one and found equivalent (no behaviour differs), by index: the
    #: mutant's description (to notice a stale entry once the source moved) and why.
    equivalent: tuple[Equivalent, ...] = ()

    @property
    def package(self) -> str:
        """The package the module belongs to: ``packages/<name>/src/greensync/<name>/...``."""
        parts = Path(self.path).parts
        if len(parts) < 5 or parts[0] != "packages" or parts[2:4] != ("src", "greensync"):
            raise ValueError(f"{self.path}: not under packages/<name>/src/greensync/<name>/")
        return parts[1]

    @property
    def package_dir(self) -> Path:
        return ROOT / "packages" / self.package / "src" / "greensync" / self.package

    @property
    def tests(self) -> Path:
        return ROOT / "packages" / self.package / "tests"


@dataclass(frozen=True)
class Settings:
    seed: int
    per_module: int
    test_timeout: float
    timeout_factor: float
    timeout_slack: float
    clean_timeout: float
    clean_attempts: int
    hypothesis_seed: int
    report: str
    modules: tuple[Module, ...]


def load_settings(path: Path) -> Settings:
    """Read ``tools/mutants.toml``."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    run = data["run"]
    default_skip = tuple(run.get("skip_functions", ()))
    modules = tuple(
        Module(
            path=entry["path"],
            floor=float(entry["floor"]),
            before=float(entry["before"]) if "before" in entry else None,
            skip_functions=tuple(entry.get("skip_functions", default_skip)),
            equivalent=tuple(
                Equivalent(int(e["index"]), str(e["description"]), str(e["why"]))
                for e in entry.get("equivalent", ())
            ),
        )
        for entry in data["module"]
    )
    return Settings(
        seed=int(run["seed"]),
        per_module=int(run["per_module"]),
        test_timeout=float(run["test_timeout"]),
        timeout_factor=float(run["timeout_factor"]),
        timeout_slack=float(run["timeout_slack"]),
        clean_timeout=float(run["clean_timeout"]),
        clean_attempts=int(run.get("clean_attempts", 3)),
        hypothesis_seed=int(run["hypothesis_seed"]),
        report=str(run["report"]),
        modules=modules,
    )


# -- enumerating mutants ----------------------------------------------------------------------


@dataclass(frozen=True)
class Mutant:
    """One small change to a module: bytes ``start:end`` of its source become ``text``."""

    path: str
    index: int
    line: int
    operator: str
    description: str
    start: int
    end: int
    text: str

    @property
    def name(self) -> str:
        return f"{self.path}:{self.index}"

    def apply(self, source: bytes) -> bytes:
        return source[: self.start] + self.text.encode("utf-8") + source[self.end :]


_COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_OP_TEXT: dict[type[ast.AST], str] = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Add: "+",
    ast.Sub: "-",
    ast.And: "and",
    ast.Or: "or",
}
_ARITH_SWAPS: dict[type[ast.operator], type[ast.operator]] = {ast.Add: ast.Sub, ast.Sub: ast.Add}
#: Statements that "delete a statement" replaces with ``pass`` (an ``Expr`` only if it is a call).
_DELETABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Raise, ast.Delete)


class _Offsets:
    """Turn ``ast`` positions (line, UTF-8 byte column) into offsets into the source bytes."""

    def __init__(self, source: bytes) -> None:
        self.starts = [0]
        for line in source.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))

    def span(self, node: ast.AST) -> tuple[int, int]:
        lineno: int = getattr(node, "lineno")  # noqa: B009 - every mutated node has positions
        col: int = getattr(node, "col_offset")  # noqa: B009
        end_lineno: int | None = getattr(node, "end_lineno", None)
        end_col: int | None = getattr(node, "end_col_offset", None)
        if end_lineno is None or end_col is None:
            raise ValueError(f"{type(node).__name__} at line {lineno} has no end position")
        return self.starts[lineno - 1] + col, self.starts[end_lineno - 1] + end_col


class _Finder(ast.NodeVisitor):
    """Walk a module and propose mutants as (node, operator, description, replacement)."""

    def __init__(self, source: bytes, skip_functions: Sequence[str]) -> None:
        self.source = source
        self.lines = source.decode("utf-8").splitlines()
        self.skip_functions = set(skip_functions)
        self.found: list[tuple[ast.AST, str, str, str]] = []
        #: How many function bodies the walk is inside (0: module or class level).
        self.depth = 0

    # -- what is not mutated --

    def _skipped_line(self, node: ast.AST) -> bool:
        lineno: int = getattr(node, "lineno", 0)
        return 0 < lineno <= len(self.lines) and "pragma: no mutate" in self.lines[lineno - 1]

    def _segment(self, node: ast.AST) -> str:
        text = ast.get_source_segment(self.source.decode("utf-8"), node)
        return text if text is not None else ast.unparse(node)

    def _propose(self, node: ast.AST, operator: str, description: str, text: str) -> None:
        if not self._skipped_line(node):
            self.found.append((node, operator, description, text))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_function(node)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if node.name in self.skip_functions:
            return
        # Decorators and defaults are code; annotations are not.
        for decorator in node.decorator_list:
            self.visit(decorator)
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        self.depth += 1
        try:
            self._visit_body(node.body)
        finally:
            self.depth -= 1

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._visit_body(node.body)

    def visit_Module(self, node: ast.Module) -> None:
        self._visit_body(node.body)

    def _visit_body(self, body: list[ast.stmt]) -> None:
        for i, stmt in enumerate(body):
            is_docstring = (
                i == 0
                and isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Constant)
                and isinstance(stmt.value.value, str)
            )
            if is_docstring or self._is_declaration(stmt):
                continue
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.visit(stmt)
                continue
            self._statement(stmt)
            self._visit_children(stmt)

    def _visit_children(self, node: ast.AST) -> None:
        """Visit a statement's expressions, and the statements of its blocks as bodies."""
        for name, value in ast.iter_fields(node):
            if name == "annotation":
                continue
            if isinstance(value, list):
                if value and all(isinstance(item, ast.stmt) for item in value):
                    self._visit_body(value)
                    continue
                for item in value:
                    if isinstance(item, ast.ExceptHandler):
                        if item.type is not None:
                            self.visit(item.type)
                        self._visit_body(item.body)
                    elif isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

    @staticmethod
    def _is_declaration(stmt: ast.stmt) -> bool:
        """``__all__``, ``__slots__``, type-only code and imports: not behaviour."""
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            return True
        if isinstance(stmt, ast.If):
            test = stmt.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
            if name == "TYPE_CHECKING":
                return True
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets = stmt.targets
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is None:
                return True
            targets = [stmt.target]
        return any(isinstance(t, ast.Name) and t.id in ("__all__", "__slots__") for t in targets)

    def visit_arg(self, node: ast.arg) -> None:
        return None  # annotations only

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        return None  # f-strings: messages, and their positions are unreliable before 3.12

    # -- statements --

    def _statement(self, stmt: ast.stmt) -> None:
        deletable = isinstance(stmt, _DELETABLE) and not (
            isinstance(stmt, ast.Expr) and not isinstance(stmt.value, ast.Call | ast.Await)
        )
        if self.depth and isinstance(stmt, ast.Assign | ast.AnnAssign):
            # Binding a local name: deleting it only makes a NameError, which any test that
            # runs the line notices; it measures nothing.  State stores (attributes, items)
            # stay deletable.
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if all(isinstance(target, ast.Name | ast.Tuple) for target in targets):
                deletable = False
        if deletable:
            self._propose(stmt, "delete", f"`{_short(self._segment(stmt))}` -> `pass`", "pass")
        elif isinstance(stmt, ast.Return) and stmt.value is not None:
            value = stmt.value
            if not (isinstance(value, ast.Constant) and value.value is None):
                description = f"`{_short(self._segment(stmt))}` -> `return None`"
                self._propose(stmt, "return", description, "return None")
        elif isinstance(stmt, ast.Break):
            self._propose(stmt, "loop", "`break` -> `continue`", "continue")
        elif isinstance(stmt, ast.Continue):
            self._propose(stmt, "loop", "`continue` -> `break`", "break")
        if isinstance(stmt, ast.If | ast.While):
            self._negate(stmt.test)
        elif isinstance(stmt, ast.AugAssign) and type(stmt.op) in _ARITH_SWAPS:
            swapped = ast.AugAssign(
                target=stmt.target, op=_ARITH_SWAPS[type(stmt.op)](), value=stmt.value
            )
            before = f"{_short(self._segment(stmt.target), 30)} {_OP_TEXT[type(stmt.op)]}"
            after = _OP_TEXT[type(swapped.op)]
            self._propose(
                stmt,
                "arith",
                f"`{before}=` -> `{after}=`",
                ast.unparse(ast.fix_missing_locations(swapped)),
            )

    def _negate(self, test: ast.expr) -> None:
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return  # removing the `not` is the same mutant
        text = self._segment(test)
        self._propose(test, "negate", f"`{_short(text)}` -> `not (...)`", f"not ({text})")

    # -- expressions --

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self._negate(node.test)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        for i, op in enumerate(node.ops):
            swap = _COMPARE_SWAPS.get(type(op))
            if swap is None:
                continue
            ops = list(node.ops)
            ops[i] = swap()
            changed = ast.Compare(left=node.left, ops=ops, comparators=node.comparators)
            description = (
                f"`{_short(self._segment(node), 40)}`: `{_OP_TEXT[type(op)]}` -> `{_OP_TEXT[swap]}`"
            )
            self._propose(node, "compare", description, f"({ast.unparse(changed)})")
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        other: ast.boolop = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        changed = ast.BoolOp(op=other, values=node.values)
        description = (
            f"`{_short(self._segment(node), 40)}`: "
            f"`{_OP_TEXT[type(node.op)]}` -> `{_OP_TEXT[type(other)]}`"
        )
        self._propose(node, "boolean", description, f"({ast.unparse(changed)})")
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not):
            operand = self._segment(node.operand)
            self._propose(
                node, "negate", f"`not {_short(operand)}` -> `{_short(operand)}`", f"({operand})"
            )
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        swap = _ARITH_SWAPS.get(type(node.op))
        if swap is not None:
            changed = ast.BinOp(left=node.left, op=swap(), right=node.right)
            description = (
                f"`{_short(self._segment(node), 40)}`: `{_OP_TEXT[type(node.op)]}` -> "
                f"`{_OP_TEXT[swap]}`"
            )
            self._propose(node, "arith", description, f"({ast.unparse(changed)})")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        line = self.lines[node.lineno - 1].strip() if node.lineno <= len(self.lines) else ""
        where = f" in `{_short(line, 40)}`"
        if isinstance(value, bool):
            self._propose(node, "constant", f"`{value}` -> `{not value}`{where}", str(not value))
        elif isinstance(value, int):
            description = f"`{value}` -> `{value + 1}`{where}"
            self._propose(node, "constant", description, f"({value + 1})")


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def enumerate_mutants(module: Module) -> list[Mutant]:
    """Every valid mutant of ``module``, in source order, each compiling and each distinct."""
    path = ROOT / module.path
    source = path.read_bytes()
    tree = ast.parse(source, filename=str(path))
    finder = _Finder(source, module.skip_functions)
    finder.visit(tree)
    offsets = _Offsets(source)
    proposals = sorted(
        (
            (offsets.span(node), operator, description, text, node)
            for node, operator, description, text in finder.found
        ),
        key=lambda item: (item[0], item[1], item[3]),
    )
    mutants: list[Mutant] = []
    seen: set[bytes] = {source}
    for (start, end), operator, description, text, node in proposals:
        candidate = Mutant(
            path=module.path,
            index=len(mutants),
            line=getattr(node, "lineno", 0),
            operator=operator,
            description=description,
            start=start,
            end=end,
            text=text,
        )
        mutated = candidate.apply(source)
        if mutated in seen:
            continue
        try:
            compile(mutated, str(path), "exec", dont_inherit=True)
        except SyntaxError:
            continue
        seen.add(mutated)
        mutants.append(candidate)
    return mutants


def sample(module: Module, mutants: list[Mutant], per_module: int, seed: int) -> list[Mutant]:
    """A reproducible sample: the same seed, module and source give the same mutants."""
    if per_module <= 0 or per_module >= len(mutants):
        return list(mutants)
    rng = random.Random(f"{seed}:{module.path}")
    return sorted(rng.sample(mutants, per_module), key=lambda m: m.index)


def diff(mutant: Mutant) -> str:
    """A unified diff of the mutant against the module's source."""
    path = ROOT / mutant.path
    source = path.read_bytes()
    before = source.decode("utf-8").splitlines(keepends=True)
    after = mutant.apply(source).decode("utf-8").splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, mutant.path, f"{mutant.name}", n=2))


# -- running ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one run of a package's tests against one mutant (or against no mutant) gave."""

    name: str
    # "killed", "timeout", "survived", "equivalent" (not run: see Module.equivalent), or
    # "clean" for the run without a mutant
    status: str
    seconds: float
    line: int = 0
    operator: str = ""
    description: str = ""
    detail: str = ""


@dataclass
class ModuleReport:
    path: str
    total: int
    floor: float
    before: float | None
    clean_seconds: float
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def killed(self) -> int:
        return sum(1 for o in self.outcomes if o.status in ("killed", "timeout"))

    @property
    def equivalent(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "equivalent")

    @property
    def score(self) -> float:
        """Killed among the sampled mutants that change behaviour (equivalent ones left out)."""
        counted = len(self.outcomes) - self.equivalent
        return self.killed / counted if counted else 1.0

    @property
    def raw_score(self) -> float:
        """Killed among all the sampled mutants, equivalent ones included."""
        return self.killed / len(self.outcomes) if self.outcomes else 1.0

    @property
    def passed(self) -> bool:
        return self.score + 1e-9 >= self.floor


class _Workspace:
    """Temporary copies of a package, each shadowing the installed one on ``PYTHONPATH``."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="greensync-mutants-"))

    def make(self, module: Module, label: str, mutant: Mutant | None) -> Path:
        base = self.root / label
        target = base / "greensync" / module.package
        shutil.copytree(
            module.package_dir, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
        if mutant is not None:
            mutated = target / Path(module.path).relative_to(
                Path("packages", module.package, "src", "greensync", module.package)
            )
            mutated.write_bytes(mutant.apply((ROOT / module.path).read_bytes()))
        return base

    def remove(self, base: Path) -> None:
        shutil.rmtree(base, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _environment(base: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("GREENSYNC_STRESS", "GREENSYNC_HUB", "GREENSYNC_CHAOS", "PYTHONPATH")
    }
    env["PYTHONPATH"] = str(base)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONHASHSEED"] = "0"
    return env


def _check_shadowing(module: Module, base: Path) -> None:
    """Make sure the copy in ``base`` is what the tests will import, not the installed one."""
    dotted = ".".join(Path(module.path).with_suffix("").parts[3:])
    probe = subprocess.run(
        [sys.executable, "-c", f"import {dotted} as m; print(m.__file__)"],
        env=_environment(base),
        cwd=base,
        capture_output=True,
        text=True,
        check=False,
    )
    location = probe.stdout.strip()
    if probe.returncode != 0 or not Path(location).resolve().is_relative_to(base.resolve()):
        raise SystemExit(
            f"mutants: {dotted} imports from {location or probe.stderr.strip()!r}, not from the "
            f"copy in {base}: is the package installed in a way PYTHONPATH cannot shadow?"
        )


def _pytest(settings: Settings, module: Module, base: Path, limit: float) -> tuple[str, float, str]:
    """Run the module's package tests against the copy in ``base``; return status and time."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "-c",
        str(ROOT / "pyproject.toml"),
        "--rootdir",
        str(ROOT),
        "-o",
        f"timeout={settings.test_timeout:g}",
        f"--hypothesis-seed={settings.hypothesis_seed}",
        str(module.tests),
    ]
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=base,
        env=_environment(base),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return "timeout", time.monotonic() - started, f"stopped after {limit:.0f} s"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    seconds = time.monotonic() - started
    last = output.strip().splitlines()[-1] if output.strip() else ""
    code = process.returncode
    if code == 0:
        return "survived", seconds, last
    if code < 0:  # the interpreter crashed (a mutant can make greenlet segfault)
        return "killed", seconds, f"crashed with signal {-code}: {last}"
    if code in (1, 2, 3):  # tests failed, collection failed (the module broke), internal error
        failed = [line for line in output.splitlines() if line.startswith(("FAILED", "ERROR"))]
        detail = failed[0] if failed else last
        # Name the test by its path in the repository, however pytest spelled it.
        tests_dir = str(module.tests.relative_to(ROOT))
        if tests_dir in detail:
            head, _, tail = detail.partition(tests_dir)
            detail = head.split(" ")[0] + " " + tests_dir + tail
        return "killed", seconds, detail
    if str(base) in output:  # 4: a conftest could not import the mutated module
        errors = [line for line in output.splitlines() if line.startswith("E ")]
        return "killed", seconds, f"broke an import: {errors[-1] if errors else last}"
    raise SystemExit(f"mutants: pytest exited with {code} for {module.tests}:\n{output[-3000:]}")


def run_module(
    settings: Settings,
    module: Module,
    chosen: list[Mutant],
    total: int,
    jobs: int,
    workspace: _Workspace,
) -> ModuleReport:
    """Run the clean suite once, then every chosen mutant; report the module's score."""
    base = workspace.make(module, f"{module.package}-clean", None)
    _check_shadowing(module, base)
    # A test that depends on timing can fail on a loaded machine: a clean run that fails is
    # tried again before the module is given up on.
    failures: list[str] = []
    for _ in range(settings.clean_attempts):
        status, clean_seconds, detail = _pytest(settings, module, base, settings.clean_timeout)
        if status == "survived":
            break
        failures.append(detail)
        print(f"  the clean run failed ({detail}); trying again", flush=True)
    workspace.remove(base)
    if status != "survived":
        raise SystemExit(f"mutants: {module.tests} fail without any mutant: {failures}")
    limit = clean_seconds * settings.timeout_factor + settings.timeout_slack
    print(
        f"\n{module.path}: {len(chosen)} of {total} mutants; clean run {clean_seconds:.1f} s, "
        f"limit {limit:.0f} s per mutant",
        flush=True,
    )
    report = ModuleReport(module.path, total, module.floor, module.before, clean_seconds)
    equivalent = {e.index: e for e in module.equivalent}

    def one(mutant: Mutant) -> Outcome:
        if mutant.index in equivalent:
            return Outcome(
                mutant.name,
                "equivalent",
                0.0,
                mutant.line,
                mutant.operator,
                mutant.description,
                equivalent[mutant.index].why,
            )
        mbase = workspace.make(module, f"{module.package}-{mutant.index}", mutant)
        try:
            status, seconds, detail = _pytest(settings, module, mbase, limit)
        finally:
            workspace.remove(mbase)
        return Outcome(
            mutant.name, status, seconds, mutant.line, mutant.operator, mutant.description, detail
        )

    def record(done: int, outcome: Outcome) -> None:
        report.outcomes.append(outcome)
        print(
            f"  [{done:>3}/{len(chosen)}] {outcome.status:<8} {outcome.seconds:6.1f} s  "
            f"line {outcome.line:<4} {outcome.operator:<8} {outcome.description}",
            flush=True,
        )
        if outcome.status != "survived":
            print(f"{'':>20}{_short(outcome.detail, 110)}", flush=True)

    if jobs <= 1:  # in this thread, so that an interrupt stops the running suite at once
        for done, mutant in enumerate(chosen, start=1):
            record(done, one(mutant))
    else:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for done, outcome in enumerate(pool.map(one, chosen), start=1):
                record(done, outcome)
    return report


def _summary(reports: list[ModuleReport]) -> str:
    rows = [
        f"{'module':<52} {'sample':>11} {'equiv':>5} {'killed':>6} {'timeout':>7} {'score':>7} "
        f"{'raw':>7} {'before':>7} {'floor':>6}"
    ]
    for r in reports:
        timeouts = sum(1 for o in r.outcomes if o.status == "timeout")
        flag = "" if r.passed else "  BELOW THE FLOOR"
        before = "-" if r.before is None else f"{r.before:.1%}"
        rows.append(
            f"{r.path:<52} {len(r.outcomes):>4} of {r.total:<4} {r.equivalent:>5} {r.killed:>6} "
            f"{timeouts:>7} {r.score:>7.1%} {r.raw_score:>7.1%} {before:>7} {r.floor:>6.1%}{flag}"
        )
    return "\n".join(rows)


def _install_sigterm() -> None:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)


def _only(names: Sequence[str], settings: Settings) -> dict[str, set[int]]:
    """``PATH:INDEX`` names, by module path."""
    chosen: dict[str, set[int]] = {}
    known = {m.path for m in settings.modules}
    for name in names:
        path, _, index = name.rpartition(":")
        if path not in known or not index.isdigit():
            raise SystemExit(f"mutants: no mutant {name!r} (PATH:INDEX, PATH from the config)")
        chosen.setdefault(path, set()).add(int(index))
    return chosen


def _check_equivalent(module: Module, everything: list[Mutant]) -> None:
    """Fail on an entry of ``equivalent`` that no longer names the mutant it was written for."""
    by_index = {m.index: m for m in everything}
    for e in module.equivalent:
        found = by_index.get(e.index)
        if found is None or found.description != e.description:
            now = "no such mutant" if found is None else f"it is now {found.description!r}"
            raise SystemExit(
                f"mutants: {module.path}:{e.index} is listed as equivalent ({e.description!r}), "
                f"but {now}: the source moved; read the survivors again and update the list"
            )


def command_run(args: argparse.Namespace, settings: Settings) -> int:
    only = _only(args.only, settings)
    modules = [m for m in _selected(args, settings) if not only or m.path in only]
    per_module = settings.per_module if args.per_module is None else args.per_module
    seed = settings.seed if args.seed is None else args.seed
    _install_sigterm()
    workspace = _Workspace()
    started = time.monotonic()
    reports: list[ModuleReport] = []
    try:
        for module in modules:
            everything = enumerate_mutants(module)
            _check_equivalent(module, everything)
            if only:
                chosen = [m for m in everything if m.index in only[module.path]]
            else:
                chosen = sample(module, everything, per_module, seed)
            reports.append(
                run_module(settings, module, chosen, len(everything), args.jobs, workspace)
            )
    finally:
        workspace.close()
    elapsed = time.monotonic() - started
    for r in reports:
        survivors = [o for o in r.outcomes if o.status == "survived"]
        if survivors:
            print(f"\nsurvivors in {r.path} (show one: python tools/mutants.py show NAME):")
            for o in survivors:
                print(f"  {o.name:<52} line {o.line:<4} {o.operator:<8} {o.description}")
    print(f"\n{_summary(reports)}")
    print(f"\nseed {seed}, {per_module or 'all'} mutants per module, {elapsed / 60:.1f} min")
    report_path = ROOT / settings.report
    if only:  # a partial run must not replace the report of a full one
        report_path = report_path.with_name(f"{report_path.stem}-only{report_path.suffix}")
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(
        json.dumps(
            {
                "seed": seed,
                "per_module": per_module,
                "minutes": round(elapsed / 60, 1),
                "python": sys.version.split()[0],
                "modules": [
                    {
                        "path": r.path,
                        "total": r.total,
                        "sampled": len(r.outcomes),
                        "equivalent": r.equivalent,
                        "killed": r.killed,
                        "score": round(r.score, 4),
                        "raw_score": round(r.raw_score, 4),
                        "floor": r.floor,
                        "before": r.before,
                        "clean_seconds": round(r.clean_seconds, 1),
                        "outcomes": [asdict(o) for o in r.outcomes],
                    }
                    for r in reports
                ],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"report: {report_path.relative_to(ROOT)}")
    below = [r.path for r in reports if not r.passed]
    if only:
        print("(named mutants only: the floors do not apply)")
    elif below and not args.no_floor:
        print(f"\nbelow the recorded floor: {', '.join(below)}", file=sys.stderr)
        return 1
    return 0


def command_list(args: argparse.Namespace, settings: Settings) -> int:
    for module in _selected(args, settings):
        everything = enumerate_mutants(module)
        shown = (
            everything
            if args.all
            else sample(
                module,
                everything,
                settings.per_module if args.per_module is None else args.per_module,
                settings.seed if args.seed is None else args.seed,
            )
        )
        print(f"{module.path}: {len(shown)} of {len(everything)} mutants")
        for m in shown:
            print(f"  {m.name:<52} line {m.line:<4} {m.operator:<8} {m.description}")
    return 0


def command_show(args: argparse.Namespace, settings: Settings) -> int:
    path, _, index = args.name.rpartition(":")
    module = next((m for m in settings.modules if m.path == path), None)
    if module is None or not index.isdigit():
        raise SystemExit(f"mutants: no mutant {args.name!r} (PATH:INDEX, PATH from the config)")
    everything = enumerate_mutants(module)
    if int(index) >= len(everything):
        raise SystemExit(f"mutants: {path} has {len(everything)} mutants")
    mutant = everything[int(index)]
    print(f"{mutant.name}  line {mutant.line}  {mutant.operator}  {mutant.description}")
    print(diff(mutant))
    return 0


def _selected(args: argparse.Namespace, settings: Settings) -> list[Module]:
    if not args.module:
        return list(settings.modules)
    known = {m.path: m for m in settings.modules}
    unknown = [path for path in args.module if path not in known]
    if unknown:
        raise SystemExit(f"mutants: not in {CONFIG.relative_to(ROOT)}: {unknown}")
    return [known[path] for path in args.module]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/mutants.py", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIG, help="default: tools/mutants.toml")
    sub = parser.add_subparsers(dest="command", required=True)
    commands: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
        "run": command_run,
        "list": command_list,
        "show": command_show,
    }
    for name in ("run", "list"):
        p = sub.add_parser(name)
        p.add_argument("--module", action="append", default=[], help="a path from the config")
        p.add_argument("--per-module", type=int, default=None, help="0 for every mutant")
        p.add_argument("--seed", type=int, default=None)
        if name == "run":
            p.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
            p.add_argument("--no-floor", action="store_true", help="report, never fail")
            p.add_argument(
                "--only", action="append", default=[], metavar="PATH:INDEX", help="these mutants"
            )
        else:
            p.add_argument("--all", action="store_true", help="every mutant, not the sample")
    show = sub.add_parser("show")
    show.add_argument("name", help="PATH:INDEX")
    args = parser.parse_args(argv)
    try:
        return commands[args.command](args, load_settings(args.config))
    except KeyboardInterrupt as exc:
        print(
            f"\nmutants: interrupted ({exc or 'keyboard'}); nothing was left behind",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
