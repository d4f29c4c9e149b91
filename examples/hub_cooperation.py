"""Greenlets cooperating through the hub: a minute's read.

Three workers share the hub of this thread.  Each does a little work, then yields with
``sleep(0)`` so the others can run; a fourth greenlet waits on a ``Waiter`` that a timer fills
in later; the main greenlet waits for the first two finishers with ``iwait`` and then for all.
Run it with ``nox -s demo`` (or ``python examples/hub_cooperation.py`` with greensync-hub
installed) and read the printed trace top to bottom.
"""

from __future__ import annotations

from greensync.hub import Waiter, get_hub, iwait, joinall, sleep, spawn


def worker(name: str, steps: int) -> str:
    for step in range(1, steps + 1):
        print(f"  {name}: step {step}/{steps}, now yielding to the others")
        sleep(0)
    return f"{name} done after {steps} steps"


def waits_for_a_timer(waiter: Waiter[str]) -> str:
    print("  listener: parked until the timer hands it a value")
    value = waiter.get()
    print(f"  listener: woke with {value!r}")
    return value


def main() -> None:
    hub = get_hub()
    waiter: Waiter[str] = Waiter()
    hub.call_later(0.05, waiter.switch, "hello from a timer, 50 ms later")

    tasks = [
        spawn(worker, "alpha", 3),
        spawn(worker, "beta", 1),
        spawn(worker, "gamma", 2),
        spawn(waits_for_a_timer, waiter),
    ]
    print("main: spawned 4 greenlets; none has run yet")

    first_two = [task.get() for task in iwait(tasks, count=2)]
    print(f"main: the first two to finish said {first_two}")

    joinall(tasks)
    print("main: every task finished:")
    for task in tasks:
        print(f"  {task!r} -> {task.value!r}")


if __name__ == "__main__":
    main()
