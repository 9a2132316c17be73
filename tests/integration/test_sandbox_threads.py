"""The sandbox's own thread pool: work runs off the event loop, keeps the caller's context,
survives a fork and ends its threads when asked."""

from __future__ import annotations

import asyncio
import contextvars
import multiprocessing
import threading
import time

import pytest

from payez.sandbox.network import threads

_who = contextvars.ContextVar("who", default="nobody")


def _where(greeting: str, *, punctuation: str = "") -> tuple[str, str]:
    return threading.current_thread().name, f"{greeting} {_who.get()}{punctuation}"


def test_work_runs_on_a_pool_thread_with_the_callers_context() -> None:
    async def call() -> tuple[str, str]:
        _who.set("alice")
        return await threads.off_loop(_where, "hello", punctuation="!")

    thread, said = asyncio.run(call())
    assert thread.startswith("sandbox")
    assert thread != threading.current_thread().name
    assert said == "hello alice!"


def test_an_error_in_the_work_reaches_the_caller() -> None:
    def fail() -> None:
        raise LookupError("no such status")

    with pytest.raises(LookupError, match="no such status"):
        asyncio.run(threads.off_loop(fail))


def _sandbox_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("sandbox")]


def test_shutting_down_ends_the_idle_threads_and_a_later_call_starts_anew() -> None:
    asyncio.run(threads.off_loop(_where, "hi"))
    assert _sandbox_threads()
    threads.shut_down()
    deadline = time.monotonic() + 5
    while _sandbox_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _sandbox_threads() == []
    thread, _ = asyncio.run(threads.off_loop(_where, "again"))
    assert thread.startswith("sandbox")


def _in_child(results: multiprocessing.Queue[str]) -> None:
    thread, said = asyncio.run(threads.off_loop(_where, "child"))
    results.put(f"{thread}|{said}")


def test_a_forked_child_gets_a_pool_of_its_own() -> None:
    # The parent's pool has threads; the child has none of them and must not wait on them.
    asyncio.run(threads.off_loop(_where, "parent"))
    fork = multiprocessing.get_context("fork")
    results: multiprocessing.Queue[str] = fork.Queue()
    child = fork.Process(target=_in_child, args=(results,))
    child.start()
    try:
        answer = results.get(timeout=20)
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
            child.join()
    thread, said = answer.split("|")
    assert thread.startswith("sandbox")
    assert said == "child nobody"
    assert child.exitcode == 0
