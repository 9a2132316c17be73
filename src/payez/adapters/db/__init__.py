"""The database adapter: SQLAlchemy 2 Core tables, repositories, the unit of work, migrations.

One schema serves SQLite (the embedded default) and PostgreSQL (production).
"""
