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


def test_notification_choice_is_saved_for_the_user_only(sqlite_url: str) -> None:
    from payez.adapters.db.tables.payments import users
    from tests.integration.web_world import web_world

    with web_world(sqlite_url) as web:
        alice = web.browser()
        assert alice.sign_up("alice@example.org").status_code == 303
        bob = web.browser()
        assert bob.sign_up("bob@example.org", name="Bob").status_code == 303
        form = {"language": "en", "hide_amount": "", "notify_received": "1"}
        assert alice.submit("/settings", form).status_code == 303
        with web.world.ctx.engine.connect() as conn:
            chosen = dict(
                conn.execute(
                    users.select().with_only_columns(users.c.email, users.c.notify_received)
                ).all()
            )
        assert chosen == {"alice@example.org": True, "bob@example.org": False}
        assert 'id="notify_received" name="notify_received" type="checkbox" value="1" checked' in (
            alice.get("/settings").text
        )
