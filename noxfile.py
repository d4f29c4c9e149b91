"""Build, test, lint, type-check and benchmark every greensync package.

Packages are discovered from ``packages/*/pyproject.toml``: a new package joins every session
by existing.  ``nox`` with no arguments runs tests, isolated, lint and typecheck on every CPython
>= 3.11 found on this machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PACKAGES = sorted(p.parent.name for p in ROOT.glob("packages/*/pyproject.toml"))
# The hub first: everything else depends on it.
PACKAGES.sort(key=lambda name: (name != "hub", name))
TEST_DEPS = ["pytest>=8", "pytest-timeout>=2.2", "hypothesis>=6"]
LINT_DEPS = ["ruff>=0.6"]
TYPE_DEPS = ["mypy>=1.10", "types-greenlet", "nox", *TEST_DEPS]

ADAPTERS = {"gevent": ["gevent"], "eventlet": ["eventlet"], "asyncio": []}

nox.options.sessions = [
    "tests",
    "isolated",
    "lint",
    "typecheck",
    *(f"compat-{name}" for name in ADAPTERS),
    "chaos",
]
nox.options.reuse_existing_virtualenvs = True


def _expose_pyenv_versions() -> None:
    """Put pyenv's real interpreters on PATH, ahead of shims that fail for inactive versions."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if not root.is_dir():
        return
    bins = [str(d / "bin") for d in sorted(root.iterdir()) if (d / "bin").is_dir()]
    os.environ["PATH"] = os.pathsep.join([*bins, os.environ.get("PATH", "")])


def _available_pythons() -> list[str]:
    """Every CPython >= 3.11 that actually runs here; at least the one running nox."""
    _expose_pyenv_versions()
    found = []
    for minor in range(11, 20):
        version = f"3.{minor}"
        exe = shutil.which(f"python{version}")
        if exe is None:
            continue
        probe = subprocess.run(
            [exe, "-c", "import sys, venv; print(sys.implementation.name)"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "cpython":
            found.append(version)
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running not in found:
        found.append(running)
    return found


PYTHONS = _available_pythons()


def _requirements(package: str) -> list[str]:
    """Runtime dependencies declared by ``packages/<package>/pyproject.toml``."""
    data = tomllib.loads((ROOT / "packages" / package / "pyproject.toml").read_text())
    deps: list[str] = data["project"].get("dependencies", [])
    return deps


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Every package installed editable in one venv; one pytest run over all their tests."""
    session.install(*TEST_DEPS)
    session.install(*[arg for name in PACKAGES for arg in ("-e", f"packages/{name}")])
    session.run(
        "pytest",
        *[f"packages/{name}/tests" for name in PACKAGES],
        *session.posargs,
    )


@nox.session(python=PYTHONS)
def isolated(session: nox.Session) -> None:
    """Each package as a wheel, installed alone with only its declared dependencies."""
    session.install("build>=1", "virtualenv")
    tmp = Path(session.create_tmp()).resolve()
    wheels = tmp / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.mkdir(parents=True)
    for name in PACKAGES:
        session.run(
            "python",
            "-m",
            "build",
            "--wheel",
            "--outdir",
            str(wheels),
            f"packages/{name}",
            silent=True,
        )
    session.run("python", str(ROOT / "tools" / "check_wheels.py"), str(wheels))
    for name in PACKAGES:
        env_dir = tmp / f"venv-{name}"
        shutil.rmtree(env_dir, ignore_errors=True)
        session.run("python", "-m", "virtualenv", "-q", str(env_dir), silent=True)
        bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
        py = str(bindir / "python")
        dist = f"greensync-{name}"
        session.run(
            py,
            "-m",
            "pip",
            "install",
            "-q",
            "--find-links",
            str(wheels),
            dist,
            *TEST_DEPS,
            external=True,
        )
        # Only the declared dependencies (and what they pull in) may be present.
        session.run(
            py,
            str(ROOT / "tools" / "check_isolation.py"),
            name,
            *_requirements(name),
            external=True,
        )
        with session.chdir(ROOT / "packages" / name):
            session.run(
                py,
                "-m",
                "pytest",
                "-c",
                str(ROOT / "pyproject.toml"),
                "--rootdir",
                ".",
                "-p",
                "no:cacheprovider",
                "tests",
                *session.posargs,
                external=True,
            )


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole repository."""
    session.install(*LINT_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHONS)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on every package's sources and tests, one package at a time."""
    session.install(*TYPE_DEPS)
    session.install(*[arg for name in PACKAGES for arg in ("-e", f"packages/{name}")])
    for name in PACKAGES:
        session.run("mypy", "--strict", f"packages/{name}/src", f"packages/{name}/tests")
    session.run("mypy", "--strict", "noxfile.py", "examples", "tools")


@nox.session(python=PYTHONS[0], name="compat-gevent")
def compat_gevent(session: nox.Session) -> None:
    """Every package's test suite with the gevent adapter as the hub."""
    _compat(session, "gevent")


@nox.session(python=PYTHONS[0], name="compat-eventlet")
def compat_eventlet(session: nox.Session) -> None:
    """Every package's test suite with the eventlet adapter as the hub."""
    _compat(session, "eventlet")


@nox.session(python=PYTHONS[0], name="compat-asyncio")
def compat_asyncio(session: nox.Session) -> None:
    """Every package's test suite with the hub running on an asyncio event loop."""
    _compat(session, "asyncio")


def _compat(session: nox.Session, adapter: str) -> None:
    session.install(*TEST_DEPS, *ADAPTERS[adapter])
    session.install(*[arg for name in PACKAGES for arg in ("-e", f"packages/{name}")])
    session.run(
        "pytest",
        *[f"packages/{name}/tests" for name in PACKAGES],
        *session.posargs,
        env={"GREENSYNC_HUB": adapter},
    )


CHAOS_SEEDS = [int(s) for s in os.environ.get("GREENSYNC_CHAOS_SEEDS", "1 2 3 4 5").split()]


@nox.session(python=PYTHONS[0])
def chaos(session: nox.Session) -> None:
    """The contract suites under the seeded chaos scheduler, once per seed.

    Seeds come from GREENSYNC_CHAOS_SEEDS (default "1 2 3 4 5"); a failure names its seed, and
    ``GREENSYNC_CHAOS=<seed> pytest -m contract ...`` replays it.
    """
    session.install(*TEST_DEPS, "hypothesis")
    session.install(*[arg for name in PACKAGES for arg in ("-e", f"packages/{name}")])
    failed = []
    for seed in CHAOS_SEEDS:
        session.log(f"chaos seed {seed}")
        try:
            session.run(
                "pytest",
                "-q",
                "-m",
                "contract",
                *[f"packages/{name}/tests" for name in PACKAGES],
                *session.posargs,
                env={"GREENSYNC_CHAOS": str(seed)},
            )
        except nox.command.CommandFailed:
            failed.append(seed)
    if failed:
        session.error(f"contract suites failed under GREENSYNC_CHAOS seeds {failed}")
    session.log(f"contract suites passed under {len(CHAOS_SEEDS)} chaos seeds {CHAOS_SEEDS}")


@nox.session(python=PYTHONS[0])
def stress(session: nox.Session) -> None:
    """The long stress runs (tests marked ``stress``), which the default run carries reduced."""
    session.install(*TEST_DEPS, "hypothesis")
    session.install(*[arg for name in PACKAGES for arg in ("-e", f"packages/{name}")])
    session.run(
        "pytest",
        "-m",
        "stress",
        "-o",
        "timeout=900",
        *[f"packages/{name}/tests" for name in PACKAGES],
        *session.posargs,
        env={"GREENSYNC_STRESS": "1"},
    )


@nox.session(python=PYTHONS[0])
def mutants(session: nox.Session) -> None:
    """Mutation testing of the hot-path modules listed in tools/mutants.toml (tens of minutes).

    Not part of the default sessions.  Each sampled mutant of a module runs against that
    module's own package's tests; a module whose score falls below its recorded floor fails
    the session.  Options of ``tools/mutants.py run`` go after ``--`` (``--module PATH``,
    ``--per-module N``, ``--seed N``, ``--jobs N``, ``--no-floor``); ``python
    tools/mutants.py list`` and ``show`` inspect the mutants without running them.
    """
    session.install(*TEST_DEPS)
    session.install(*[arg for name in PACKAGES for arg in ("-e", f"packages/{name}")])
    session.run("python", str(ROOT / "tools" / "mutants.py"), "run", *session.posargs)


@nox.session(python=PYTHONS[0])
def demo(session: nox.Session) -> None:
    """Run every example in examples/, printing what happened."""
    session.install(*{dep for deps in ADAPTERS.values() for dep in deps})
    session.install(*[arg for name in PACKAGES for arg in ("-e", f"packages/{name}")])
    for example in sorted((ROOT / "examples").glob("*.py")):
        session.log(f"--- {example.name}")
        session.run("python", str(example))


@nox.session(python=PYTHONS[0])
def bench(session: nox.Session) -> None:
    """greensync side by side with gevent, eventlet, asyncio, threading and the greenlet floor.

    Not part of the default sessions.  ``nox -s bench`` is the full run (a few minutes): it
    prints the table and writes benchmarks/results/latest.json and docs/bench.png.
    ``nox -s bench -- --quick`` is the smoke run; it writes benchmarks/results/quick.json and
    no plot, so the published one is never replaced by smoke numbers.  Any other driver option
    goes after ``--`` as well (``python -m benchmarks --help``).
    """
    session.install("gevent", "eventlet", "matplotlib")
    session.install(*[arg for name in PACKAGES for arg in ("-e", f"packages/{name}")])
    args = list(session.posargs)
    quick = "--quick" in args
    if not any(arg == "--json" or arg.startswith("--json=") for arg in args):
        results = ROOT / "benchmarks" / "results" / ("quick.json" if quick else "latest.json")
        args += ["--json", str(results)]
    if not quick and not any(arg == "--plot" or arg.startswith("--plot=") for arg in args):
        (ROOT / "docs").mkdir(exist_ok=True)
        args += ["--plot", str(ROOT / "docs" / "bench.png")]
    session.run("python", "-m", "benchmarks", *args)
