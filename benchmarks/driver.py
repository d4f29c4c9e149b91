"""The driver: plan the measurements, run each in a fresh subprocess, and report.

Every (workload, backend) measurement runs in its own ``python -m benchmarks.child`` process.
In a full run each pair is first calibrated (one process finds the op count that takes about
``--seconds``), then measured ``--repeats`` times; the repeats are the outer loop and, within a
repeat, the backends of one workload run back to back in an order that rotates from repeat to
repeat, so a burst of noise on a shared machine hits every backend alike.  Ratios are *paired*:
``backend / gevent`` (and ``backend / floor``) is taken within each repeat, and the table shows
the median of those ratios next to the median ns/op.

A quick run (``--quick``) calibrates and measures in the same process, once per pair, with a
short target: it proves every backend runs every workload correctly, in well under a minute, and
its numbers are only indicative.

The exit status is 1 if any measurement was invalid (a failed check, an exception, a crash, a
hang), 0 otherwise.  Missing a performance target never fails the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import _spec

ROOT = Path(__file__).resolve().parent.parent

#: Distributions whose versions the results record.
LIBRARIES = (
    "greensync-hub",
    "greensync-event",
    "greensync-lock",
    "greensync-queue",
    "greensync-timeout",
    "greenlet",
    "gevent",
    "eventlet",
)


@dataclass(frozen=True)
class Mode:
    """How hard to measure."""

    name: str
    seconds: float
    repeats: int
    instances: int
    parked: int
    memory_repeats: int
    child_timeout: float


QUICK = Mode("quick", 0.02, 1, 2_000, 10_000, 1, 60.0)
FULL = Mode("full", 0.3, 5, 10_000, 100_000, 3, 300.0)


@dataclass
class Sample:
    """One measurement: ``n`` ops requested, ``ops`` done in ``ns``; or what went wrong."""

    n: int
    ns: int
    ops: int
    error: str | None

    @property
    def ns_per_op(self) -> float:
        return self.ns / self.ops


@dataclass
class Cell:
    """Every measurement of one (workload, backend) pair, by repeat."""

    workload: str
    backend: str
    n: int | None = None
    samples: dict[int, Sample] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors and bool(self.samples)

    def ns_per_op(self) -> list[float]:
        return [self.samples[r].ns_per_op for r in sorted(self.samples)]

    def median(self) -> float | None:
        values = self.ns_per_op()
        return statistics.median(values) if values and self.valid else None


@dataclass
class MemCell:
    """Every measurement of one (memory kind, backend) pair."""

    kind: str
    backend: str
    values: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors and bool(self.values)

    def median(self) -> float | None:
        return statistics.median(self.values) if self.valid else None


# -- running children -----------------------------------------------------------------------


def run_child(args: list[str], timeout: float) -> dict[str, Any]:
    """Run ``python -m benchmarks.child *args`` and return its JSON result (or an error)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "benchmarks.child", *args]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"no result within {timeout:g} s (a hang?)"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": f"child exited with status {proc.returncode}: {tail[0]}"}
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"error": f"child printed no result: {lines[-1][:200]!r}"}
    return result


def _sample(result: dict[str, Any]) -> Sample:
    return Sample(
        n=int(result.get("n", 0)),
        ns=int(result.get("ns", 0)),
        ops=int(result.get("ops", 0)),
        error=result.get("error") or (None if result.get("ops") else "no ops done"),
    )


class Progress:
    """One line per child on stderr, so stdout carries only the table."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total = total
        self.done = 0
        self.quiet = quiet
        self.start = time.monotonic()

    def note(self, what: str, outcome: str) -> None:
        self.done += 1
        if self.quiet:
            return
        width = len(str(self.total))
        elapsed = time.monotonic() - self.start
        sys.stderr.write(
            f"[{self.done:>{width}}/{self.total}] {elapsed:6.1f}s  {what:<42} {outcome}\n"
        )
        sys.stderr.flush()


def _fmt_ns(value: float) -> str:
    if value >= 100_000:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def measure(
    workloads: list[_spec.Workload],
    backends: list[str],
    mode: Mode,
    quiet: bool = False,
) -> tuple[dict[tuple[str, str], Cell], dict[tuple[str, str], MemCell]]:
    """Run every measurement of the plan; return the timed cells and the memory cells."""
    pairs = [(w.name, b) for w in workloads for b in backends if _spec.applies(b, w.name)]
    cells = {pair: Cell(*pair) for pair in pairs}
    calibrations = 0 if mode.name == "quick" else len(pairs)
    total = calibrations + len(pairs) * mode.repeats + len(backends) * mode.memory_repeats
    progress = Progress(total, quiet)

    if mode.name != "quick":
        for name, backend in pairs:
            result = run_child(
                ["calibrate", name, backend, "--seconds", str(mode.seconds)],
                mode.child_timeout,
            )
            cell = cells[name, backend]
            if result.get("error"):
                cell.errors.append(f"calibration: {result['error']}")
                progress.note(f"calibrate {name} {backend}", "INVALID")
                continue
            cell.n = int(result["n"])
            progress.note(f"calibrate {name} {backend}", f"n={cell.n:,}")

    for repeat in range(mode.repeats):
        for index, workload in enumerate(workloads):
            present = [b for b in backends if (workload.name, b) in cells]
            shift = (repeat + index) % max(1, len(present))
            for backend in present[shift:] + present[:shift]:
                cell = cells[workload.name, backend]
                what = f"{workload.name} {backend}"
                if mode.name == "quick":
                    args = ["calibrate", workload.name, backend, "--seconds", str(mode.seconds)]
                    args.append("--measure")
                elif cell.n is None:
                    progress.note(what, "skipped (calibration failed)")
                    continue
                else:
                    warmup = max(workload.unit, cell.n // 10)
                    args = ["run", workload.name, backend, "--n", str(cell.n)]
                    args += ["--warmup", str(warmup)]
                sample = _sample(run_child(args, mode.child_timeout))
                if sample.error is not None:
                    cell.errors.append(f"repeat {repeat + 1}: {sample.error}")
                    progress.note(what, f"INVALID: {sample.error}")
                    continue
                cell.n = sample.n
                cell.samples[repeat] = sample
                progress.note(what, f"{_fmt_ns(sample.ns_per_op)} ns/op")

    memory: dict[tuple[str, str], MemCell] = {}
    for repeat in range(mode.memory_repeats):
        for backend in backends:
            args = ["memory", backend, "--instances", str(mode.instances)]
            args += ["--parked", str(mode.parked)]
            result = run_child(args, mode.child_timeout)
            if result.get("error"):
                for kind in _spec.MEMORY_KINDS:
                    if (backend, kind) not in _spec.MEMORY_NOT_APPLICABLE:
                        cell_m = memory.setdefault((kind, backend), MemCell(kind, backend))
                        cell_m.errors.append(f"repeat {repeat + 1}: {result['error']}")
                progress.note(f"memory {backend}", f"INVALID: {result['error']}")
                continue
            for kind, entry in result.get("memory", {}).items():
                cell_m = memory.setdefault((kind, backend), MemCell(kind, backend))
                if entry.get("error"):
                    cell_m.errors.append(f"repeat {repeat + 1}: {entry['error']}")
                else:
                    cell_m.values.append(float(entry["bytes"]))
            progress.note(f"memory {backend}", "done")
    return cells, memory


# -- analysis -------------------------------------------------------------------------------


def paired_ratios(
    cells: dict[tuple[str, str], Cell], workload: str, backend: str, ref: str
) -> list[float]:
    """Per repeat, ``backend``'s ns/op over ``ref``'s, for repeats where both are valid."""
    mine, theirs = cells.get((workload, backend)), cells.get((workload, ref))
    if mine is None or theirs is None or not mine.valid or not theirs.valid:
        return []
    common = sorted(set(mine.samples) & set(theirs.samples))
    return [mine.samples[r].ns_per_op / theirs.samples[r].ns_per_op for r in common]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def verdict(ratio: float | None, target: float, valid: bool) -> str:
    """``pass``/``miss`` against a target, ``INVALID`` for a broken run, ``-`` if unknown."""
    if not valid:
        return "INVALID"
    if ratio is None:
        return "-"
    return "pass" if ratio <= target else "miss"


def analyse(
    workloads: list[_spec.Workload],
    backends: list[str],
    cells: dict[tuple[str, str], Cell],
    memory: dict[tuple[str, str], MemCell],
) -> dict[str, Any]:
    """Turn the measurements into result rows (also the JSON's ``results`` and ``memory``)."""
    rows: list[dict[str, Any]] = []
    for workload in workloads:
        for backend in backends:
            cell = cells.get((workload.name, backend))
            if cell is None:
                continue
            to_gevent = paired_ratios(cells, workload.name, backend, _spec.BASELINE)
            to_floor = paired_ratios(cells, workload.name, backend, _spec.FLOOR)
            row: dict[str, Any] = {
                "workload": workload.name,
                "backend": backend,
                "op": workload.op,
                "n": cell.n,
                "valid": cell.valid,
                "errors": cell.errors,
                "ns_per_op": cell.ns_per_op(),
                "median_ns_per_op": cell.median(),
                "ratio_to_gevent": to_gevent,
                "median_ratio_to_gevent": _median(to_gevent),
                "ratio_to_floor": to_floor,
                "median_ratio_to_floor": _median(to_floor),
            }
            if backend == _spec.SUBJECT:
                row["target"] = workload.target
                row["verdict"] = verdict(row["median_ratio_to_gevent"], workload.target, cell.valid)
            rows.append(row)
    mem_rows: list[dict[str, Any]] = []
    for kind in _spec.MEMORY_KINDS:
        gevent_cell = memory.get((kind, _spec.BASELINE))
        gevent_bytes = gevent_cell.median() if gevent_cell is not None else None
        for backend in backends:
            cell_m = memory.get((kind, backend))
            if cell_m is None:
                continue
            value = cell_m.median()
            ratio = value / gevent_bytes if value is not None and gevent_bytes else None
            mem_row: dict[str, Any] = {
                "kind": kind,
                "backend": backend,
                "valid": cell_m.valid,
                "errors": cell_m.errors,
                "bytes": cell_m.values,
                "median_bytes": value,
                "ratio_to_gevent": ratio,
            }
            if backend == _spec.SUBJECT:
                if kind == _spec.PARKED_WAITER:
                    mem_row["target"] = f"<= {_spec.PARKED_WAITER_TARGET:g} bytes"
                    mem_row["verdict"] = verdict(value, _spec.PARKED_WAITER_TARGET, cell_m.valid)
                else:
                    mem_row["target"] = "<= gevent"
                    mem_row["verdict"] = verdict(ratio, 1.0, cell_m.valid)
            mem_rows.append(mem_row)
    verdicts = [r for r in rows + mem_rows if "verdict" in r]
    return {
        "results": rows,
        "memory": mem_rows,
        "summary": {
            "met": [_row_name(r) for r in verdicts if r["verdict"] == "pass"],
            "missed": [_row_name(r) for r in verdicts if r["verdict"] == "miss"],
            "invalid": [
                f"{_row_name(r)}/{r['backend']}" for r in rows + mem_rows if not r["valid"]
            ],
        },
    }


def _row_name(row: dict[str, Any]) -> str:
    return str(row.get("workload") or f"memory:{row['kind']}")


# -- output ---------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """Where and when the numbers were measured."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for dist in LIBRARIES:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": load,
        "libraries": versions,
    }


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_table(report: dict[str, Any]) -> str:
    """The human-readable table: timed workloads, then memory, then the verdicts."""
    info = report["machine"]
    mode = report["settings"]
    lines = [
        f"greensync benchmarks: {mode['mode']} run, {mode['repeats']} repeat(s) of about "
        f"{mode['seconds']:g} s per measurement",
        f"python {info['python']} on {info['platform']}, {info['cpu_count']} CPU(s), "
        f"{info['date']}",
        "ns/op: median over repeats; x gevent, x floor: median of per-repeat paired ratios",
        "",
    ]
    header = (
        f"{'workload':<28} {'backend':<10} {'ns/op':>11} {'x gevent':>9} {'x floor':>8} "
        f"{'target':>7}  result"
    )
    lines += [header, "-" * len(header)]
    previous = None
    for row in report["results"]:
        name = row["workload"] if row["workload"] != previous else ""
        previous = row["workload"]
        median = row["median_ns_per_op"]
        ns = _fmt_ns(median) if median is not None else "INVALID"
        target = f"<= {row['target']:g}" if "target" in row else ""
        lines.append(
            f"{name:<28} {row['backend']:<10} {ns:>11} "
            f"{_cell(row['median_ratio_to_gevent'], '.2f'):>9} "
            f"{_cell(row['median_ratio_to_floor'], '.2f'):>8} {target:>7}  "
            f"{row.get('verdict', '')}"
        )
    lines += [
        "",
        f"{'memory':<28} {'backend':<10} {'bytes':>11} {'x gevent':>9} {'target':>17}  result",
    ]
    lines.append("-" * len(lines[-1]))
    previous = None
    for row in report["memory"]:
        name = row["kind"] if row["kind"] != previous else ""
        previous = row["kind"]
        value = row["median_bytes"]
        shown = f"{value:,.0f}" if value is not None else "INVALID"
        lines.append(
            f"{name:<28} {row['backend']:<10} {shown:>11} "
            f"{_cell(row['ratio_to_gevent'], '.2f'):>9} {row.get('target', ''):>17}  "
            f"{row.get('verdict', '')}"
        )
    summary = report["summary"]
    lines += [
        "",
        f"greensync targets met: {len(summary['met'])}, missed: {len(summary['missed'])}"
        + (f" ({', '.join(summary['missed'])})" if summary["missed"] else ""),
    ]
    if summary["invalid"]:
        lines.append(f"INVALID measurements: {', '.join(summary['invalid'])}")
        for row in report["results"] + report["memory"]:
            for error in row["errors"]:
                lines.append(f"  {_row_name(row)}/{row['backend']}: {error}")
    return "\n".join(lines)


def write_plot(report: dict[str, Any], path: Path) -> None:
    """Bars of the median ratio to gevent per workload, one bar per library (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    backends = report["settings"]["backends"]
    colors = {
        "greensync": "#2a9d8f",
        "gevent": "#8d99ae",
        "eventlet": "#e9c46a",
        "asyncio": "#f4a261",
        "threading": "#e76f51",
        "floor": "#264653",
    }
    workloads = list(dict.fromkeys(r["workload"] for r in report["results"]))
    kinds = list(dict.fromkeys(r["kind"] for r in report["memory"]))
    timed = {(r["workload"], r["backend"]): r for r in report["results"]}
    mem = {(r["kind"], r["backend"]): r for r in report["memory"]}
    fig, axes = plt.subplots(
        2, 1, figsize=(15, 10), gridspec_kw={"height_ratios": [3, 2]}, squeeze=True
    )
    width = 0.8 / max(1, len(backends))
    panels: list[tuple[Any, list[str], dict[tuple[str, str], dict[str, Any]], str]] = [
        (axes[0], workloads, timed, "median_ratio_to_gevent"),
        (axes[1], kinds, mem, "ratio_to_gevent"),
    ]
    for ax, groups, table, key in panels:
        for b_index, backend in enumerate(backends):
            xs: list[float] = []
            ys: list[float] = []
            for g_index, group in enumerate(groups):
                row = table.get((group, backend))
                value = row.get(key) if row is not None else None
                if value:
                    xs.append(g_index - 0.4 + width * (b_index + 0.5))
                    ys.append(float(value))
            ax.bar(xs, ys, width, label=backend, color=colors.get(backend))
            if backend == _spec.SUBJECT and ax is axes[0]:
                for g_index, group in enumerate(groups):
                    row = table.get((group, backend))
                    if row is not None and "target" in row:
                        x = g_index - 0.4 + width * (b_index + 0.5)
                        ax.hlines(row["target"], x - width / 2, x + width / 2, colors="black", lw=2)
        ax.axhline(1.0, color="grey", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels(groups, rotation=30, ha="right", fontsize=8)
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[0].set_ylabel("time per op / gevent's (log; lower is faster)")
    axes[0].plot([], [], color="black", lw=2, label="greensync target")
    # Head room above the tallest bar for the legend.
    ratios = [r["median_ratio_to_gevent"] for r in report["results"]]
    axes[0].set_ylim(top=max([r for r in ratios if r] or [1.0]) * 3)
    axes[0].legend(ncol=len(backends) + 1, fontsize=8, loc="upper center")
    axes[1].set_ylabel("bytes / gevent's (log)")
    info = report["machine"]
    fig.suptitle(
        f"greensync vs gevent {info['libraries'].get('gevent') or ''}, eventlet, asyncio, "
        f"threading and the greenlet floor ({report['settings']['mode']} run)\n"
        f"Python {info['python']}, {info['platform']}, {info['cpu_count']} CPU(s), "
        f"{info['date'][:10]}",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- command line ---------------------------------------------------------------------------


def _select(names: str | None, known: list[str], what: str) -> list[str]:
    if not names:
        return known
    chosen = []
    for name in names.split(","):
        matches = [k for k in known if k == name or k.startswith(name)]
        if not matches:
            raise SystemExit(f"unknown {what} {name!r}; expected one of {', '.join(known)}")
        chosen += [m for m in matches if m not in chosen]
    return [k for k in known if k in chosen]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="greensync vs gevent, eventlet, asyncio, threading and the greenlet floor",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: seconds, not minutes")
    parser.add_argument("--repeats", type=int, help="measurements per pair (full: 5, quick: 1)")
    parser.add_argument("--seconds", type=float, help="target duration of one measurement")
    parser.add_argument("--workloads", help="comma-separated names or prefixes (default: all)")
    parser.add_argument("--backends", help="comma-separated backends (default: all)")
    parser.add_argument("--json", type=Path, help="write every result and the machine info here")
    parser.add_argument("--plot", type=Path, help="write a PNG of the ratios to gevent here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = parser.parse_args(argv)

    if args.list:
        for w in _spec.WORKLOADS:
            print(f"{w.name:<28} target <= {w.target:<4g} one op = {w.op}")
        return 0
    base = QUICK if args.quick else FULL
    repeats = args.repeats if args.repeats is not None else base.repeats
    if repeats < 1:
        parser.error("--repeats must be at least 1")
    seconds = args.seconds if args.seconds is not None else base.seconds
    if not seconds > 0:
        parser.error("--seconds must be positive")
    mode = Mode(
        base.name,
        seconds,
        repeats,
        base.instances,
        base.parked,
        base.memory_repeats,
        base.child_timeout,
    )
    workload_names = _select(args.workloads, [w.name for w in _spec.WORKLOADS], "workload")
    workloads = [_spec.WORKLOAD_BY_NAME[name] for name in workload_names]
    backends = _select(args.backends, list(_spec.BACKENDS), "backend")

    info = machine_info()
    started = time.monotonic()
    cells, memory = measure(workloads, backends, mode, quiet=args.quiet)
    report: dict[str, Any] = {
        "suite": "greensync benchmarks",
        "machine": info,
        "settings": {
            "mode": mode.name,
            "repeats": mode.repeats,
            "seconds": mode.seconds,
            "memory_instances": mode.instances,
            "memory_parked": mode.parked,
            "memory_repeats": mode.memory_repeats,
            "backends": backends,
            "duration_s": 0.0,
        },
        "workloads": [{"name": w.name, "op": w.op, "target": w.target} for w in workloads],
        "not_applicable": [
            {"backend": b, "workload": w, "why": why}
            for (b, w), why in _spec.NOT_APPLICABLE.items()
        ],
    }
    report.update(analyse(workloads, backends, cells, memory))
    report["settings"]["duration_s"] = round(time.monotonic() - started, 1)

    print(format_table(report))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}")
    if args.plot is not None:
        write_plot(report, args.plot)
        print(f"plot written to {args.plot}")
    return 1 if report["summary"]["invalid"] else 0
