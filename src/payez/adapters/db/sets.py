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
    dialect = conn.dialect.name
    return _one_of(
        dialect,
        column,
        sa.bindparam(None, listed(dialect, values), type_=_bound_type(dialect, column.type)),
    )


def one_of_named(dialect: str, column: sa.ColumnElement[Any], name: str) -> sa.ColumnElement[bool]:
    """``column`` is one of the values bound as ``name`` when the statement runs, given by
    :func:`listed`: for a statement built once per dialect and run with lists of any length."""
    return _one_of(dialect, column, sa.bindparam(name, type_=_bound_type(dialect, column.type)))


def listed(dialect: str, values: Iterable[Any]) -> Any:
    """``values`` as :func:`one_of_named` binds them on ``dialect``."""
    found = list(values)
    return found if dialect == "postgresql" else json.dumps(found)


def _bound_type(dialect: str, type_: Any) -> Any:
    return postgresql.ARRAY(type_) if dialect == "postgresql" else sa.String()


def _one_of(
    dialect: str, column: sa.ColumnElement[Any], bound: sa.BindParameter[Any]
) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        return column == sa.any_(bound)
    each: sa.Select[tuple[Any]] = sa.select(sa.literal_column("value")).select_from(
        sa.func.json_each(bound)
    )
    return column.in_(each.scalar_subquery())


def values_table(conn: Connection, values: Iterable[Any], type_: Any) -> sa.TableValuedAlias:
    """``values`` as a one-column table (column ``value``), to drive a join from a small set.

    A join from the set makes both planners look each value up in the other table's index;
    an ``IN`` filter may instead make them scan an index of a less selective column.
    """
    dialect = conn.dialect.name
    bound = sa.bindparam(None, listed(dialect, values), type_=_bound_type(dialect, type_))
    if dialect == "postgresql":
        table = sa.func.unnest(bound).table_valued(sa.column("value", type_))
        return table.render_derived(name="ids")
    return sa.func.json_each(bound).table_valued(sa.column("value", type_)).alias("ids")
