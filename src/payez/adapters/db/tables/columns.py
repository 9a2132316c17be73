"""Column types shared by every table module, portable to SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Cents = sa.BigInteger()
Timestamp = sa.DateTime(timezone=True)
