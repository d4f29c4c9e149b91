"""``python -m benchmarks``: run the suite (see :mod:`benchmarks.driver`)."""

from __future__ import annotations

from benchmarks.driver import main

raise SystemExit(main())
