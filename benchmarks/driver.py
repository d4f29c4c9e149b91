"""The driver: plan the measurements, run each in a fresh subprocess, and report.

Every (workload, backend) measurement runs in its own ``python -m benchmarks.child`` process;
greensync's rows on another framework's hub (``greensync@gevent``...) choose it with
``greensync.hub.use()`` first thing in that process.
In a full run each pair is first calibrated (one process finds the op count that takes about
``--seconds``), then measured ``--repeats`` times; the repeats are the outer loop and, within a
repeat, the backends of one workload run back to back in an order that rotates from repeat to
repeat, so a burst of noise on a shared machine hits every backend alike.  Ratios are *paired*:
``backend / gevent`` (and ``backend / floor``, and for greensync's rows ``backend / host``, the
library whose own primitives that row stands in for) is taken within each repeat, and the table
shows the median of those ratios next to the median ns/op.

A quick run (``--quick``) calibrates and measures in the same process, once per pair, with a
short target: it proves every backend runs every workload correctly, in well under a minute, and
its numbers are only indicative.

The exit status is 1 if any measurement was invalid (a failed check, an exception -- such as a
method the backend lacks --, a crash, a hang), 0 otherwise.  Missing a performance target never
fails the run.
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
import textwrap
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
    "janus",
    "culsans",
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
# One memory probe per backend: tracemalloc's byte counts in a fresh process come out the same
# every time (three repeats agreed to the byte, 2026-12-05), and a probe of 100,000 parked
# greenlets takes ~10 s.
FULL = Mode("full", 0.3, 5, 10_000, 100_000, 1, 300.0)


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
    # Each backend names its own hub; an inherited choice would move the built-in hub's row.
    env.pop("GREENSYNC_HUB", None)
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

    def skip(self) -> None:
        """One planned child fewer: its pair's calibration failed."""
        self.total -= 1

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
    memory_backends = [b for b in backends if _spec.memory_kinds(b)]
    calibrations = 0 if mode.name == "quick" else len(pairs)
    total = calibrations + len(pairs) * mode.repeats + len(memory_backends) * mode.memory_repeats
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
                    progress.skip()
                    continue
                else:
                    warmup = max(workload.unit, cell.n // 10)
                    args = ["run", workload.name, backend, "--n", str(cell.n)]
                    args += ["--warmup", str(warmup)]
                result = run_child(args, mode.child_timeout)
                sample = _sample(result)
                if sample.error is not None:
                    cell.errors.append(f"repeat {repeat + 1}: {sample.error}")
                    progress.note(what, f"INVALID: {sample.error}")
                    continue
                cell.n = sample.n
                cell.samples[repeat] = sample
                progress.note(what, f"{_fmt_ns(sample.ns_per_op)} ns/op")

    memory: dict[tuple[str, str], MemCell] = {}
    for repeat in range(mode.memory_repeats):
        for backend in memory_backends:
            kinds = _spec.memory_kinds(backend)
            args = ["memory", backend, "--instances", str(mode.instances)]
            args += ["--parked", str(mode.parked)]
            result = run_child(args, mode.child_timeout)
            if result.get("error"):
                for kind in kinds:
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


def verdict(ratio: float | None, target: float | None, valid: bool, strict: bool = False) -> str:
    """``pass``/``miss`` against a target, ``INVALID`` for a broken run, ``-`` if there is
    nothing to judge."""
    if not valid:
        return "INVALID"
    if ratio is None or target is None:
        return "-"
    return "pass" if (ratio < target if strict else ratio <= target) else "miss"


def _comparison(
    cells: dict[tuple[str, str], Cell], workload: str, cell: Cell, comp: _spec.Comparison
) -> dict[str, Any]:
    ratios = paired_ratios(cells, workload, cell.backend, comp.versus)
    median = _median(ratios)
    return {
        "versus": comp.versus,
        "ratios": ratios,
        "median_ratio": median,
        "target": comp.target,
        "strict": comp.strict,
        "verdict": verdict(median, comp.target, cell.valid, comp.strict),
    }


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
            compared = [
                _comparison(cells, workload.name, cell, comp)
                for comp in _spec.comparisons(workload, backend)
            ]
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
                "comparisons": compared,
            }
            if compared:
                # The first comparison is the row's host (janus for the cross-thread workload).
                row["host"] = compared[0]["versus"]
                row["median_ratio_to_host"] = compared[0]["median_ratio"]
                row["target"] = compared[0]["target"]
                row["verdict"] = compared[0]["verdict"]
            rows.append(row)
    mem_rows: list[dict[str, Any]] = []
    for kind in _spec.MEMORY_KINDS:
        gevent_cell = memory.get((kind, _spec.BASELINE))
        gevent_bytes = gevent_cell.median() if gevent_cell is not None else None
        for backend in backends:
            cell_m = memory.get((kind, backend))
            if cell_m is None:
                continue
            spec = _spec.BACKEND_BY_NAME[backend]
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
            if spec.subject:
                host_cell = memory.get((kind, spec.host)) if spec.host else None
                host_bytes = host_cell.median() if host_cell is not None else None
                mem_row["host"] = spec.host
                mem_row["ratio_to_host"] = (
                    value / host_bytes if value is not None and host_bytes else None
                )
                if kind == _spec.PARKED_WAITER:
                    mem_row["target"] = f"<= {_spec.PARKED_WAITER_TARGET:g} bytes"
                    mem_row["verdict"] = verdict(value, _spec.PARKED_WAITER_TARGET, cell_m.valid)
                else:
                    mem_row["target"] = "<= gevent"
                    mem_row["verdict"] = verdict(ratio, 1.0, cell_m.valid)
            mem_rows.append(mem_row)
    judged = [
        (_row_name(row, comp, len(row["comparisons"]) > 1), comp["verdict"])
        for row in rows
        for comp in row["comparisons"]
    ]
    judged += [(_row_name(row), row["verdict"]) for row in mem_rows if "verdict" in row]
    return {
        "results": rows,
        "memory": mem_rows,
        "summary": {
            "met": [name for name, result in judged if result == "pass"],
            "missed": [name for name, result in judged if result == "miss"],
            "invalid": [_row_name(r) for r in rows + mem_rows if not r["valid"]],
        },
    }


def _row_name(row: dict[str, Any], comp: dict[str, Any] | None = None, versus: bool = False) -> str:
    name = str(row.get("workload") or f"memory:{row['kind']}")
    name = f"{name}/{row['backend']}"
    return f"{name} vs {comp['versus']}" if comp is not None and versus else name


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


def _target(target: float | None, strict: bool = False) -> str:
    if target is None:
        return ""
    return f"{'<' if strict else '<='} {target:g}"


def _summary_lines(report: dict[str, Any]) -> list[str]:
    """One entry per greensync row kind: what it is compared with, targets met and missed."""
    lines = ["greensync's targets (median of paired ratios):"]
    backends = [b for b in report["settings"]["backends"] if _is_subject(b)]
    for backend in backends:
        judged: dict[str, list[str]] = {"pass": [], "miss": [], "INVALID": []}
        versus: list[str] = []
        for row in report["results"]:
            if row["backend"] != backend:
                continue
            for comp in row["comparisons"]:
                if comp["versus"] not in versus:
                    versus.append(comp["versus"])
                if comp["target"] is not None and comp["verdict"] in judged:
                    name = row["workload"]
                    if len(row["comparisons"]) > 1:
                        name += f" vs {comp['versus']}"
                    judged[comp["verdict"]].append(name)
        for row in report["memory"]:
            if row["backend"] == backend and row.get("verdict") in judged:
                judged[row["verdict"]].append(f"memory:{row['kind']}")
        if not versus:
            continue
        spec = _spec.BACKEND_BY_NAME[backend]
        held = "each workload's target" if spec.workload_targets else _target(spec.target)
        counts = ", ".join(
            f"{label} {len(judged[key])}"
            for key, label in (("pass", "met"), ("miss", "missed"), ("INVALID", "invalid"))
            if judged[key] or key in ("pass", "miss")
        )
        lines.append(
            f"  {backend:<18} x {'/'.join(versus)}, {held or 'no timing target'}: {counts}"
        )
        if judged["miss"]:
            lines += textwrap.wrap(
                "missed: " + ", ".join(judged["miss"]),
                width=100,
                initial_indent=" " * 21,
                subsequent_indent=" " * 29,
            )
    return lines


def format_table(report: dict[str, Any]) -> str:
    """The human-readable table: timed workloads, then memory, then the verdicts."""
    info = report["machine"]
    mode = report["settings"]
    lines = [
        f"greensync benchmarks: {mode['mode']} run, {mode['repeats']} repeat(s) of about "
        f"{mode['seconds']:g} s per measurement",
        f"python {info['python']} on {info['platform']}, {info['cpu_count']} CPU(s), "
        f"{info['date']}, load average {info['load_average_at_start']}",
        "ns/op: median over repeats; x gevent, x floor, x host: median of per-repeat paired "
        "ratios; host: the library a greensync row stands in for",
        "",
    ]
    header = (
        f"{'workload':<27} {'backend':<18} {'ns/op':>11} {'x gevent':>8} {'x floor':>7} "
        f"{'host':>8} {'x host':>6} {'target':>7}  result"
    )
    lines += [header, "-" * len(header)]
    previous = None
    for row in report["results"]:
        name = row["workload"] if row["workload"] != previous else ""
        previous = row["workload"]
        median = row["median_ns_per_op"]
        ns = _fmt_ns(median) if median is not None else "INVALID"
        start = (
            f"{name:<27} {row['backend']:<18} {ns:>11} "
            f"{_cell(row['median_ratio_to_gevent'], '.2f'):>8} "
            f"{_cell(row['median_ratio_to_floor'], '.2f'):>7}"
        )
        comps = row["comparisons"] or [None]
        for comp in comps:
            if comp is None:
                lines.append(start)
                continue
            lines.append(
                f"{start} {comp['versus']:>8} {_cell(comp['median_ratio'], '.2f'):>6} "
                f"{_target(comp['target'], comp['strict']):>7}  {comp['verdict']}"
            )
            start = " " * len(start)
    lines += [
        "",
        f"{'memory':<27} {'backend':<18} {'bytes':>11} {'x gevent':>8} {'host':>8} "
        f"{'x host':>6} {'target':>13}  result",
    ]
    lines.append("-" * len(lines[-1]))
    previous = None
    for row in report["memory"]:
        name = row["kind"] if row["kind"] != previous else ""
        previous = row["kind"]
        value = row["median_bytes"]
        shown = f"{value:,.0f}" if value is not None else "INVALID"
        lines.append(
            f"{name:<27} {row['backend']:<18} {shown:>11} "
            f"{_cell(row['ratio_to_gevent'], '.2f'):>8} {row.get('host') or '':>8} "
            f"{_cell(row['ratio_to_host'], '.2f') if row.get('host') else '':>6} "
            f"{row.get('target', ''):>13}  "
            f"{row.get('verdict', '')}".rstrip()
        )
    lines += ["", *_summary_lines(report)]
    summary = report["summary"]
    if summary["invalid"]:
        lines.append(f"INVALID measurements: {', '.join(summary['invalid'])}")
        for row in report["results"] + report["memory"]:
            for error in row["errors"]:
                lines.append(f"  {_row_name(row)}: {error}")
    return "\n".join(line.rstrip() for line in lines)


#: Bar colours: one per library, and one per greensync row kind of the host panel.
COLORS = {
    "greensync": "#2a9d8f",
    "greensync@gevent": "#3d5a80",
    "greensync@eventlet": "#b08900",
    "greensync@asyncio": "#c1121f",
    "greensync-async": "#7209b7",
    "gevent": "#8d99ae",
    "eventlet": "#e9c46a",
    "asyncio": "#f4a261",
    "threading": "#e76f51",
    "janus": "#6d6875",
    "culsans": "#b5838d",
    "floor": "#264653",
}


@dataclass
class _Bar:
    """One bar of a grouped panel: its series, height, target mark."""

    series: str
    value: float
    target: float | None = None


def _grouped(
    ax: Any,
    groups: list[str],
    bars: dict[str, list[_Bar]],
    colors: dict[str, str],
    target_label: str = "target",
) -> list[tuple[Any, str]]:
    """Draw each group's bars side by side, packed (a group shows only the bars it has).

    A target is a black tick across its bar.  Returns the legend entries: one per series, in
    order of appearance, then the target if drawn.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    legend: dict[str, Any] = {}
    targets = False
    for g_index, group in enumerate(groups):
        members = bars.get(group, [])
        width = 0.8 / max(1, len(members))
        for b_index, bar in enumerate(members):
            x = g_index - 0.4 + width * (b_index + 0.5)
            color = colors.get(bar.series) or colors.get(bar.series.split(" ")[0], "#999999")
            legend.setdefault(bar.series, Patch(facecolor=color))
            ax.bar(x, bar.value, width, color=color)
            if bar.target is not None:
                targets = True
                ax.hlines(bar.target, x - width / 2, x + width / 2, colors="black", lw=2)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=30, ha="right", fontsize=8)
    ax.grid(axis="y", which="both", alpha=0.3)
    entries = [(handle, label) for label, handle in legend.items()]
    if targets:
        entries.append((Line2D([], [], color="black", lw=2), target_label))
    return entries


def _legend(ax: Any, entries: list[tuple[Any, str]], ncol: int) -> None:
    handles = [handle for handle, _ in entries]
    labels = [label for _, label in entries]
    ax.legend(handles, labels, ncol=ncol, fontsize=8, loc="upper center")


def _head_room(ax: Any, bars: dict[str, list[_Bar]]) -> None:
    values = [bar.value for group in bars.values() for bar in group if bar.value]
    ax.set_ylim(top=max(values or [1.0]) * 4)


def write_plot(report: dict[str, Any], path: Path) -> None:
    """Three panels, log scale: every library's time per op over gevent's; greensync on each
    hub over that host's own primitives; memory over gevent's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        3, 1, figsize=(15, 15), gridspec_kw={"height_ratios": [3, 3, 2]}, squeeze=True
    )
    # 1. Libraries side by side, over gevent: greensync on its own hub and the others.
    libraries = [
        b for b in report["settings"]["backends"] if b == _spec.SUBJECT or not _is_subject(b)
    ]
    libraries = [b for b in libraries if _spec.BACKEND_BY_NAME[b].only is None]
    top: dict[str, list[_Bar]] = {}
    for row in report["results"]:
        if row["backend"] in libraries and row["median_ratio_to_gevent"]:
            target = row.get("target") if row["backend"] == _spec.SUBJECT else None
            bar = _Bar(row["backend"], row["median_ratio_to_gevent"], target)
            top.setdefault(row["workload"], []).append(bar)
    groups = [w["name"] for w in report["workloads"] if w["name"] in top]
    entries = _grouped(axes[0], groups, top, COLORS, "greensync target")
    _legend(axes[0], entries, len(entries))
    _head_room(axes[0], top)
    axes[0].set_ylabel("time per op / gevent's\n(log; lower is faster)")
    axes[0].set_title("greensync on its own hub, and every library, against gevent", fontsize=10)

    # 2. greensync on each hub (and its asyncio face) against that host's own primitives.
    hosted: dict[str, list[_Bar]] = {}
    for row in report["results"]:
        for comp in row["comparisons"]:
            if row["backend"] == _spec.SUBJECT and comp["versus"] == _spec.BASELINE:
                continue  # the built-in hub against gevent is the first panel
            series = f"{row['backend']} ÷ {comp['versus']}"
            value = comp["median_ratio"]
            if value is None:
                continue
            hosted.setdefault(row["workload"], []).append(_Bar(series, value, comp["target"]))
    groups = [w["name"] for w in report["workloads"] if w["name"] in hosted]
    # The built-in hub's bars here are against the incumbents: coloured as the incumbent.
    colors = {f"{_spec.SUBJECT} ÷ {other}": COLORS[other] for other in ("janus", "culsans")}
    entries = _grouped(axes[1], groups, hosted, {**COLORS, **colors})
    _legend(axes[1], entries, 4)
    _head_room(axes[1], hosted)
    axes[1].set_ylabel("time per op / the host's own\n(log; lower is faster)")
    axes[1].set_title(
        "greensync on gevent's, eventlet's and asyncio's loops against each host's own "
        "primitives; cross_thread_pingpong against janus and culsans",
        fontsize=10,
    )

    # 3. Memory over gevent's: every library, and a parked waiter under each adapter.
    mem: dict[str, list[_Bar]] = {}
    for row in report["memory"]:
        if row["ratio_to_gevent"]:
            mem.setdefault(row["kind"], []).append(_Bar(row["backend"], row["ratio_to_gevent"]))
    groups = [kind for kind in _spec.MEMORY_KINDS if kind in mem]
    entries = _grouped(axes[2], groups, mem, COLORS)
    _legend(axes[2], entries, 6)
    _head_room(axes[2], mem)
    axes[2].set_ylabel("bytes / gevent's (log)")
    axes[2].set_title(
        "memory per instance, and per parked waiter (under each adapter too)", fontsize=10
    )

    info = report["machine"]
    fig.suptitle(
        f"greensync vs gevent {info['libraries'].get('gevent') or ''}, eventlet, asyncio, "
        f"threading, janus, culsans and the greenlet floor ({report['settings']['mode']} run)\n"
        f"Python {info['python']}, {info['platform']}, {info['cpu_count']} CPU(s), "
        f"{info['date'][:10]}",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _is_subject(backend: str) -> bool:
    return _spec.BACKEND_BY_NAME[backend].subject


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


def _hub_filter(hubs: str | None, backends: list[str]) -> list[str]:
    """Keep, of greensync's rows, those on the hubs named in ``hubs`` (all if None)."""
    if not hubs:
        return backends
    chosen = _select(hubs, list(_spec.HUBS), "hub")
    keep = {name for hub in chosen for name in _spec.HUBS[hub]}
    return [b for b in backends if not _is_subject(b) or b in keep]


def _listing() -> str:
    lines = ["workloads (greensync's target on its own hub, x gevent; one op):"]
    for w in _spec.WORKLOADS:
        target = _target(w.target, bool(w.versus))
        versus = f" vs {' and '.join(w.versus)}" if w.versus else ""
        lines.append(f"  {w.name:<27} {target + versus:<26} {w.op}")
    lines += ["", "backends (--backends; greensync's hubs with --hubs):"]
    for b in _spec.BACKEND_LIST:
        held = ""
        if b.host is not None:
            target = "each workload's target" if b.workload_targets else _target(b.target)
            held = f" [x {b.host}{': ' + target if target else ', no target'}]"
        lines.append(f"  {b.name:<18} {b.about}{held}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="greensync on every hub vs gevent, eventlet, asyncio, threading, janus, "
        "culsans and the greenlet floor",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: seconds, not minutes")
    parser.add_argument("--repeats", type=int, help="measurements per pair (full: 5, quick: 1)")
    parser.add_argument("--seconds", type=float, help="target duration of one measurement")
    parser.add_argument("--workloads", help="comma-separated names or prefixes (default: all)")
    parser.add_argument(
        "--backends",
        help="comma-separated backends or prefixes (default: all; 'greensync' is every hub)",
    )
    parser.add_argument(
        "--hubs",
        help=f"greensync's hubs to run, of {','.join(_spec.HUBS)} (default: all); "
        "other libraries' rows are kept",
    )
    parser.add_argument("--json", type=Path, help="write every result and the machine info here")
    parser.add_argument("--plot", type=Path, help="write a PNG of the ratios here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--list", action="store_true", help="list workloads and backends, exit")
    args = parser.parse_args(argv)

    if args.list:
        print(_listing())
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
    backends = _hub_filter(args.hubs, _select(args.backends, list(_spec.BACKENDS), "backend"))
    if not backends:
        parser.error("no backend left to run: see --list")

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
        "workloads": [
            {"name": w.name, "op": w.op, "target": w.target, "versus": list(w.versus)}
            for w in workloads
        ],
        "backends": [
            {
                "name": b.name,
                "about": b.about,
                "hub": b.hub,
                "host": b.host,
                "target": "per workload" if b.workload_targets else b.target,
            }
            for b in _spec.BACKEND_LIST
            if b.name in backends
        ],
        "not_applicable": [
            {"backend": b, "workload": w.name, "why": _spec.why_not(b, w.name)}
            for w in workloads
            for b in backends
            if not _spec.applies(b, w.name)
        ],
    }
    report.update(analyse(workloads, backends, cells, memory))
    report["settings"]["duration_s"] = round(time.monotonic() - started, 1)

    print(format_table(report))
    print(f"\nrun time: {report['settings']['duration_s']:g} s")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {args.json}")
    if args.plot is not None:
        write_plot(report, args.plot)
        print(f"plot written to {args.plot}")
    return 1 if report["summary"]["invalid"] else 0
