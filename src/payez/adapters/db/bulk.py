"""Many rows into one table as one statement per batch, prepared once.

On PostgreSQL the rows travel as one array per column and ``INSERT ... SELECT FROM unnest(...)``
writes them in a single statement (a many-row ``executemany`` costs one statement per row). On
SQLite, which runs in-process, one ``executemany`` of a plain prepared ``INSERT`` is the
cheapest form. Values are converted by the columns' own types (UTC timestamps, booleans), so a
row reads back exactly as if SQLAlchemy had written it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.engine import Dialect

Convert = Callable[[Any], Any] | None


@lru_cache(maxsize=256)
def _statement(
    table: sa.Table, columns: tuple[str, ...], dialect: Dialect, skip_duplicates: bool
) -> tuple[str, tuple[Convert, ...]]:
    names = ", ".join(columns)
    types = [table.c[name].type for name in columns]
    if dialect.name == "postgresql":
        # %b: arrays go in binary form, several times cheaper to encode than as text.
        arrays = ", ".join(f"%b::{t.compile(dialect=dialect)}[]" for t in types)
        sql = f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays})"
    else:
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
    if skip_duplicates:
        sql += " ON CONFLICT DO NOTHING"
    converters = tuple(t.dialect_impl(dialect).bind_processor(dialect) for t in types)
    return sql, converters


def insert_rows(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    *,
    skip_duplicates: bool = False,
) -> None:
    """Insert ``rows`` (dicts with the same keys); with ``skip_duplicates`` a row that would
    break a unique key is left out, as ``ON CONFLICT DO NOTHING``."""
    if not rows:
        return
    columns = tuple(rows[0])
    sql, converters = _statement(table, columns, conn.dialect, skip_duplicates)
    values = [
        _converted([row[name] for row in rows], convert)
        for name, convert in zip(columns, converters, strict=True)
    ]
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(sql, tuple(values))
    else:
        conn.exec_driver_sql(sql, list(zip(*values, strict=True)))


def _converted(column: list[Any], convert: Convert) -> list[Any]:
    """A column's values as the driver takes them; each distinct value converted once (a
    batch's timestamps are mostly one and the same ``now``)."""
    if convert is None:
        return column
    done: dict[Any, Any] = {}
    out = []
    for value in column:
        try:
            if value not in done:
                done[value] = convert(value)
            out.append(done[value])
        except TypeError:  # an unhashable value (a JSON document): converted each time
            out.append(convert(value))
    return out
