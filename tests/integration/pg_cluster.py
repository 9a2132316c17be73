"""A PostgreSQL cluster of the test's own (``initdb`` in a temporary folder, its own port and
socket), for what cannot be done to the machine's shared server: WAL archiving, base backups,
restores, shutdowns. Run as the ``postgres`` system user, as PostgreSQL requires."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def pg_bin(tool: str) -> str:
    if not _BIN:
        raise AssertionError("PostgreSQL's server programs are missing from /usr/lib/postgresql")
    return str(_BIN[-1] / tool)


def as_postgres(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def owned_by_postgres(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


# Ports a first start may try: the one chosen, then two more if it was taken meanwhile.
_PORTS_TRIED = 3


@dataclass
class Cluster:
    data: Path
    port: int
    socket_dir: Path
    started: bool = field(default=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def configure(self, **settings: str) -> None:
        lines = [f"{name} = '{value}'" for name, value in settings.items()]
        with (self.data / "postgresql.auto.conf").open("a") as conf:
            conf.write("\n".join(lines) + "\n")

    def start(self) -> None:
        """Start the server, and say why in the failure if it does not.

        A port is free when :func:`free_port` picks it, but any process's outgoing connection
        may take it before the server binds it (two test processes open thousands): a first
        start that finds it taken moves to another free port. A restart keeps its port, as
        clients hold its address."""
        for attempt in range(1, _PORTS_TRIED + 1):
            try:
                self._start()
            except AssertionError as failure:
                log = self.log_tail()
                if self.started or attempt == _PORTS_TRIED or "already in use" not in log:
                    raise AssertionError(f"{failure}\nserver log:\n{log}") from None
                self.port = free_port()
            else:
                self.started = True
                return

    def log_tail(self) -> str:
        path = self.data / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"

    def _start(self) -> None:
        as_postgres(
            pg_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-w",
            "-t",
            "60",
            "-l",
            str(self.data / "server.log"),
            "-o",
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            as_postgres(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def execute(self, sql: str, database: str = "postgres") -> list[tuple[object, ...]]:
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(sql)
            return list(cursor.fetchall()) if cursor.description else []

    def wait_until_writable(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(psycopg.OperationalError):
                if self.execute("SELECT pg_is_in_recovery()") == [(False,)]:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"the cluster did not leave recovery:\n{self.log_tail()}")
            time.sleep(0.2)


@contextlib.contextmanager
def cluster_root() -> Iterator[Path]:
    """A folder the ``postgres`` user owns (pytest's own are closed to it), removed at the end."""
    root = Path(tempfile.mkdtemp(prefix="payez-pg-"))
    try:
        yield owned_by_postgres(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def new_cluster(root: Path, name: str = "primary") -> Iterator[Cluster]:
    """A fresh cluster in ``root`` (see :func:`cluster_root`), not yet started; stopped
    (immediately, if need be) when the block ends."""
    cluster = Cluster(root / name, free_port(), owned_by_postgres(root / f"{name}-socket"))
    as_postgres(pg_bin("initdb"), "-D", str(cluster.data), "-U", "postgres", "--auth=trust")
    try:
        yield cluster
    finally:
        with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
            cluster.stop("immediate")
