"""Per-thread state shared by the hub's modules: which hub this thread runs.

It lives apart so that the loop, the wait line and the code that picks a hub can all read it
without importing each other.
"""

from __future__ import annotations

import threading

#: ``_local.hub`` is this thread's hub once it exists (see ``_current.get_hub``).
_local = threading.local()
