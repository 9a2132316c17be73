"""The PostgreSQL backup set-up of ``docs/operations.md``, drilled: a primary archives its WAL,
a base backup is taken while payments go on, the primary is lost, and a new server restored
from the base backup plus the archive holds every payment settled before the loss, with a
ledger that passes ``payez ledger check``."""

from __future__ import annotations

import shutil
import time

import sqlalchemy as sa

from payez.adapters.db.ledger import check_ledger
from payez.adapters.db.migrate import migrate
from payez.adapters.db.tables.payments import payments
from tests.integration.pg_cluster import (
    Cluster,
    as_postgres,
    cluster_root,
    free_port,
    new_cluster,
    pg_bin,
)
from tests.integration.pipeline_world import World


def _settled(world: World) -> set[tuple[str, int]]:
    with world.ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(payments.c.post_id, payments.c.amount_cents).where(
                payments.c.state == "settled"
            )
        )
        return {(str(r[0]), int(r[1])) for r in rows}


def _pay(world: World, count: int, first: int) -> None:
    for n in range(first, first + count):
        world.post("alice", f"@payez envoie {n % 9 + 1},{n % 100:02d}€ à @bob (n°{n})")
    world.run()


def test_a_server_restored_from_base_backup_and_wal_archive_misses_nothing() -> None:
    with cluster_root() as root, new_cluster(root) as primary:
        archive = root / "wal-archive"
        archive.mkdir()
        shutil.chown(archive, "postgres", "postgres")
        primary.configure(
            wal_level="replica",
            archive_mode="on",
            # As docs/operations.md: a copy cut short never sits under the segment's name.
            archive_command=(
                f"test ! -f {archive}/%f && cp %p {archive}/%f.part"
                f" && mv {archive}/%f.part {archive}/%f"
            ),
        )
        primary.start()
        primary.execute("CREATE DATABASE payez")
        url = primary.url("payez")
        migrate(url)
        world = World.create(url)
        world.join("alice", cents=100_000)
        world.join("bob")
        _pay(world, 40, 0)

        base = root / "base"
        as_postgres(
            pg_bin("pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            str(base),
            "--checkpoint=fast",
            "--wal-method=none",
        )
        # Payments after the base backup exist only in the WAL archive.
        _pay(world, 40, 40)
        settled = _settled(world)
        assert len(settled) == 80
        # The segment holding the last payments is closed, and goes to the archive.
        [(last_segment,)] = primary.execute("SELECT pg_walfile_name(pg_switch_wal())")
        _wait_until_archived(primary, str(last_segment))
        world.ctx.engine.dispose()
        primary.stop("immediate")  # the primary is lost

        restored = Cluster(root / "restored", free_port(), primary.socket_dir)
        as_postgres("cp", "-a", str(base), str(restored.data))
        restored.configure(
            restore_command=f"cp {archive}/%f %p",
            recovery_target_action="promote",
            archive_mode="off",
        )
        as_postgres("touch", str(restored.data / "recovery.signal"))
        try:
            restored.start()
            restored.wait_until_writable()
            restored_url = restored.url("payez")
            again = World.create(restored_url)
            assert _settled(again) == settled
            report = check_ledger(again.ctx.engine)
            assert report.ok, report.problems
            again.ctx.engine.dispose()
        finally:
            restored.stop("fast")


def _wait_until_archived(primary: Cluster, segment: str) -> None:
    """Wait until ``segment`` is in the archive. Stopping the primary sooner would kill the copy
    in flight, and the restore would miss that segment's payments."""
    deadline = time.monotonic() + 60
    while True:
        [(failed, last)] = primary.execute(
            "SELECT failed_count, last_archived_wal FROM pg_stat_archiver"
        )
        if last is not None and str(last) >= segment:
            return
        assert time.monotonic() < deadline, f"{segment} not archived (failures: {failed})"
        time.sleep(0.2)
