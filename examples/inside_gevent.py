"""greensync primitives inside a gevent application.

``use("gevent")`` makes gevent's hub the scheduler of greensync in this program: gevent
greenlets block on a greensync ``Queue`` and ``Event`` exactly as greensync tasks would, and a
``gevent.Timeout`` around a greensync wait works as gevent users expect.
"""

from __future__ import annotations

from greensync.hub import use

use("gevent")  # before anything else touches greensync's hub

import gevent  # noqa: E402

from greensync.event import Event  # noqa: E402
from greensync.queue import Queue  # noqa: E402


def main() -> None:
    jobs: Queue[int | None] = Queue(maxsize=2)
    done = Event()

    def producer() -> None:
        for n in range(4):
            jobs.put(n)  # blocks this gevent greenlet while the queue is full
            print(f"  producer (gevent greenlet) put {n}")
        jobs.put(None)

    def consumer() -> None:
        while (n := jobs.get()) is not None:
            print(f"  consumer (gevent greenlet) got {n}")
            gevent.sleep(0.001)
        done.set()

    # gevent.Greenlet(fn) rather than gevent.spawn(fn): its type stubs know what it returns.
    greenlets = [gevent.Greenlet(producer), gevent.Greenlet(consumer)]
    for glet in greenlets:
        glet.start()
    gevent.joinall(greenlets)
    print(f"main: done is set: {done.is_set()}")

    never = Event()
    try:
        with gevent.Timeout(0.01):
            never.wait()
    except gevent.Timeout:
        print(f"main: gevent.Timeout cut a greensync wait short; waiters left: {never.linkcount()}")


if __name__ == "__main__":
    main()
