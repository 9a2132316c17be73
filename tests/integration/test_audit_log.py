"""The audit log: a hash chain that ``payez audit verify`` checks, and that shows any change
made behind the code's back — an edited, deleted or reordered entry. On PostgreSQL the database
itself refuses UPDATE, DELETE and TRUNCATE on it."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner, Result

from payez.adapters.db.engine import make_engine
from payez.config import load_settings
from payez.domain.audit_chain import GENESIS, entry_hash
from payez.entrypoints.cli import app
from payez.ports.clock import ManualClock
from payez.service.audit_log import record, verify_audit_log
from payez.service.context import ServiceContext
from payez.service.open_account import open_user
from payez.service.operators import grant_operator, revoke_operator

START = datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)


def payez(database_url: str, *args: str) -> Result:
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("PAYEZ_")}
    return CliRunner(env=unset).invoke(app, [*args, "--database-url", database_url])


def make_ctx(database_url: str) -> ServiceContext:
    return ServiceContext(
        engine=make_engine(database_url),
        settings=load_settings({}, database_url=database_url),
        clock=ManualClock(START),
    )


def write_entries(ctx: ServiceContext, count: int) -> None:
    with ctx.engine.begin() as conn:
        for n in range(count):
            record(
                conn,
                operator_user_id=None,
                action="test.action",
                target=f"thing:{n}",
                details={"n": n, "note": "é"},
                now=START + timedelta(seconds=n),
            )


def execute(database_url: str, statement: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def test_the_chain_links_each_entry_to_the_previous_one(database_url: str) -> None:
    ctx = make_ctx(database_url)
    write_entries(ctx, 5)
    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, prev_hash, hash FROM audit_log ORDER BY id")).all()
    assert [r.id for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == GENESIS
    assert all(rows[i].prev_hash == rows[i - 1].hash for i in range(1, 5))
    report, head = verify_audit_log(ctx)
    assert report.ok and report.checked == 5 and head == rows[-1].hash
    result = payez(database_url, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "5 entries" in result.output and rows[-1].hash in result.output
    ctx.engine.dispose()


def test_an_empty_log_verifies(database_url: str) -> None:
    result = payez(database_url, "audit", "verify", "--json")
    assert result.exit_code == 0
    assert '"checked": 0' in result.output


def test_grant_and_revoke_from_the_cli_are_audited(database_url: str) -> None:
    ctx = make_ctx(database_url)
    with ctx.engine.begin() as conn:
        user_id = open_user(
            conn, kind="person", display_name="Olga", now=START, email="ops@example.org"
        )
    result = payez(database_url, "operators", "grant", "OPS@example.org", "--role", "admin")
    assert result.exit_code == 0, result.output
    assert payez(database_url, "operators", "grant", "nobody@example.org").exit_code == 2
    assert (
        payez(database_url, "operators", "grant", "ops@example.org", "--role", "god").exit_code == 2
    )
    assert payez(database_url, "operators", "revoke", "ops@example.org").exit_code == 0
    again = payez(database_url, "operators", "revoke", "ops@example.org")
    assert "nothing changed" in again.output
    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT action, target FROM audit_log ORDER BY id")).all()
        roles = conn.execute(sa.text("SELECT count(*) FROM operators")).scalar_one()
    assert [tuple(r) for r in rows] == [
        ("operator.grant", f"user:{user_id}"),
        ("operator.revoke", f"user:{user_id}"),
    ]
    assert roles == 0
    assert payez(database_url, "audit", "verify").exit_code == 0
    ctx.engine.dispose()


def test_a_grant_by_someone_who_is_not_admin_is_refused(database_url: str) -> None:
    ctx = make_ctx(database_url)
    with ctx.engine.begin() as conn:
        for name in ("a", "b"):
            open_user(conn, kind="person", display_name=name, now=START, email=f"{name}@x.org")
    a = grant_operator(ctx, "a@x.org", "operator")
    with pytest.raises(Exception, match="admin_only"):
        grant_operator(ctx, "b@x.org", granted_by=a)
    with pytest.raises(Exception, match="admin_only"):
        revoke_operator(ctx, "a@x.org", revoked_by=a)
    grant_operator(ctx, "a@x.org", "admin")
    grant_operator(ctx, "b@x.org", granted_by=a)
    with ctx.engine.connect() as conn:
        granted = conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one()
    assert granted == 3
    ctx.engine.dispose()


def test_sqlite_tampering_is_detected(sqlite_url: str) -> None:
    ctx = make_ctx(sqlite_url)
    write_entries(ctx, 4)
    execute(sqlite_url, "UPDATE audit_log SET details = '{\"n\":99}' WHERE id = 2")
    result = payez(sqlite_url, "audit", "verify")
    assert result.exit_code == 1
    assert "entry 2 (hash_mismatch)" in result.output
    ctx.engine.dispose()


def test_sqlite_tampering_with_a_recomputed_hash_breaks_the_next_link(sqlite_url: str) -> None:
    ctx = make_ctx(sqlite_url)
    write_entries(ctx, 4)
    # The tamperer rewrites entry 2 consistently (a fresh, correct hash) ...
    with ctx.engine.connect() as conn:
        prev = conn.execute(sa.text("SELECT hash FROM audit_log WHERE id = 1")).scalar_one()
    forged = entry_hash(
        prev,
        id=2,
        at=START + timedelta(seconds=1),
        operator_user_id=None,
        action="test.action",
        target="thing:1",
        details='{"n":99}',
    )
    execute(
        sqlite_url,
        f"UPDATE audit_log SET details = '{{\"n\":99}}', hash = '{forged}' WHERE id = 2",
    )
    # ... and entry 3 no longer names it.
    report, _head = verify_audit_log(ctx)
    assert report.broken is not None
    assert (report.broken.entry_id, report.broken.reason) == (3, "prev_hash_mismatch")
    assert report.checked == 2
    ctx.engine.dispose()


def test_sqlite_a_deleted_entry_is_detected(sqlite_url: str) -> None:
    ctx = make_ctx(sqlite_url)
    write_entries(ctx, 4)
    execute(sqlite_url, "DELETE FROM audit_log WHERE id = 2")
    result = payez(sqlite_url, "audit", "verify", "--json")
    assert result.exit_code == 1
    assert '"broken_entry": 3' in result.output and "position_gap" in result.output
    ctx.engine.dispose()


def test_sqlite_reordered_entries_are_detected(sqlite_url: str) -> None:
    ctx = make_ctx(sqlite_url)
    write_entries(ctx, 4)
    for statement in (
        "UPDATE audit_log SET id = -id WHERE id IN (2, 3)",
        "UPDATE audit_log SET id = 3 WHERE id = -2",
        "UPDATE audit_log SET id = 2 WHERE id = -3",
    ):
        execute(sqlite_url, statement)
    result = payez(sqlite_url, "audit", "verify")
    assert result.exit_code == 1
    assert "entry 2 (prev_hash_mismatch)" in result.output
    ctx.engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET details = '{}' WHERE id = 2",
        "DELETE FROM audit_log WHERE id = 2",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ],
)
def test_postgres_refuses_changes_to_the_log(postgres_url: str, statement: str) -> None:
    ctx = make_ctx(postgres_url)
    write_entries(ctx, 3)
    with pytest.raises(DBAPIError) as raised:
        execute(postgres_url, statement)
    assert isinstance(raised.value.orig, psycopg.errors.InsufficientPrivilege)
    assert "append-only" in str(raised.value.orig)
    report, _head = verify_audit_log(ctx)
    assert report.ok and report.checked == 3
    ctx.engine.dispose()


@pytest.mark.postgres
def test_postgres_concurrent_appends_keep_one_chain(postgres_url: str) -> None:
    ctx = make_ctx(postgres_url)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for n in range(15):
                with ctx.engine.begin() as conn:
                    record(
                        conn,
                        operator_user_id=None,
                        action="test.race",
                        target=f"{name}:{n}",
                        details={},
                        now=START,
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report, _head = verify_audit_log(ctx)
    assert report.ok and report.checked == 60
    ctx.engine.dispose()
