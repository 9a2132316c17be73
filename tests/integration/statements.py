"""What SQL an engine sends: for tests that count or compare the statements a use takes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def statements_sent(engine: sa.Engine | type[sa.Engine] = sa.Engine) -> Iterator[list[str]]:
    """Every SQL statement ``engine`` sends inside the block, in order; by default those of every
    engine, as a served app's are out of the test's reach."""
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)


def is_read(statement: str) -> bool:
    """``statement`` is a ``SELECT``."""
    return statement.lstrip().upper().startswith("SELECT")
