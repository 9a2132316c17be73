"""Use case: a user downloads everything Payez holds about them (GDPR art. 15 and 20).

One ZIP: for every source of ``adapters.db.personal_data``, the rows about the user as JSON and
as CSV, and ``about.json`` saying what each file is and which columns were left out and why.
Another user named in a row (the other side of a payment, an operator) shows only as their
public handle.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import zipfile
from datetime import date, datetime
from typing import Any

from payez.adapters.db import personal_data
from payez.adapters.db.personal_data import SOURCES, Source, Subject
from payez.service.context import ServiceContext
from payez.service.errors import UserUnknown

ANOTHER_USER = "another user"


def export_my_data(ctx: ServiceContext, user_id: int) -> bytes:
    """The ZIP archive of the user's data, read in one consistent transaction."""
    tables: dict[str, list[dict[str, Any]]] = {}
    with ctx.engine.connect() as conn:
        who = personal_data.subject(conn, user_id)
        if who is None:
            raise UserUnknown(str(user_id))
        raw = {s.table.name: personal_data.rows_about(conn, who, s) for s in SOURCES}
        others = {
            int(value)
            for s in SOURCES
            for row in raw[s.table.name]
            for column in personal_data.user_columns(s)
            if (value := row[column]) is not None and int(value) != user_id
        }
        handles = personal_data.public_handles(conn, others)
    for source in SOURCES:
        tables[source.table.name] = [
            _shown(row, source, who, handles) for row in raw[source.table.name]
        ]
    return _zip(tables, ctx.now())


def _shown(
    row: dict[str, Any], source: Source, who: Subject, handles: dict[int, str]
) -> dict[str, Any]:
    shown = {key: _plain(value) for key, value in row.items()}
    for column in personal_data.user_columns(source):
        value = row[column]
        if value is not None and int(value) != who.user_id:
            shown[column] = handles.get(int(value), ANOTHER_USER)
    return shown


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _zip(tables: dict[str, list[dict[str, Any]]], now: datetime) -> bytes:
    about = {
        "exported_at": now.isoformat(),
        "files": {
            s.table.name: {
                "rows": len(tables[s.table.name]),
                "columns": [c.name for c in personal_data.exported_columns(s)],
                "left_out": dict(s.omit),
                "at_closure": s.on_closure,
                "why": s.why,
            }
            for s in SOURCES
        },
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("about.json", json.dumps(about, ensure_ascii=False, indent=2))
        for source in SOURCES:
            name = source.table.name
            rows = tables[name]
            archive.writestr(f"{name}.json", json.dumps(rows, ensure_ascii=False, indent=2))
            archive.writestr(f"{name}.csv", _csv(source, rows))
    return buffer.getvalue()


def _csv(source: Source, rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    columns = [c.name for c in personal_data.exported_columns(source)]
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else row[c] for c in columns])
    return out.getvalue()
