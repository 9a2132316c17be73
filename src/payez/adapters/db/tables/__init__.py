"""SQLAlchemy Core tables, one module per area, all registered on ``payez.adapters.db.metadata``.

Import the module of the area you need (``from payez.adapters.db.tables import ledger``); this
package imports nothing itself so that loading one area stays cheap.
"""
