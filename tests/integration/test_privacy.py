"""Data rights: the export of everything about a user, account closure, unlinking and relinking
a network account, and handles followed when a network account is renamed."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import payez.entrypoints.cli.ledger  # noqa: F401  (registers `payez ledger check`)
from payez.adapters.db import payment_flags as flags_repo
from payez.adapters.db import web_accounts
from payez.adapters.db.metadata import metadata
from payez.adapters.db.personal_data import NOT_ABOUT_A_USER, SOURCES
from payez.adapters.db.tables.account_links import email_link_requests
from payez.adapters.db.tables.payments import payments, social_links, users
from payez.adapters.db.tables.second_factor import totp_secrets
from payez.adapters.db.tables.web import login_attempts, web_sessions
from payez.domain.money import Money
from payez.domain.payments import PaymentState
from payez.entrypoints.cli.common import app as cli
from payez.service.close_account import ClosureBalanceNotZero, ClosureSomethingPending
from payez.service.create_payment_request import create_payment_request
from payez.service.email_outbox import Letter, queue_email
from payez.service.link_social_account import link_social_account
from payez.service.load_wallet import load_wallet
from payez.service.open_account import link_network_account, open_user
from payez.service.public_profile import set_public_profile
from payez.service.request_payout import request_payout_on
from tests.integration.sandbox_server import Sandbox
from tests.integration.test_schema import load_every_table_module
from tests.integration.web_world import (
    PASSWORD,
    Browser,
    WebWorld,
    authorize_on_sandbox,
    oauth_sandbox,
    web_world,
)

ALICE_EMAIL = "alice.private@example.org"
ALICE_NAME = "Alice Secretname"
BOB_EMAIL = "bob.private@example.org"
BOB_NAME = "Bob Hiddenname"
IBAN = "FR7630006000011234567890189"


@pytest.fixture
def web(database_url: str) -> Iterator[WebWorld]:
    with web_world(database_url) as world:
        yield world


# Session digests, keys and tokens: random letters and digits, no personal data.
_RANDOM_TOKEN = re.compile(r"[0-9A-Za-z_-]{32,}")


def _person(web: WebWorld, email: str, name: str, handle: str, cents: int = 0) -> Browser:
    """A person signed up on the web, verified, with ``cents`` and a linked network account."""
    browser = web.browser()
    assert browser.sign_up(email, name).status_code == 303
    user_id = browser.user_id()
    world = web.world
    account = world.accounts.get(handle) or world.stranger(handle)
    world.users[handle] = user_id
    link_social_account(world.ctx, user_id, "memory", account)
    with world.ctx.engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == user_id).values(identity_verified=True))
        if cents:
            load_wallet(conn, user_id, Money.eur(cents), f"load:{handle}")
    return browser


def _export(browser: Browser) -> dict[str, Any]:
    answer = browser.submit("/settings/privacy/export", {}, form_page="/settings/privacy")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    files = {name: archive.read(name).decode() for name in archive.namelist()}
    return files


def _rows(files: dict[str, Any], table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(files[f"{table}.json"])
    return rows


def _rich_world(web: WebWorld) -> tuple[Browser, Browser]:
    """Alice sent and received payments, sent a claim, asked a payout, and has a flag."""
    alice = _person(web, ALICE_EMAIL, ALICE_NAME, "alice", cents=50_000)
    bob = _person(web, BOB_EMAIL, BOB_NAME, "bob", cents=50_000)
    world = web.world
    world.stranger("dave")
    sent = world.post("alice", "@payez envoie 12€ à @bob merci")
    received = world.post("bob", "@payez envoie 5€ à @alice pour le café")
    claim = world.post("alice", "@payez envoie 3€ à @dave")
    world.run()
    assert world.payment_for(sent)["state"] == "settled"
    assert world.payment_for(received)["state"] == "settled"
    assert world.payment_for(claim)["state"] == "held_for_claim"
    create_payment_request(
        world.ctx, world.users["alice"], amount="5", reason="pour le café", uses="many"
    )
    set_public_profile(world.ctx, world.users["alice"], "alice")
    now = world.clock.now()
    flagged = world.payment_for(sent)["id"]
    with world.ctx.engine.begin() as conn:
        request_payout_on(
            conn,
            user_id=world.users["alice"],
            amount=Money.eur(1_000),
            iban=IBAN,
            creditor_name=ALICE_NAME,
            now=now,
        )
        flags_repo.insert_flags(
            conn,
            [
                {
                    "payment_id": flagged,
                    "rule": "test_rule",
                    "detail": "looked at",
                    "state": "open",
                    "created_at": now,
                }
            ],
        )
        queue_email(
            conn,
            kind="test",
            to=ALICE_EMAIL,
            language="fr",
            letter=Letter("Bonjour", "Hello", "Texte", "Text"),
            idempotency_key="privacy-test-alice",
            now=now,
            user_id=world.users["alice"],
        )
        web_accounts.insert_card(
            conn,
            user_id=world.users["alice"],
            processor="sandbox",
            payment_method_id="pm_alice",
            brand="visa",
            last4="4242",
            now=now,
        )
    return alice, bob


def test_every_table_is_exported_or_said_not_about_a_user() -> None:
    load_every_table_module()
    sources = [s.table.name for s in SOURCES]
    assert len(sources) == len(set(sources)), "a table is listed twice"
    assert not set(sources) & set(NOT_ABOUT_A_USER), "a table is both about a user and not"
    forgotten = set(metadata.tables) - set(sources) - set(NOT_ABOUT_A_USER)
    assert forgotten == set(), f"say whether these tables hold data about a user: {forgotten}"
    assert set(NOT_ABOUT_A_USER) <= set(metadata.tables), "a table listed no longer exists"
    for source in SOURCES:
        assert source.why, source.table.name
        assert set(source.omit) <= set(source.table.c.keys()), source.table.name
        assert all(source.omit.values()), f"{source.table.name}: say why a column is left out"
    assert all(NOT_ABOUT_A_USER.values())


def _keys(table: sa.Table, row: Any) -> tuple[Any, ...]:
    return tuple(str(row[c.name]) for c in table.primary_key.columns)


def test_export_holds_every_row_about_the_user_and_nothing_private_of_others(
    web: WebWorld,
) -> None:
    alice, _bob = _rich_world(web)
    assert web.browser().log_in(ALICE_EMAIL).status_code == 303  # a second device
    files = _export(alice)
    world = web.world
    me = world.users["alice"]
    load_every_table_module()
    with world.ctx.engine.connect() as conn:
        wallet = conn.execute(
            sa.select(users.c.wallet_account_id).where(users.c.id == me)
        ).scalar_one()
        for name, table in metadata.tables.items():
            if name in NOT_ABOUT_A_USER:
                continue
            # Found here independently of the export's own rules: any column naming the user,
            # their email or their wallet.
            conditions = [
                c == me
                for c in table.c
                if any(fk.column.table.name == "users" for fk in c.foreign_keys)
            ]
            conditions += [
                table.c[c] == ALICE_EMAIL for c in ("email", "to_address") if c in table.c
            ]
            conditions += [
                table.c[c] == wallet
                for c in ("debit_account_id", "credit_account_id")
                if c in table.c
            ]
            if name == "users" or name == "ledger_accounts":
                conditions.append(table.c.id == (me if name == "users" else wallet))
            if name == "ledger_account_names":
                conditions.append(table.c.account_id == wallet)
            if not conditions:
                continue
            expected = {
                _keys(table, r._mapping)
                for r in conn.execute(sa.select(table).where(sa.or_(*conditions)))
            }
            exported = {_keys(table, r) for r in _rows(files, name)}
            assert expected <= exported, f"{name}: rows about the user missing from the export"
        mine = conn.execute(
            sa.select(payments.c.id).where(
                sa.or_(payments.c.sender_user_id == me, payments.c.recipient_user_id == me)
            )
        ).scalars()
        assert {p["id"] for p in _rows(files, "payments")} == set(mine)
    assert len(_rows(files, "payments")) == 3  # sent, received, the claim
    assert {p["state"] for p in _rows(files, "payments")} == {"settled", "held_for_claim"}
    assert len(_rows(files, "payouts")) == 1
    assert len(_rows(files, "payment_flags")) == 1
    assert [c["last4"] for c in _rows(files, "user_cards")] == ["4242"]
    assert len(_rows(files, "web_sessions")) == 2
    assert any(a["email"] == ALICE_EMAIL for a in _rows(files, "login_attempts"))
    assert _rows(files, "users")[0]["email"] == ALICE_EMAIL
    assert _rows(files, "users")[0]["display_name"] == ALICE_NAME
    assert "password_hash" not in _rows(files, "users")[0]
    assert "token_hash" not in _rows(files, "web_sessions")[0]
    assert "web_sessions.csv" in files and "payments.csv" in files
    about = json.loads(files["about.json"])
    assert about["files"]["web_sessions"]["left_out"]["token_hash"]
    # The other side of a payment is their public handle, never their name or email.
    received = next(p for p in _rows(files, "payments") if p["recipient_user_id"] == me)
    assert received["sender_user_id"] == "@bob"
    everything = "\n".join(files.values())
    assert BOB_EMAIL not in everything
    assert BOB_NAME not in everything


def test_export_needs_a_login_and_the_form_token(web: WebWorld) -> None:
    alice, _bob = _rich_world(web)
    forged = alice.client.post("/settings/privacy/export", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert forged.headers["content-type"] != "application/zip"
    stranger = web.browser()
    token = stranger.token("/login")
    answer = stranger.client.post(
        "/settings/privacy/export", data={"csrf_token": token}, follow_redirects=False
    )
    assert answer.headers.get("content-type") != "application/zip"
    assert answer.status_code in (302, 303, 401)


def _close(browser: Browser, password: str = PASSWORD) -> Any:
    return browser.submit(
        "/settings/privacy/close", {"password": password}, form_page="/settings/privacy"
    )


def _snapshot(web: WebWorld) -> list[Any]:
    with web.world.ctx.engine.connect() as conn:
        return [
            list(conn.execute(sa.select(users).order_by(users.c.id))),
            list(conn.execute(sa.select(social_links).order_by(social_links.c.id))),
            list(conn.execute(sa.select(web_sessions.c.id).order_by(web_sessions.c.id))),
        ]


def test_closure_is_refused_with_money_left_something_pending_or_a_wrong_password(
    web: WebWorld,
) -> None:
    alice, _bob = _rich_world(web)
    before = _snapshot(web)
    wrong = _close(alice, "not my password")
    assert wrong.status_code == 400
    assert _snapshot(web) == before
    # A payout in flight and a claim held: something pending, whatever the balance.
    pending = _close(alice)
    assert pending.status_code == 409
    assert ClosureSomethingPending.message_fr in _alert(pending.text)
    assert _snapshot(web) == before

    carol = _person(web, "carol@example.org", "Carol", "carol", cents=2_000)
    money_left = _close(carol)
    assert money_left.status_code == 409
    assert ClosureBalanceNotZero.message_fr in _alert(money_left.text)
    assert 'href="/payouts"' in money_left.text
    assert carol.user_id() == web.world.users["carol"]  # still logged in, still there


def _alert(page: str) -> str:
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', page)
    assert found, "the page shows no error"
    return html.unescape(found.group(1))


def test_closure_waits_for_a_payment_awaiting_confirmation(database_url: str) -> None:
    with web_world(database_url, confirm="always") as web:
        carol = _person(web, "carol@example.org", "Carol", "carol", cents=1_000)
        _person(web, BOB_EMAIL, BOB_NAME, "bob")
        post = web.world.post("carol", "@payez envoie 10€ à @bob")
        web.world.run()
        assert web.world.payment_for(post)["state"] == "awaiting_confirmation"
        refused = _close(carol)
        assert refused.status_code == 409
        assert ClosureSomethingPending.message_fr in _alert(refused.text)
        with web.world.ctx.engine.connect() as conn:
            status = conn.execute(
                sa.select(users.c.status).where(users.c.id == web.world.users["carol"])
            ).scalar_one()
        assert status == "active"


def _strings_in(conn: sa.Connection, table: sa.Table) -> Iterator[str]:
    columns = [c for c in table.c if isinstance(c.type, sa.String | sa.Text)]
    if not columns:
        return
    for row in conn.execute(sa.select(*columns)):
        yield from (str(v) for v in row if v is not None)


def test_a_closed_account_keeps_only_the_retained_records_and_its_handle_starts_afresh(
    web: WebWorld,
) -> None:
    world = web.world
    # A login-less account a claim once opened for @alice, handed over when she links it.
    with world.ctx.engine.begin() as conn:
        old_id = open_user(conn, kind="person", display_name="alice", now=world.clock.now())
        link_network_account(conn, world.ctx, old_id, "memory", world.stranger("alice"))
    alice = _person(web, ALICE_EMAIL, ALICE_NAME, "alice", cents=2_000)
    _person(web, BOB_EMAIL, BOB_NAME, "bob", cents=5_000)
    me = world.users["alice"]
    with world.ctx.engine.connect() as conn:
        adopted_by = conn.execute(
            sa.select(users.c.adopted_by_user_id).where(users.c.id == old_id)
        ).scalar_one()
    assert adopted_by == me
    world.post("bob", "@payez envoie 5€ à @alice merci")
    world.run()
    world.post("alice", "@payez envoie 25€ à @bob tout mon solde")
    world.run()
    assert world.balance("alice") == 0
    with world.ctx.engine.begin() as conn:
        web_accounts.insert_card(
            conn,
            user_id=me,
            processor="sandbox",
            payment_method_id="pm_alice",
            brand="visa",
            last4="9876",
            now=world.clock.now(),
        )
        conn.execute(
            totp_secrets.insert().values(
                user_id=me, secret_sealed="sealed", created_at=world.clock.now()
            )
        )
    closed = _close(alice)
    assert closed.status_code == 200, closed.text
    assert "payez_session" not in alice.client.cookies

    load_every_table_module()
    retained = {s.table.name for s in SOURCES if s.on_closure == "keep"}
    personal = (ALICE_EMAIL, ALICE_NAME, "4242", "9876")
    with world.ctx.engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.id == me)).one()
        assert (row.display_name, row.email, row.password_hash, row.status) == (
            f"closed-{me}",
            None,
            None,
            "closed",
        )
        assert row.closed_at is not None
        for name, table in metadata.tables.items():
            if name in retained or name in NOT_ABOUT_A_USER:
                continue
            for value in _strings_in(conn, table):
                for secret in personal:
                    if secret.isdigit() and _RANDOM_TOKEN.fullmatch(value):
                        continue  # a digest of 32+ random characters holds any 4 digits at times
                    assert secret not in value, f"{name} still holds {secret!r}"
                assert value not in ("alice", "@alice"), f"{name} still holds the handle"
            naming = [
                c == me
                for c in table.c
                if any(fk.column.table.name == "users" for fk in c.foreign_keys)
            ]
            if naming and name != "users":
                left = conn.execute(sa.select(table).where(sa.or_(*naming))).all()
                assert left == [], f"{name} still has rows of the closed user"
        assert conn.execute(sa.select(social_links).where(social_links.c.user_id == me)).all() == []
        assert conn.execute(sa.select(web_sessions).where(web_sessions.c.user_id == me)).all() == []
        assert conn.execute(sa.select(totp_secrets).where(totp_secrets.c.user_id == me)).all() == []
        # The payments stay, under the pseudonym.
        kept = conn.execute(
            sa.select(sa.func.count()).where(
                sa.or_(payments.c.sender_user_id == me, payments.c.recipient_user_id == me)
            )
        ).scalar_one()
        assert kept == 2
        entry = conn.execute(
            sa.text("SELECT action, operator_user_id FROM audit_log WHERE target = :t"),
            {"t": f"user:{me}"},
        ).all()
        assert [tuple(e) for e in entry] == [("account.close", me)]

    assert alice.log_in(ALICE_EMAIL).status_code == 401
    check = CliRunner().invoke(
        cli, ["ledger", "check", "--database-url", world.ctx.settings.database_url]
    )
    assert check.exit_code == 0, check.output

    # The old handle paid: a claim for whoever holds the account now.
    later = world.post("bob", "@payez envoie 4€ à @alice encore")
    world.run()
    assert world.payment_for(later)["state"] == PaymentState.HELD_FOR_CLAIM.value
    newcomer = web.browser()
    assert newcomer.sign_up("new.alice@example.org", "New Alice").status_code == 303
    new_id = newcomer.user_id()
    credited = link_social_account(world.ctx, new_id, "memory", world.accounts["alice"])
    assert credited == Money.eur(400)
    world.users["new"] = new_id
    assert world.balance("new") == 400
    history = newcomer.get("/dashboard/history.csv").text
    assert "merci" not in history and "tout mon solde" not in history
    with world.ctx.engine.connect() as conn:
        theirs = conn.execute(
            sa.select(payments.c.memo).where(
                sa.or_(payments.c.sender_user_id == new_id, payments.c.recipient_user_id == new_id)
            )
        ).scalars()
        assert list(theirs) == ["encore"]


def test_unlink_keeps_the_money_later_payments_become_claims_and_relinking_collects_them(
    web: WebWorld,
) -> None:
    world = web.world
    alice = _person(web, ALICE_EMAIL, ALICE_NAME, "alice")
    _person(web, BOB_EMAIL, BOB_NAME, "bob", cents=5_000)
    first = world.post("bob", "@payez envoie 5€ à @alice")
    world.run()
    assert world.payment_for(first)["state"] == "settled"
    page = alice.get("/settings/privacy")
    assert "@alice" in page.text
    account_id = world.accounts["alice"].id
    # Another user cannot unlink alice's account: unknown to them, nothing changes.
    bob_browser = web.browsers[1]
    refused = bob_browser.submit(
        "/settings/privacy/unlink",
        {"network": "memory", "account_id": account_id},
        form_page="/settings/privacy",
    )
    assert refused.status_code == 404
    done = alice.submit(
        "/settings/privacy/unlink",
        {"network": "memory", "account_id": account_id},
        form_page="/settings/privacy",
    )
    assert done.status_code == 303
    with world.ctx.engine.connect() as conn:
        assert (
            conn.execute(
                sa.select(social_links).where(social_links.c.account_id == account_id)
            ).all()
            == []
        )
    assert world.balance("alice") == 500
    second = world.post("bob", "@payez envoie 3€ à @alice")
    world.run()
    assert world.payment_for(second)["state"] == "held_for_claim"
    assert world.balance("alice") == 500
    credited = link_social_account(
        world.ctx, world.users["alice"], "memory", world.accounts["alice"]
    )
    assert credited == Money.eur(300)
    assert world.balance("alice") == 800
    third = world.post("bob", "@payez envoie 1€ à @alice")
    world.run()
    assert world.payment_for(third)["state"] == "settled"


def _stored_handle(web: WebWorld, account_id: str) -> str:
    with web.world.ctx.engine.connect() as conn:
        return str(
            conn.execute(
                sa.select(social_links.c.handle).where(social_links.c.account_id == account_id)
            ).scalar_one()
        )


def test_a_renamed_author_is_followed_by_the_account_id_and_the_handle_updated(
    web: WebWorld,
) -> None:
    world = web.world
    _person(web, ALICE_EMAIL, ALICE_NAME, "alice", cents=5_000)
    _person(web, BOB_EMAIL, BOB_NAME, "bob")
    account = world.accounts["alice"]
    renamed = world.network.rename_account(account, "alicia")
    world.accounts["alice"] = renamed
    post = world.post("alice", "@payez envoie 2€ à @bob")
    world.run()
    assert world.payment_for(post)["state"] == "settled"
    assert world.payment_for(post)["sender_user_id"] == world.users["alice"]
    assert _stored_handle(web, account.id) == "alicia"
    # A link made again after a rename stores the new handle too.
    again = world.network.rename_account(renamed, "alice_b")
    link_social_account(world.ctx, world.users["alice"], "memory", again)
    assert _stored_handle(web, account.id) == "alice_b"
    with world.ctx.engine.connect() as conn:
        links = conn.execute(
            sa.select(sa.func.count()).where(social_links.c.user_id == world.users["alice"])
        ).scalar_one()
    assert links == 1


def test_a_closed_account_cannot_use_an_old_session(web: WebWorld) -> None:
    world = web.world
    alice = _person(web, ALICE_EMAIL, ALICE_NAME, "alice")
    other_device = web.browser()
    assert other_device.log_in(ALICE_EMAIL).status_code == 303
    assert _close(alice).status_code == 200
    assert other_device.client.get("/api/v1/me").status_code == 401
    with world.ctx.engine.connect() as conn:
        attempts = conn.execute(
            sa.select(sa.func.count()).where(login_attempts.c.email == ALICE_EMAIL)
        ).scalar_one()
    assert attempts == 0


def test_login_attempts_are_deleted_after_the_retention_period(web: WebWorld) -> None:
    world = web.world
    _person(web, ALICE_EMAIL, ALICE_NAME, "alice")
    assert web.browser().log_in(ALICE_EMAIL, "wrong password").status_code == 401

    def attempts() -> int:
        with world.ctx.engine.connect() as conn:
            query = sa.select(sa.func.count()).where(login_attempts.c.email == ALICE_EMAIL)
            return int(conn.execute(query).scalar_one())

    assert attempts() == 1
    world.later(days=world.ctx.settings.login_attempts_days - 1)
    assert web.browser().log_in(ALICE_EMAIL).status_code == 303
    assert attempts() == 2
    world.later(days=2)
    assert web.browser().log_in(ALICE_EMAIL).status_code == 303
    assert attempts() == 2  # the first one is gone, the newest recorded


def test_requests_for_emailed_links_are_deleted_after_the_retention_period(
    web: WebWorld,
) -> None:
    world = web.world

    def requests() -> int:
        with world.ctx.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(email_link_requests)
            return int(conn.execute(query).scalar_one())

    browser = web.browser()
    assert browser.submit("/password/forgot", {"email": ALICE_EMAIL}).status_code == 200
    assert requests() == 1
    world.later(days=world.ctx.settings.login_attempts_days + 1)
    assert browser.submit("/password/forgot", {"email": BOB_EMAIL}).status_code == 200
    assert requests() == 1  # the old one is gone, the newest recorded


def test_unlink_and_relink_a_sandbox_account_from_the_web(database_url: str) -> None:
    with oauth_sandbox(database_url) as sandbox, web_world(database_url, sandbox=sandbox) as web:
        _unlink_and_relink(web, sandbox)


def _unlink_and_relink(web: WebWorld, sandbox: Sandbox) -> None:
    sandbox.user("alice", "alice-secret")
    browser = web.browser()
    assert browser.sign_up(ALICE_EMAIL, ALICE_NAME).status_code == 303
    linked = authorize_on_sandbox(browser, "/onboarding/link/sandbox", "alice", "alice-secret")
    assert linked.headers["location"] == "/onboarding?done=link"
    assert 'href="/settings/privacy#links"' in browser.get("/onboarding").text
    account_id = sandbox.account_uri("alice")
    page = browser.get("/settings/privacy")
    assert f'value="{account_id}"' in page.text
    done = browser.submit(
        "/settings/privacy/unlink",
        {"network": "sandbox", "account_id": account_id},
        form_page="/settings/privacy",
    )
    assert done.headers["location"] == "/settings/privacy?done=unlink"
    assert browser.client.get("/api/v1/me").json()["linked_accounts"] == []
    again = authorize_on_sandbox(browser, "/onboarding/link/sandbox", "alice", "alice-secret")
    assert again.headers["location"] == "/onboarding?done=link"
    assert browser.client.get("/api/v1/me").json()["linked_accounts"] == [
        {"network": "sandbox", "handle": "alice"}
    ]
