"""What a parked greenlet waits on, read from its frames: for reprs, ``LoopExit`` and warnings.

Why it looks like this
----------------------
A user debugging a hang wants to read "task ``worker_a`` waits on ``<Lock locked>``", not
"``<Waiter waiters=1>``".  Recording what every greenlet waits on as it parks would cost every
wait a store (and a clean-up) for the rare moment somebody asks.  Nothing is recorded: the
functions that park register with :func:`~greensync.hub._loop.parks`, and when the question
is asked -- a ``repr()``, a deadlock -- the greenlet's suspended frames are read.  A parking
frame holds either the waiter's record (whose wait line names its owner: the primitive) or the
``waiting_on`` argument of ``Hub.switch``.

The parked greenlets of a hub are found the same way, at deadlock time only: every live
greenlet whose parent chain reaches the hub's loop greenlet (tasks are its children) and that
is suspended.  ``gc.get_objects()`` is a walk over the heap, paid once, when the program is
about to fail anyway.

Rejected: a registry of live tasks (a store and a removal per task, and a strong or weak
reference per task); a "waiting on" attribute set by every park (a store on every wait and a
second one on wake-up).
"""

from __future__ import annotations

import gc
import threading
from types import FrameType
from typing import TYPE_CHECKING

from greenlet import greenlet

from ._loop import _PARK_CODES
from ._records import LINE

if TYPE_CHECKING:
    from ._loop import HubBase

__all__ = ["describe_deadlock", "parked_greenlets", "parked_on", "parked_on_frame"]

#: How many frames up from the innermost one a parking function may be.
_DEPTH = 12
#: How many other parked greenlets a message lists (the exception holds them all).
_LISTED = 20


def parked_on_frame(frame: FrameType | None) -> object:
    """What the code suspended in ``frame`` (innermost first) is parked on, or None."""
    for _ in range(_DEPTH):
        if frame is None:
            return None
        code = frame.f_code
        if code in _PARK_CODES:
            local = frame.f_locals
            record = local.get("record")
            if isinstance(record, list) and len(record) > LINE:
                line = record[LINE]
                owner = getattr(line, "owner", None)
                return owner if owner is not None else line
            waiting_on = local.get("waiting_on")
            if waiting_on is not None:
                return waiting_on
            if code.co_name == "sleep":
                return "sleep"
        frame = frame.f_back
    return None


def parked_on(glet: greenlet) -> object:
    """What the suspended greenlet ``glet`` is parked on, or None if it is not parked.

    A wait line's owner (the primitive), what a bare ``Hub.switch`` was told, or ``"sleep"``.
    """
    if glet.dead:
        return None
    return parked_on_frame(glet.gr_frame)


def parked_greenlets(hub: HubBase) -> list[tuple[greenlet, object]]:
    """Every suspended greenlet of ``hub`` but its main one, with what each is parked on.

    Found from the heap (see the module documentation); call it only when it is worth a walk
    over every object: a deadlock, a warning.  The order is the order of the heap.
    """
    loop = hub._loop_greenlet
    main = hub._main
    found: list[tuple[greenlet, object]] = []
    for obj in gc.get_objects():
        if not isinstance(obj, greenlet) or obj is loop or obj is main:
            continue
        if obj.dead or obj.gr_frame is None:
            continue  # finished, or not started yet
        parent = obj.parent
        while parent is not None and parent is not loop:
            parent = parent.parent
        if parent is None:
            continue  # another hub's, or another thread's
        found.append((obj, parked_on(obj)))
    return found


def _line(glet: greenlet, on: object) -> str:
    text = repr(glet)
    if "parked on" in text:
        return text  # a Task's repr says it already
    return f"{text} waits on {'something outside greensync' if on is None else repr(on)}"


def describe_deadlock(
    hub: HubBase, main_frame: FrameType | None, threads: bool = False
) -> tuple[str, object, list[tuple[greenlet, object]]]:
    """Say what the main greenlet of ``hub`` (suspended in ``main_frame``) and every other
    parked greenlet of that hub wait on.

    Returns the message, what the main greenlet waits on, and the other parked greenlets with
    what each waits on.  ``threads`` says that other OS threads are alive (the deadlock
    warning) rather than that nothing could ever wake the main greenlet (``LoopExit``).
    """
    what = parked_on_frame(main_frame)
    target = "a bare Hub.switch()" if what is None else repr(what)
    others = parked_greenlets(hub)
    if threads:
        alive = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
        head = (
            f"the main greenlet waits on {target} and nothing is left in its hub that could "
            f"wake it: only another thread could ({len(alive)} alive: {', '.join(alive)}); "
            "if none will, this is a deadlock"
        )
    else:
        head = (
            f"this operation would block forever: the main greenlet waits on {target} and "
            "nothing is left that could wake it (no callbacks, timers, file descriptors or "
            "other threads)"
        )
    if not others:
        return head, what, others
    lines = [_line(glet, on) for glet, on in others[:_LISTED]]
    if len(others) > _LISTED:
        lines.append(f"... and {len(others) - _LISTED} more")
    parked = "; ".join(lines)
    return f"{head}; other parked greenlets of this hub: {parked}", what, others
