"""greensync's benchmark suite: the same workloads on greensync, gevent, eventlet, asyncio,
threading and a floor of raw greenlet switches, each measurement in a fresh subprocess.

This directory is not a distribution.  Run it from the repository root::

    python -m benchmarks            # full run (a few minutes)
    python -m benchmarks --quick    # smoke run (well under a minute)

or through nox (``nox -s bench``).  See ``benchmarks/README.md``.
"""
