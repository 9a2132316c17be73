"""The card tables declared in Python match what the migrations create, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from payez.adapters.db.engine import make_engine
from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.card_charges import card_charges, processed_webhooks
from payez.adapters.db.tables.sandbox_cards import (
    sandbox_card_charges,
    sandbox_card_customers,
    sandbox_card_methods,
    sandbox_card_refunds,
    sandbox_card_setups,
)

OURS = {
    t.name
    for t in (
        card_charges,
        processed_webhooks,
        sandbox_card_customers,
        sandbox_card_methods,
        sandbox_card_setups,
        sandbox_card_charges,
        sandbox_card_refunds,
    )
}


def _only_ours(name: str | None, type_: str, parent: object) -> bool:
    return type_ != "table" or name in OURS


def test_migrations_match_the_table_definitions(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": _only_ours, "compare_type": True}
        )
        diffs = compare_metadata(context, metadata)
        present = set(conn.dialect.get_table_names(conn))
    assert present >= OURS
    assert diffs == []
