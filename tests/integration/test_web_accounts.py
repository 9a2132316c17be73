"""Sign up, log in, sessions, CSRF and login rate limiting, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from http.cookies import SimpleCookie

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.payments import users
from payez.adapters.db.tables.web import identity_checks, login_attempts, user_cards, web_sessions
from payez.entrypoints.web.app import create_app
from payez.service.web_sessions import token_hash
from tests.integration.web_world import PASSWORD, Browser, WebWorld, csrf_of, web_world

WEB_TABLES = {t.name for t in (web_sessions, login_attempts, identity_checks, user_cards)}


@pytest.fixture
def web(database_url: str) -> Iterator[WebWorld]:
    with web_world(database_url) as world:
        yield world


def _count(web: WebWorld, table: sa.Table) -> int:
    with web.world.ctx.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _set_cookies(response: object) -> dict[str, SimpleCookie]:
    cookies: dict[str, SimpleCookie] = {}
    for header in response.headers.get_list("set-cookie"):  # type: ignore[attr-defined]
        parsed = SimpleCookie()
        parsed.load(header)
        for name in parsed:
            cookies[name] = parsed
    return cookies


def test_migration_matches_the_web_tables(web: WebWorld) -> None:
    def only_ours(obj: object, name: str | None, type_: str, *_: object) -> bool:
        table = obj if isinstance(obj, sa.Table) else getattr(obj, "table", None)
        return isinstance(table, sa.Table) and table.name in WEB_TABLES

    with web.world.ctx.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": only_ours, "compare_type": True}
        )
        assert compare_metadata(context, metadata) == []
        assert set(conn.dialect.get_table_names(conn)) >= WEB_TABLES


def test_sign_up_opens_a_session_with_safe_cookie_flags(web: WebWorld) -> None:
    browser = web.browser()
    answer = browser.sign_up("alice@example.org")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/onboarding"
    cookie = _set_cookies(answer)["payez_session"]["payez_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "lax"
    assert not cookie["secure"]  # served over plain http here
    token = cookie.value
    with web.world.ctx.engine.connect() as conn:
        stored = conn.execute(sa.select(web_sessions.c.token_hash)).scalars().all()
        password_hash = conn.execute(sa.select(users.c.password_hash)).scalar_one()
    # Only the hash of the session id is kept, and the password only as an Argon2id hash.
    assert stored == [token_hash(token)]
    assert token not in stored
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    assert browser.client.get("/api/v1/me").json()["email"] == "alice@example.org"


def test_session_cookie_is_secure_over_https(database_url: str) -> None:
    with web_world(database_url, base_url="https://payez.example") as web:
        client = TestClient(web.app, base_url="https://testserver")
        browser = Browser(client)
        answer = browser.sign_up("alice@example.org")
        assert answer.status_code == 303
        cookies = _set_cookies(answer)
        assert cookies["payez_session"]["payez_session"]["secure"] is True
        assert browser.client.get("/api/v1/me").status_code == 200
        client.close()


def test_sign_up_refuses_bad_input_and_duplicates(web: WebWorld) -> None:
    browser = web.browser()
    assert browser.sign_up("alice@example.org").status_code == 303
    other = web.browser()
    duplicate = other.sign_up("ALICE@example.org")
    assert duplicate.status_code == 400
    assert "existe déjà" in duplicate.text
    assert other.sign_up("not-an-email").status_code == 400
    assert other.sign_up("bob@example.org", password="short").status_code == 400
    assert other.sign_up("bob@example.org", name="   ").status_code == 400
    assert _count(web, users) == 1
    assert other.client.get("/api/v1/me").status_code == 401


def test_log_in_and_wrong_password(web: WebWorld) -> None:
    web.browser().sign_up("alice@example.org")
    browser = web.browser()
    wrong = browser.log_in("alice@example.org", "not the password")
    assert wrong.status_code == 401
    assert "incorrect" in wrong.text
    unknown = browser.log_in("nobody@example.org")
    assert unknown.status_code == 401
    assert browser.client.get("/api/v1/me").status_code == 401
    good = browser.log_in("Alice@Example.org")
    assert good.status_code == 303
    assert good.headers["location"] == "/dashboard"
    assert browser.client.get("/api/v1/me").json()["email"] == "alice@example.org"


def test_login_next_is_never_an_open_redirect(web: WebWorld) -> None:
    web.browser().sign_up("alice@example.org")
    browser = web.browser()
    token = browser.token("/login")
    answer = browser.client.post(
        "/login",
        data={
            "email": "alice@example.org",
            "password": PASSWORD,
            "next": "//evil.example/x",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard"


def test_rate_limit_per_email_then_it_lifts(web: WebWorld) -> None:
    web.browser().sign_up("alice@example.org")
    attacker = web.browser()
    for _ in range(5):
        assert attacker.log_in("alice@example.org", "guess guess").status_code == 401
    # Even the right password is refused while the lock holds, and nothing is recorded.
    locked = attacker.log_in("alice@example.org")
    assert locked.status_code == 429
    assert "Trop de tentatives" in locked.text
    assert attacker.client.get("/api/v1/me").status_code == 401
    assert _count(web, login_attempts) == 5
    web.world.later(minutes=16)
    assert attacker.log_in("alice@example.org").status_code == 303


def test_rate_limit_per_address(database_url: str) -> None:
    with web_world(database_url, login_max_failures_per_ip=3) as web:
        web.browser().sign_up("alice@example.org")
        attacker = web.browser()
        for n in range(3):
            assert attacker.log_in(f"user{n}@example.org", "guess guess").status_code == 401
        assert attacker.log_in("alice@example.org").status_code == 429
        web.world.later(minutes=16)
        assert attacker.log_in("alice@example.org").status_code == 303


def test_csrf_missing_or_invalid_is_refused_and_changes_nothing(web: WebWorld) -> None:
    browser = web.browser()
    browser.get("/signup")
    no_token = browser.client.post(
        "/signup",
        data={"email": "a@example.org", "password": PASSWORD, "display_name": "A"},
        follow_redirects=False,
    )
    assert no_token.status_code == 403
    forged = browser.client.post(
        "/signup",
        data={
            "email": "a@example.org",
            "password": PASSWORD,
            "display_name": "A",
            "csrf_token": "0" * 64,
        },
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert _count(web, users) == 0

    assert browser.sign_up("alice@example.org").status_code == 303
    # A token from another browser (another CSRF cookie) is worthless here.
    stranger_token = csrf_of(web.browser().client.get("/login").text)
    for token in ("", stranger_token):
        changed = browser.client.post(
            "/settings",
            data={"language": "en", "hide_amount": "1", "csrf_token": token},
            follow_redirects=False,
        )
        assert changed.status_code == 403
        logout = browser.client.post("/logout", data={"csrf_token": token})
        assert logout.status_code == 403
    me = browser.client.get("/api/v1/me").json()
    assert (me["language"], me["hide_amount"]) == ("fr", False)


def test_csrf_token_changes_with_the_session(web: WebWorld) -> None:
    browser = web.browser()
    before = browser.token("/signup")
    browser.sign_up("alice@example.org")
    after = browser.token("/settings")
    assert before != after
    stale = browser.client.post(
        "/settings", data={"language": "en", "csrf_token": before}, follow_redirects=False
    )
    assert stale.status_code == 403


def test_logout_ends_the_session_for_good(web: WebWorld) -> None:
    browser = web.browser()
    browser.sign_up("alice@example.org")
    old_cookie = browser.client.cookies.get("payez_session")
    assert old_cookie
    out = browser.submit("/logout", {}, form_page="/dashboard")
    assert out.status_code == 303
    assert _count(web, web_sessions) == 0
    assert browser.client.get("/api/v1/me").status_code == 401
    replay = web.browser()
    replay.client.cookies.set("payez_session", old_cookie)
    assert replay.client.get("/api/v1/me").status_code == 401


def test_pages_need_a_login(web: WebWorld) -> None:
    browser = web.browser()
    for path in ("/dashboard", "/onboarding", "/settings", "/dashboard/history.csv"):
        answer = browser.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == f"/login?next={path}"
    api = browser.client.get("/api/v1/me")
    assert api.status_code == 401
    assert api.json()["error"]["code"] == "not_authenticated"


def test_an_expired_session_logs_out(web: WebWorld) -> None:
    browser = web.browser()
    browser.sign_up("alice@example.org")
    web.world.later(days=web.world.ctx.settings.session_days, seconds=1)
    assert browser.client.get("/api/v1/me").status_code == 401
    assert browser.get("/dashboard").status_code == 303


def test_a_new_login_gets_a_new_session_id(web: WebWorld) -> None:
    browser = web.browser()
    browser.sign_up("alice@example.org")
    first = browser.client.cookies.get("payez_session")
    browser.log_in("alice@example.org")
    second = browser.client.cookies.get("payez_session")
    assert first and second and first != second
    with web.world.ctx.engine.connect() as conn:
        hashes = conn.execute(sa.select(web_sessions.c.token_hash)).scalars().all()
    assert hashes == [token_hash(second)]


def test_the_app_builds_on_its_defaults(web: WebWorld) -> None:
    app = create_app(web.world.ctx)
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
