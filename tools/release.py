"""The packages, their versions and their release record; and the steps of a release.

Every tool that needs to know what was released asks this module: ``nox -s lowest`` (which
greensync-hub a leaf's range allows at its low end, and the commit it was released from),
``nox -s api`` (each package's last release, to compare its API with) and the release steps
themselves.  Nothing here hard-codes a version, a range or a commit: versions come from each
package's ``__about__.py``, ranges from its ``pyproject.toml``, releases from ``RELEASES.toml``.

Where a release is recorded (two places, which must agree):

* ``RELEASES.toml`` at the root: one ``[[release]]`` table per released version (package,
  version, commit, date).  It is committed, so a clean clone without tags -- CI's -- knows every
  release.
* a git tag ``<package>-v<version>`` (``greensync-hub-v0.1.0``) on the release commit, where
  the repository keeps tags.

The release commit of a version is the commit that set it in the package's ``__about__.py``
(and dated its CHANGELOG section); the record is written in a commit after it.

Usage (RELEASING.md walks through a release; ``nox -s release -- <command>`` runs it with the
pinned hatch and packaging)::

    python tools/release.py status             # every package: tree version, last release
    python tools/release.py prepare lock minor # hatch version minor; date lock's Unreleased
    python tools/release.py record lock        # record HEAD as lock's release, and tag it
    python tools/release.py tag                # tag every recorded release that has no tag
    python tools/release.py check              # the record, the tags and the CHANGELOGs agree
"""

from __future__ import annotations

import argparse
import datetime
import re
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
RECORD = "RELEASES.toml"
UNRELEASED = "## Unreleased"
_VERSION_LINE = re.compile(r'^__version__\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)
_HEADING = re.compile(r"^## (\S+)(?: — (\d{4}-\d{2}-\d{2}))?\s*$", re.MULTILINE)
_RECORD_HEADER = """\
# The release record: one [[release]] per released version of a package, appended by
# `python tools/release.py record <package>` (see RELEASING.md).  `commit` is the release
# commit, the one that set `version` in the package's __about__.py; the tag
# `<package>-v<version>` points at it where the repository keeps tags.  `nox -s lowest` and
# `nox -s api` read this file, so that a clean clone without tags knows every release.
"""


class ReleaseError(Exception):
    """A release step cannot go on; the message says why and what to do."""


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` and return its output, stripped; a failure is a ReleaseError."""
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def parse_version(about_text: str, where: str) -> Version:
    """The ``__version__`` in the text of an ``__about__.py``."""
    match = _VERSION_LINE.search(about_text)
    if match is None:
        raise ReleaseError(f"{where}: no __version__ line")
    return Version(match.group(1))


@dataclass(frozen=True)
class Package:
    """One distribution of the repository, as its files in a tree describe it."""

    name: str
    """The short name: ``lock`` for greensync-lock, ``packages/lock``, ``greensync.lock``."""
    root: Path

    @property
    def dist(self) -> str:
        """The distribution name its ``pyproject.toml`` gives (``greensync-lock``)."""
        return canonicalize_name(str(self.project["name"]))

    @property
    def path(self) -> Path:
        return self.root / "packages" / self.name

    @property
    def relpath(self) -> str:
        return f"packages/{self.name}"

    @property
    def about(self) -> str:
        """The ``__about__.py`` that holds the version, relative to the repository."""
        return f"{self.relpath}/src/greensync/{self.name}/__about__.py"

    @property
    def changelog(self) -> Path:
        return self.path / "CHANGELOG.md"

    @property
    def version(self) -> Version:
        """The version in the tree."""
        return parse_version((self.root / self.about).read_text("utf-8"), self.about)

    @property
    def project(self) -> dict[str, object]:
        data = tomllib.loads((self.path / "pyproject.toml").read_text("utf-8"))
        project: dict[str, object] = data["project"]
        return project

    @property
    def dependencies(self) -> list[Requirement]:
        """The run-time requirements the package declares."""
        declared = self.project.get("dependencies", [])
        assert isinstance(declared, list)
        return [Requirement(str(line)) for line in declared]

    @property
    def oldest_python(self) -> str:
        """The oldest Python its ``requires-python`` allows (``>=3.11`` gives ``3.11``)."""
        return oldest_python(str(self.project.get("requires-python", "")))

    def version_at(self, commit: str) -> Version:
        """The version the package had at ``commit``."""
        text = git(self.root, "show", f"{commit}:{self.about}")
        return parse_version(text, f"{commit}:{self.about}")

    def file_at(self, commit: str | None, relative: str) -> str:
        """A file of the package (``pyproject.toml``) at ``commit``, or in the tree for None."""
        if commit is None:
            return (self.path / relative).read_text("utf-8")
        return git(self.root, "show", f"{commit}:{self.relpath}/{relative}")


def oldest_python(requires_python: str) -> str:
    """``3.X`` from a ``requires-python`` of the form ``>=3.X``."""
    match = re.fullmatch(r"\s*>=\s*3\.(\d+)(?:\.\d+)?\s*", requires_python)
    if match is None:
        raise ReleaseError(f"requires-python {requires_python!r} is not of the form '>=3.X'")
    return f"3.{match.group(1)}"


def packages(root: Path = ROOT) -> list[Package]:
    """Every package of the tree, the hub first (everything else depends on it)."""
    names = sorted(p.parent.name for p in root.glob("packages/*/pyproject.toml"))
    names.sort(key=lambda name: (name != "hub", name))
    return [Package(name, root) for name in names]


def package(name: str, root: Path = ROOT) -> Package:
    """The package called ``name``: ``lock`` or ``greensync-lock``."""
    wanted = canonicalize_name(name)
    for candidate in packages(root):
        if wanted in (candidate.name, candidate.dist):
            return candidate
    known = ", ".join(p.name for p in packages(root))
    raise ReleaseError(f"no package {name!r} in {root / 'packages'} (known: {known})")


@dataclass(frozen=True)
class Release:
    """One recorded release."""

    dist: str
    version: Version
    commit: str
    date: datetime.date

    @property
    def tag(self) -> str:
        return f"{self.dist}-v{self.version}"

    def __str__(self) -> str:
        return f"{self.dist} {self.version} ({self.commit[:7]}, {self.date})"


def read_record(root: Path = ROOT) -> list[Release]:
    """Every release in ``RELEASES.toml`` (none if there is no such file yet)."""
    path = root / RECORD
    if not path.is_file():
        return []
    releases = []
    for entry in tomllib.loads(path.read_text("utf-8")).get("release", []):
        try:
            date = entry["date"]
            if not isinstance(date, datetime.date):
                date = datetime.date.fromisoformat(str(date))
            releases.append(
                Release(
                    canonicalize_name(entry["package"]),
                    Version(entry["version"]),
                    str(entry["commit"]),
                    date,
                )
            )
        except (KeyError, ValueError) as exc:
            raise ReleaseError(f"{RECORD}: bad entry {entry!r}: {exc}") from exc
    return releases


def releases_of(dist: str, root: Path = ROOT) -> list[Release]:
    """The recorded releases of one package, oldest first."""
    wanted = canonicalize_name(dist)
    return sorted((r for r in read_record(root) if r.dist == wanted), key=lambda r: r.version)


def last_release(dist: str, root: Path = ROOT) -> Release | None:
    """The newest recorded release of a package, or None if it was never released."""
    found = releases_of(dist, root)
    return found[-1] if found else None


def tag_target(tag: str, root: Path = ROOT) -> str | None:
    """The commit a tag points at, or None if this repository has no such tag."""
    try:
        return git(root, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}")
    except ReleaseError:
        return None


def release_commit(dist: str, version: Version, root: Path = ROOT) -> str | None:
    """The commit ``dist`` ``version`` was released from: the record, or else its tag."""
    for release in releases_of(dist, root):
        if release.version == version:
            return release.commit
    return tag_target(f"{canonicalize_name(dist)}-v{version}", root)


@dataclass(frozen=True)
class Source:
    """Where a version of a package comes from: a release commit, or the tree (unreleased)."""

    package: Package
    version: Version
    commit: str | None

    def __str__(self) -> str:
        if self.commit is None:
            return f"{self.package.dist} {self.version} from the working tree (not released yet)"
        return f"{self.package.dist} {self.version} from its release commit {self.commit[:7]}"


def lowest_allowed(requirement: Requirement, root: Path = ROOT) -> Source:
    """The lowest version of a greensync package that ``requirement`` allows.

    The candidates are the recorded releases of that package and the version in the tree; a
    version that is both is taken from its release commit.
    """
    dep = package(requirement.name, root)
    candidates: dict[Version, str | None] = {dep.version: None}
    for release in releases_of(dep.dist, root):
        candidates[release.version] = release.commit
    allowed = sorted(v for v in candidates if requirement.specifier.contains(v, prereleases=True))
    if not allowed:
        known = ", ".join(str(v) for v in sorted(candidates))
        raise ReleaseError(f"{requirement} allows none of the known versions ({known})")
    return Source(dep, allowed[0], candidates[allowed[0]])


def lower_bound(specifier: SpecifierSet, name: str) -> Version:
    """The lowest version a specifier names as allowed (``>=3.0`` gives 3.0)."""
    bounds = [Version(s.version) for s in specifier if s.operator in (">=", "==", "~=", "===")]
    if not bounds:
        raise ReleaseError(f"{name}{specifier} has no inclusive lower bound to test against")
    return max(bounds)


def dependencies_at(source: Source) -> list[Requirement]:
    """The run-time requirements of a package version as it was released (or is in the tree)."""
    text = source.package.file_at(source.commit, "pyproject.toml")
    declared = tomllib.loads(text)["project"].get("dependencies", [])
    return [Requirement(line) for line in declared]


def is_allowed_break(released: Version, current: Version) -> bool:
    """True if going from ``released`` to ``current`` may break the API.

    Below 1.0 a new minor version may break (0.2.x to 0.3.0); from 1.0 on, a new major one.
    """
    if released.major == 0:
        return (current.major, current.minor) > (0, released.minor)
    return current.major > released.major


def next_breaking(released: Version) -> Version:
    """The first version that may break the API of ``released``."""
    if released.major == 0:
        return Version(f"0.{released.minor + 1}.0")
    return Version(f"{released.major + 1}.0.0")


# -- the CHANGELOGs ----------------------------------------------------------------------


def changelog_headings(text: str) -> list[tuple[str, str | None]]:
    """Each ``## <version> — <date>`` heading (and ``## Unreleased``) of a CHANGELOG, in order."""
    return [(m.group(1), m.group(2)) for m in _HEADING.finditer(text)]


def changelog_problems(pkg: Package) -> list[str]:
    """What is wrong with a package's CHANGELOG.md as a release record."""
    text = pkg.changelog.read_text("utf-8")
    problems = []
    headings = changelog_headings(text)
    if not headings or headings[0] != ("Unreleased", None):
        problems.append(
            f"{pkg.changelog.relative_to(pkg.root)}: the first section is not '{UNRELEASED}'"
        )
    dated = {version for version, date in headings if date is not None}
    for release in releases_of(pkg.dist, pkg.root):
        if str(release.version) not in dated:
            problems.append(
                f"{pkg.changelog.relative_to(pkg.root)}: no dated section for {release}"
            )
    return problems


def date_unreleased(text: str, version: Version, date: datetime.date) -> str:
    """Turn the ``## Unreleased`` section into ``## <version> — <date>``, under a fresh one."""
    start = text.find(f"{UNRELEASED}\n")
    if start < 0:
        raise ReleaseError(f"no '{UNRELEASED}' section")
    body_start = start + len(UNRELEASED) + 1
    following = _HEADING.search(text, body_start)
    body_end = following.start() if following else len(text)
    body = text[body_start:body_end].strip()
    if not body:
        raise ReleaseError(f"nothing under '{UNRELEASED}': write what changed there first")
    return (
        f"{text[:start]}{UNRELEASED}\n\n## {version} — {date.isoformat()}\n\n{body}\n\n"
        f"{text[body_end:]}"
    ).rstrip("\n") + "\n"


# -- the steps ---------------------------------------------------------------------------


def check(root: Path = ROOT) -> list[str]:
    """Every disagreement between the record, the tags, the tree and the CHANGELOGs."""
    problems = []
    by_name = {p.dist: p for p in packages(root)}
    seen: set[tuple[str, Version]] = set()
    for release in read_record(root):
        pkg = by_name.get(release.dist)
        if pkg is None:
            problems.append(f"{RECORD}: {release}: no such package in packages/")
            continue
        if (release.dist, release.version) in seen:
            problems.append(f"{RECORD}: {release.dist} {release.version} is recorded twice")
        seen.add((release.dist, release.version))
        try:
            full = git(root, "rev-parse", "--verify", "--quiet", f"{release.commit}^{{commit}}")
        except ReleaseError:
            problems.append(
                f"{RECORD}: {release}: commit not in this clone (a shallow clone? "
                "git fetch --unshallow)"
            )
            continue
        if full != release.commit:
            problems.append(f"{RECORD}: {release}: write the full commit hash, {full}")
        if pkg.version_at(full) != release.version:
            problems.append(
                f"{RECORD}: {release}: {pkg.about} says {pkg.version_at(full)} at that commit"
            )
        target = tag_target(release.tag, root)
        if target is not None and target != full:
            problems.append(f"tag {release.tag} points at {target[:7]}, the record at {full[:7]}")
    for pkg in by_name.values():
        last = last_release(pkg.dist, root)
        if last is not None and pkg.version < last.version:
            problems.append(f"{pkg.about}: {pkg.version} is older than the release {last}")
        problems.extend(changelog_problems(pkg))
    return problems


def prepare(name: str, bump: str | None, date: datetime.date, root: Path = ROOT) -> str:
    """Bump a package's version with ``hatch version`` (if ``bump``), and date its Unreleased
    section as that version."""
    pkg = package(name, root)
    if bump is not None:
        done = subprocess.run(["hatch", "version", bump], cwd=pkg.path, check=False)
        if done.returncode != 0:
            raise ReleaseError(f"hatch version {bump} failed in {pkg.relpath}")
    last = last_release(pkg.dist, root)
    if last is not None and pkg.version <= last.version:
        raise ReleaseError(
            f"{pkg.dist} is still {pkg.version}, released as {last}: give the new version "
            f"(python tools/release.py prepare {pkg.name} minor)"
        )
    text = pkg.changelog.read_text("utf-8")
    if any(version == str(pkg.version) for version, _ in changelog_headings(text)):
        raise ReleaseError(f"{pkg.changelog.relative_to(root)} already has {pkg.version}")
    pkg.changelog.write_text(date_unreleased(text, pkg.version, date), "utf-8")
    return (
        f"{pkg.changelog.relative_to(root)}: Unreleased is now {pkg.version} — {date}.\n"
        f"Next: git commit -m '{pkg.name}: {pkg.version}' {pkg.about} "
        f"{pkg.changelog.relative_to(root)}\n"
        f"then:  python tools/release.py record {pkg.name}"
    )


def record(name: str, commit: str, make_tag: bool, root: Path = ROOT) -> str:
    """Append ``commit`` to the record as the release of the version it sets, and tag it."""
    pkg = package(name, root)
    full = git(root, "rev-parse", "--verify", f"{commit}^{{commit}}")
    version = pkg.version_at(full)
    last = last_release(pkg.dist, root)
    if last is not None and version <= last.version:
        raise ReleaseError(f"{pkg.dist} {version} at {full[:7]} is not newer than {last}")
    changelog = pkg.file_at(full, "CHANGELOG.md")
    if not any(v == str(version) and d for v, d in changelog_headings(changelog)):
        raise ReleaseError(
            f"{full[:7]}: {pkg.relpath}/CHANGELOG.md has no dated section for {version} "
            f"(python tools/release.py prepare {pkg.name}, then commit)"
        )
    date = datetime.date.fromisoformat(
        git(root, "show", "-s", "--format=%cd", "--date=short", full)
    )
    release = Release(pkg.dist, version, full, date)
    path = root / RECORD
    text = path.read_text("utf-8") if path.is_file() else _RECORD_HEADER
    path.write_text(text.rstrip("\n") + "\n\n" + _record_entry(release), "utf-8")
    lines = [f"{RECORD}: recorded {release}"]
    if make_tag:
        lines.append(_make_tag(release, root))
    lines.append(
        f"Next: git commit -m 'release record: {pkg.dist} {version}' {RECORD}; "
        f"nox -s build publish-local api; then upload dist/{pkg.dist.replace('-', '_')}-"
        f"{version}* with twine and push the tag"
    )
    return "\n".join(lines)


def _record_entry(release: Release) -> str:
    return (
        "[[release]]\n"
        f'package = "{release.dist}"\n'
        f'version = "{release.version}"\n'
        f'commit = "{release.commit}"\n'
        f"date = {release.date.isoformat()}\n"
    )


def _make_tag(release: Release, root: Path) -> str:
    target = tag_target(release.tag, root)
    if target == release.commit:
        return f"tag {release.tag} already at {release.commit[:7]}"
    if target is not None:
        raise ReleaseError(f"tag {release.tag} exists at {target[:7]}, not {release.commit[:7]}")
    git(root, "tag", "-a", release.tag, "-m", f"{release.dist} {release.version}", release.commit)
    return f"tagged {release.commit[:7]} {release.tag}"


def status(root: Path = ROOT) -> str:
    """One line per package: tree version, last release, commits since, Unreleased notes."""
    lines = []
    for pkg in packages(root):
        last = last_release(pkg.dist, root)
        if last is None:
            lines.append(f"{pkg.dist:20} {pkg.version!s:8} never released")
            continue
        try:
            since = git(root, "rev-list", "--count", f"{last.commit}..HEAD", "--", pkg.relpath)
        except ReleaseError:
            since = "?"
        tag = "tagged" if tag_target(last.tag, root) == last.commit else "no tag"
        lines.append(
            f"{pkg.dist:20} {pkg.version!s:8} last release {last.version} ({last.commit[:7]}, "
            f"{last.date}, {tag}); {since} commits to {pkg.relpath} since"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="every package's tree version and last release")
    commands.add_parser("check", help="the record, the tags and the CHANGELOGs agree")
    commands.add_parser("tag", help="tag every recorded release that has no tag here")
    prep = commands.add_parser("prepare", help="date the Unreleased section of a package")
    prep.add_argument("package")
    prep.add_argument("bump", nargs="?", help="hatch version's argument: minor, patch, 0.3.0")
    prep.add_argument("--date", type=datetime.date.fromisoformat, default=datetime.date.today())
    rec = commands.add_parser("record", help="record a commit as a package's release")
    rec.add_argument("package")
    rec.add_argument("--commit", default="HEAD")
    rec.add_argument("--no-tag", dest="tag", action="store_false")
    args = parser.parse_args(argv)
    try:
        if args.command == "status":
            print(status())
        elif args.command == "check":
            problems = check()
            for problem in problems:
                print(problem)
            print(f"release record: {len(read_record())} releases; problems: {len(problems)}")
            return 1 if problems else 0
        elif args.command == "tag":
            for release in read_record():
                print(_make_tag(release, ROOT))
        elif args.command == "prepare":
            print(prepare(args.package, args.bump, args.date))
        elif args.command == "record":
            print(record(args.package, args.commit, args.tag))
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
