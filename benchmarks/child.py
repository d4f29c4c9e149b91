"""One measurement, in a fresh process: ``python -m benchmarks.child COMMAND ...``.

The driver starts one of these per measurement so that no backend shares a process (or an
import, a hub, a heap, a garbage collector's history) with another.  Commands:

``run WORKLOAD BACKEND --n N [--warmup W]``
    one timed run of ``N`` ops, after an untimed warm-up run of ``W`` ops;
``calibrate WORKLOAD BACKEND --seconds S [--measure]``
    find the op count that takes about ``S`` seconds; with ``--measure``, then time one run of
    that size (the calibration runs serve as its warm-up);
``memory BACKEND --instances K --parked P``
    bytes per instance of each primitive (``K`` instances each) and per parked waiter (``P``
    greenlets parked on one Event, minus ``P`` parked bare on the hub).

A greensync backend that names a hub (``greensync@gevent``...) gets it from
``greensync.hub.use()`` before its module -- or anything of greensync -- is imported.

The result is one JSON object on the last line of stdout.  Exceptions and failed checks are
reported in it as ``error``; the process still exits 0, so that only a crash or a hang is a
crash.  A backend that lacks a method a workload calls fails like any other: ``error`` names
the exception.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import traceback
import tracemalloc
import warnings
from types import ModuleType
from typing import Any

from benchmarks import _spec
from benchmarks._spec import Outcome

#: Never calibrate past this many ops (a workload that is suspiciously fast stops here).
MAX_OPS = 50_000_000


def load(backend: str) -> ModuleType:
    """Choose ``backend``'s greensync hub, then import its module (and no other backend's)."""
    spec = _spec.BACKEND_BY_NAME.get(backend)
    if spec is None:
        raise SystemExit(f"unknown backend {backend!r}; expected one of {_spec.BACKENDS}")
    # eventlet announces its deprecation on import; the table is not the place for it.
    warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
    if spec.hub is not None:
        import greensync.hub

        greensync.hub.use(spec.hub)
    return importlib.import_module(f"benchmarks.bench_{spec.module}")


def _describe(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)
    last = f" at {where[-1].filename.rsplit('/', 1)[-1]}:{where[-1].lineno}" if where else ""
    return f"raised {type(exc).__name__}: {exc}{last}"


def timed(run: _spec.Run, n: int) -> Outcome:
    """Run ``run(n)``, turning an exception into a failed outcome."""
    try:
        return run(n)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        return Outcome(0, 0, _describe(exc))


def calibrate(run: _spec.Run, unit: int, seconds: float) -> tuple[int, Outcome]:
    """Grow the op count until a run takes a fifth of ``seconds``; scale it to ``seconds``.

    Returns the scaled op count (a multiple of ``unit``) and the last calibration outcome.
    """
    n = unit
    goal = seconds * 1e9
    while True:
        out = timed(run, n)
        if out.error is not None or out.ns >= goal / 5 or n >= MAX_OPS:
            break
        n *= 8 if out.ns < goal / 100 else 2
    if out.error is not None or out.ns <= 0:
        return n, out
    scaled = int(n * goal / out.ns)
    return max(unit, min(MAX_OPS, scaled // unit * unit)), out


def _result(n: int, out: Outcome) -> dict[str, Any]:
    return {"n": n, "ns": out.ns, "ops": out.ops, "error": out.error}


def command_run(workload: str, backend: str, n: int, warmup: int) -> dict[str, Any]:
    run = _workload(load(backend), workload)
    if warmup > 0:
        out = timed(run, warmup)
        if out.error is not None:
            return _result(warmup, Outcome(0, 0, f"warm-up: {out.error}"))
    return _result(n, timed(run, n))


def command_calibrate(workload: str, backend: str, seconds: float, measure: bool) -> dict[str, Any]:
    run = _workload(load(backend), workload)
    n, out = calibrate(run, _spec.WORKLOAD_BY_NAME[workload].unit, seconds)
    if out.error is not None or not measure:
        return _result(n, out)
    return _result(n, timed(run, n))


def command_memory(backend: str, instances: int, parked: int) -> dict[str, Any]:
    module = load(backend)
    kinds = _spec.memory_kinds(backend)
    factories: dict[str, Any] = getattr(module, "FACTORIES", {})
    results: dict[str, Any] = {}
    tracemalloc.start()
    for kind in _spec.INSTANCE_KINDS:
        factory = factories.get(kind)
        if factory is None or kind not in kinds:
            continue
        try:
            results[kind] = {"bytes": _spec.bytes_per_instance(factory, instances), "error": None}
        except Exception as exc:  # noqa: BLE001 - reported as an invalid measurement
            results[kind] = {"bytes": None, "error": _describe(exc)}
    probe: _spec.ParkProbe | None = getattr(module, "parked_waiters", None)
    if probe is not None and _spec.PARKED_WAITER in kinds:
        results[_spec.PARKED_WAITER] = _parked(probe, parked)
    tracemalloc.stop()
    return {"memory": results}


def _parked(probe: _spec.ParkProbe, parked: int) -> dict[str, Any]:
    """Bytes per parked waiter: ``parked`` parked on an Event, less as many parked bare."""
    try:
        bare, error = probe(parked, False)
        if error is not None:
            return {"bytes": None, "error": error}
        on_event, error = probe(parked, True)
    except Exception as exc:  # noqa: BLE001 - reported as an invalid measurement
        return {"bytes": None, "error": _describe(exc)}
    return {"bytes": None if error else (on_event - bare) / parked, "error": error}


def _workload(module: ModuleType, name: str) -> _spec.Run:
    workloads: dict[str, _spec.Run] = module.WORKLOADS
    try:
        return workloads[name]
    except KeyError:
        raise SystemExit(f"backend {module.__name__} has no workload {name!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.child")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run")
    p_run.add_argument("workload")
    p_run.add_argument("backend")
    p_run.add_argument("--n", type=int, required=True)
    p_run.add_argument("--warmup", type=int, default=0)
    p_cal = sub.add_parser("calibrate")
    p_cal.add_argument("workload")
    p_cal.add_argument("backend")
    p_cal.add_argument("--seconds", type=float, required=True)
    p_cal.add_argument("--measure", action="store_true")
    p_mem = sub.add_parser("memory")
    p_mem.add_argument("backend")
    p_mem.add_argument("--instances", type=int, default=10_000)
    p_mem.add_argument("--parked", type=int, default=100_000)
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            result = command_run(args.workload, args.backend, args.n, args.warmup)
        elif args.command == "calibrate":
            result = command_calibrate(args.workload, args.backend, args.seconds, args.measure)
        else:
            result = command_memory(args.backend, args.instances, args.parked)
    except Exception as exc:  # noqa: BLE001 - a backend that cannot even load is reported
        result = {"error": f"setting up {args.backend}: {_describe(exc)}"}
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
