"""Periods of a chart as SQL: which period a timestamp falls in, for one grouped query.

Periods are cut in the reader's time zone in Python (daylight saving time included), and the
database only compares stored UTC timestamps with those boundaries, which both SQLite and
PostgreSQL do the same way on an indexed column.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of ``day`` on a clock in ``zone``, in UTC (how moments are stored)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def utc_bounds(days: Sequence[date], zone: ZoneInfo) -> tuple[datetime, ...]:
    return tuple(day_start(d, zone) for d in days)


def within(column: Any, bounds: Sequence[datetime]) -> sa.ColumnElement[bool]:
    return sa.and_(column >= bounds[0], column < bounds[-1])


def period_index(column: Any, bounds: Sequence[datetime]) -> sa.ColumnElement[Any]:
    """0 for a moment in the first period, 1 in the second...; to be used under ``within``."""
    whens = [(column < upper, i) for i, upper in enumerate(bounds[1:-1])]
    return sa.case(*whens, else_=len(bounds) - 2) if whens else sa.literal(0)
