"""The dashboard opens the working areas a user may use, and only those."""

from __future__ import annotations

from pathlib import Path

from tests.integration.backoffice_world import backoffice_world


def test_operators_see_the_back_office_and_others_do_not(sqlite_url: str, tmp_path: Path) -> None:
    with backoffice_world(sqlite_url, tmp_path) as bo:
        assert 'href="/backoffice"' in bo.operator.get("/dashboard").text
        page = bo.other.get("/dashboard").text
        assert 'href="/backoffice"' not in page
        assert 'href="/merchant"' not in page
        assert 'href="/association"' not in page
