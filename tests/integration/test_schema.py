"""Every table declared in Python matches what the migrations create, on both databases."""

from __future__ import annotations

import importlib
import pkgutil

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import payez.adapters.db.tables as table_modules
from payez.adapters.db.engine import make_engine
from payez.adapters.db.metadata import metadata


def load_every_table_module() -> None:
    for module in pkgutil.iter_modules(table_modules.__path__):
        importlib.import_module(f"{table_modules.__name__}.{module.name}")
    importlib.import_module("payez.sandbox.network.tables")
    importlib.import_module("payez.sandbox.mail.tables")


def test_migrations_create_exactly_the_declared_schema(database_url: str) -> None:
    load_every_table_module()
    engine = make_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, metadata) if "alembic_version" not in str(d)]
        present = set(conn.dialect.get_table_names(conn))
    engine.dispose()
    assert present >= set(metadata.tables)
    assert diffs == []


def test_every_revision_id_fits_the_version_table() -> None:
    from alembic.script import ScriptDirectory

    from payez.adapters.db.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    too_long = [r.revision for r in scripts.walk_revisions() if len(r.revision) > 32]
    assert too_long == []  # alembic_version.version_num is VARCHAR(32)
