"""The threads the sandbox's routes run their blocking work on (database calls), off the event
loop.

The hand-over is asyncio's own executor, not Starlette's ``run_in_threadpool``: anyio adds a
capacity limiter, a cancel scope and several look-ups of the running async library to every
call. On the sandbox's busiest route, a post, that was about 0.15 ms of CPU a request, a quarter
of what a bare FastAPI request costs (``docs/performance.md``).

One pool per process, made on first use and made anew in a forked child: threads do not survive
a fork, and ``payez serve`` forks its web processes. Its threads are not daemons, so a server
calls :func:`shut_down` once it has stopped; idle threads then end at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# As many as Starlette's pool had: each thread holds at most one pooled connection at a time.
THREADS = 40

_pool: ThreadPoolExecutor | None = None
_guard = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _guard:
        if _pool is None:
            _pool = ThreadPoolExecutor(THREADS, thread_name_prefix="sandbox")
        return _pool


async def off_loop(work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``work(*args, **kwargs)`` on one of the pool's threads, awaited; its context variables
    are the caller's, as with ``run_in_threadpool``."""
    call = functools.partial(contextvars.copy_context().run, work, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_executor(), call)


def shut_down() -> None:
    """End the pool's threads once the work they hold is done; a later call starts a new pool."""
    global _pool
    with _guard:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False)


def _forget_after_fork() -> None:
    # The parent's pool, and its lock, are the parent's: a child that used them would wait for
    # threads that are not there.
    global _pool, _guard
    _pool = None
    _guard = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
