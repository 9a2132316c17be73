"""Failover: a pg_auto_failover formation (a monitor, a primary and a synchronous standby, each
on its own port and data folder) under Payez, connected with a multi-host URL that asks for the
read-write server. The primary is killed mid-load (SIGKILL, its keeper too): the standby is
promoted, Payez reconnects to it on its own, and no payment acknowledged before the kill is
missing; the ledger check passes and payments go on."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import sqlalchemy as sa

from payez.adapters.db.ledger import check_ledger
from payez.adapters.db.migrate import migrate
from payez.adapters.db.tables.payments import payments
from tests.integration.pg_cluster import cluster_root, free_port, pg_bin
from tests.integration.pipeline_world import World

PG_AUTOCTL = "/usr/bin/pg_autoctl"
# Seconds, shortened from the monitor's defaults (5 s checks, 20 s to call a node unhealthy,
# 30 s before a promoted standby may take writes) so the test runs in seconds.
MONITOR_SETTINGS = {
    "pgautofailover.health_check_period": "1000",
    "pgautofailover.health_check_timeout": "1000",
    "pgautofailover.health_check_retry_delay": "500",
    "pgautofailover.node_considered_unhealthy_timeout": "4000",
    "pgautofailover.primary_demote_timeout": "5000",
}


@dataclass
class Node:
    name: str
    port: int
    data: Path
    keeper: subprocess.Popen[bytes]

    def kill(self) -> None:
        """The machine dies: the keeper and its PostgreSQL, at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.keeper.pid, signal.SIGKILL)
        self.keeper.wait(10)
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)


def _query(port: int, sql: str, user: str = "postgres", database: str = "postgres") -> object:
    with psycopg.connect(
        f"postgresql://{user}@127.0.0.1:{port}/{database}", autocommit=True, connect_timeout=3
    ) as conn:
        cursor = conn.execute(sql)
        row = cursor.fetchone() if cursor.description else None
        return row[0] if row else None


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(psycopg.Error):
            if condition():  # type: ignore[operator]
                return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


@contextlib.contextmanager
def formation(root: Path) -> Iterator[tuple[int, list[Node]]]:
    assert Path(PG_AUTOCTL).exists(), "pg_auto_failover is missing: `make failover-tools`"
    env = {
        "PATH": f"{Path(pg_bin('pg_ctl')).parent}:/usr/bin:/bin",
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_DATA_HOME": str(root / "state"),
        "HOME": str(root),
    }
    keepers: list[subprocess.Popen[bytes]] = []
    nodes: list[Node] = []

    def run(name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (root / f"{name}.log").open("wb")
        keeper = subprocess.Popen(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                "env",
                *(f"{k}={v}" for k, v in env.items()),
                PG_AUTOCTL,
                *args,
                "--run",
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        keepers.append(keeper)
        return keeper

    monitor_port = free_port()
    try:
        run(
            "monitor",
            "create",
            "monitor",
            "--pgdata",
            str(root / "monitor"),
            "--pgport",
            str(monitor_port),
            "--hostname",
            "127.0.0.1",
            "--auth",
            "trust",
            "--no-ssl",
        )
        _wait(
            lambda: _query(monitor_port, "SELECT 1", database="pg_auto_failover") == 1,
            60,
            "the monitor",
        )
        for name, value in MONITOR_SETTINGS.items():
            _query(monitor_port, f"ALTER SYSTEM SET {name} = '{value}'")
        _query(monitor_port, "SELECT pg_reload_conf()")
        monitor = (
            f"postgres://autoctl_node@127.0.0.1:{monitor_port}/pg_auto_failover?sslmode=disable"
        )
        for index in (1, 2):
            port, data = free_port(), root / f"node{index}"
            keeper = run(
                f"node{index}",
                "create",
                "postgres",
                "--pgdata",
                str(data),
                "--pgport",
                str(port),
                "--hostname",
                "127.0.0.1",
                "--auth",
                "trust",
                "--no-ssl",
                "--monitor",
                monitor,
                "--name",
                f"node{index}",
            )
            nodes.append(Node(f"node{index}", port, data, keeper))
            if index == 1:
                _wait(lambda: _states(monitor_port).get("node1") == "single", 120, "node1")
        _wait(
            lambda: _states(monitor_port) == {"node1": "primary", "node2": "secondary"},
            180,
            "the primary and its standby",
        )
        yield monitor_port, nodes
    finally:
        for keeper in keepers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(keeper.pid, signal.SIGTERM)
        for keeper in keepers:
            try:
                keeper.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(keeper.pid, signal.SIGKILL)
                keeper.wait(10)
        for data in [root / "monitor", *(node.data for node in nodes)]:
            pid_file = data / "postmaster.pid"
            if pid_file.exists():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)


def _states(monitor_port: int) -> dict[str, str]:
    with psycopg.connect(
        f"postgresql://postgres@127.0.0.1:{monitor_port}/pg_auto_failover",
        autocommit=True,
        connect_timeout=3,
    ) as conn:
        rows = conn.execute("SELECT nodename, reportedstate FROM pgautofailover.node").fetchall()
    return {str(name): str(state) for name, state in rows}


def _settled(world: World) -> set[tuple[str, int]]:
    with world.ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(payments.c.post_id, payments.c.amount_cents).where(
                payments.c.state == "settled"
            )
        )
        return {(str(r[0]), int(r[1])) for r in rows}


def test_the_standby_takes_over_and_no_acknowledged_payment_is_lost() -> None:
    with cluster_root() as root, formation(root) as (monitor_port, (first, second)):
        _query(first.port, "CREATE DATABASE payez")
        url = (
            "postgresql://postgres@/payez?"
            f"host=127.0.0.1:{first.port}&host=127.0.0.1:{second.port}"
            "&target_session_attrs=read-write"
        )
        migrate(url)
        world = World.create(url)
        world.join("alice", cents=100_000)
        world.join("bob")
        for n in range(30):
            world.post("alice", f"@payez envoie {n + 1}€ à @bob")
        world.run()
        acknowledged = _settled(world)
        assert len(acknowledged) == 30
        # Synchronous replication: what the primary acknowledged, the standby holds.
        assert _query(first.port, "SHOW synchronous_standby_names") not in ("", None)

        first.kill()
        _wait(
            lambda: (
                _query(second.port, "SHOW default_transaction_read_only") == "off"
                and _query(second.port, "SELECT pg_is_in_recovery()") is False
            ),
            120,
            "the standby to be promoted and writable",
        )
        # Payez reconnects by itself: the multi-host URL finds the read-write server.
        for n in range(10):
            world.post("alice", f"@payez envoie {n + 1},50€ à @bob")
        world.run()
        settled = _settled(world)
        assert acknowledged <= settled
        assert len(settled) == 40
        with world.ctx.engine.connect() as conn:
            port = conn.exec_driver_sql("SELECT inet_server_port()").scalar_one()
        assert port == second.port
        assert _states(monitor_port)["node2"] in ("wait_primary", "primary")
        report = check_ledger(world.ctx.engine)
        assert report.ok, report.problems
        world.ctx.engine.dispose()
