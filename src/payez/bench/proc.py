"""What Linux's /proc says of a process: its parent and children, its CPU time and that of its
ended children, what it runs, whether it still runs.

The benchmark counts the CPU of ``payez serve`` and of the web processes it forks; the tests of
those processes watch them start and end. Off Linux (no /proc) a process has no children here,
no CPU time, and counts as ended.
"""

from __future__ import annotations

import os

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def children(pid: int) -> list[int]:
    """The processes ``pid`` forked that still exist (its main thread's children)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listed:
            return [int(child) for child in listed.read().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds ``pid`` has used so far (0 once it is gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND  # utime, stime


def parent(pid: int) -> int | None:
    """The pid of the process that forked ``pid`` (None once it is gone)."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[1])


def reaped_children_cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of the children ``pid`` has waited for once they ended: a
    child's time moves there as its parent reaps it (0 once ``pid`` is gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / _TICKS_PER_SECOND  # cutime, cstime


def command_line(pid: int) -> str:
    """What ``pid`` runs, as ``ps`` shows it ("" once it is gone). PostgreSQL's backends
    rewrite theirs: ``postgres: <user> <database> ...``."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as listed:
            return listed.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def is_running(pid: int) -> bool:
    """False once ``pid`` has exited, including as a zombie nobody reaped yet."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, from the state on."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The command name, in parentheses, may hold spaces: split after it.
            return stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
