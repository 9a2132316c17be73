"""The files the pages link (the stylesheet), served from the package under ``/static/``.

Pages link each file with a digest of its content in the query, ``/static/payez.css?v=…``:
what that URL answers never changes, so a browser keeps it for a year without asking again,
and a release that changes the file links a new URL, so nobody sees new pages with old styles.
Asked without the current digest (an old page, a bookmark), the file is revalidated each time.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_PREFIX = "/static"
# Shipped inside the package (hatch puts every file under src/payez in the wheel).
STATIC_DIRECTORY = Path(__file__).resolve().parent / "static"
FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def _digest(path: Path) -> str:
    # Keyed on the modification time too, so that an edited file gets a new URL at once.
    return _digest_of(path, path.stat().st_mtime_ns)


@cache
def _digest_of(path: Path, _mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def static_url(name: str) -> str:
    """The URL a page links ``name`` by: it changes whenever the file does."""
    return f"{STATIC_PREFIX}/{name}?v={_digest(STATIC_DIRECTORY / name)}"


class FingerprintedFiles(StaticFiles):
    """Starlette's static files, with a cache lifetime that depends on the digest asked for."""

    def __init__(self) -> None:
        super().__init__(directory=STATIC_DIRECTORY)

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [])
        current = _digest(Path(full_path).resolve())
        response.headers["Cache-Control"] = FOREVER if asked == [current] else REVALIDATE
        return response
