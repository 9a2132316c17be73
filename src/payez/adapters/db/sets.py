"""``column IN (values)`` as one bound parameter, so the statement text never changes.

A literal ``IN (1, 2, 3)`` list makes every batch a new statement: the driver never prepares it
and SQLAlchemy renders it afresh each time. An array on PostgreSQL (``= ANY(:ids)``) and a
JSON list on SQLite (``IN (SELECT value FROM json_each(:ids))``) keep one text per query, which
PostgreSQL prepares once and SQLite keeps in its statement cache.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql


def one_of(
    conn: Connection, column: sa.ColumnElement[Any], values: Iterable[Any]
) -> sa.ColumnElement[bool]:
    """``column`` is one of ``values`` (ints or strings)."""
    found = list(values)
    if conn.dialect.name == "postgresql":
        array = sa.bindparam(None, found, type_=postgresql.ARRAY(column.type))
        return column == sa.any_(array)
    listed: sa.Select[tuple[Any]] = sa.select(sa.literal_column("value")).select_from(
        sa.func.json_each(sa.bindparam(None, json.dumps(found), type_=sa.String()))
    )
    return column.in_(listed.scalar_subquery())


def values_table(conn: Connection, values: Iterable[Any], type_: Any) -> sa.TableValuedAlias:
    """``values`` as a one-column table (column ``value``), to drive a join from a small set.

    A join from the set makes both planners look each value up in the other table's index;
    an ``IN`` filter may instead make them scan an index of a less selective column.
    """
    found = list(values)
    if conn.dialect.name == "postgresql":
        array = sa.bindparam(None, found, type_=postgresql.ARRAY(type_))
        table = sa.func.unnest(array).table_valued(sa.column("value", type_))
        return table.render_derived(name="ids")
    listed = sa.bindparam(None, json.dumps(found), type_=sa.String())
    return sa.func.json_each(listed).table_valued(sa.column("value", type_)).alias("ids")
