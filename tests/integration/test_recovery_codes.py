"""Second-factor recovery: codes that come with the first factor and are shown once, a code that
confirms a payment once, removing a factor only with another, and the operator's reset.

Login asks only for the password in Payez; the second factor is asked where money moves (the
payment confirmation) and for security changes, so that is where a recovery code is proven:
Alice loses her phone, confirms her payment with a recovery code, and that code then no longer
works.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from payez.adapters.db.emails import sent_to
from payez.adapters.db.tables.recovery_codes import recovery_code_reveals, recovery_codes
from payez.adapters.db.tables.second_factor import totp_secrets, webauthn_credentials
from payez.entrypoints.cli import app
from payez.service.operators import grant_operator
from payez.service.recovery_codes import use_recovery_code
from payez.service.second_factor import MAX_CONFIRMATION_ATTEMPTS
from tests.integration.confirm_world import (
    SoftAuthenticator,
    Waiting,
    code_now,
    enrol_totp,
    member,
    outcome_of,
    passkey_options,
    payment_state,
    waiting_payment,
)
from tests.integration.web_world import PASSWORD, Browser, WebWorld, web_world

CODES_PATH = "/settings/security/recovery-codes"
_CODE = re.compile(r'<code class="recovery-code">([A-Z2-7-]+)</code>')
_SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')
_LEFT = re.compile(r'<span id="recovery-left">(\d+)</span>')
_DOWNLOAD = re.compile(
    r'id="recovery-download" download="[^"]+" href="data:text/plain;[^,]*,([^"]+)"'
)


@dataclass
class Scene:
    web: WebWorld
    alice: Browser
    payment: Waiting
    database_url: str

    @property
    def ctx(self) -> Any:
        return self.web.world.ctx

    @property
    def alice_id(self) -> int:
        return self.web.world.users["alice"]

    def balances(self) -> tuple[int, int]:
        return self.web.world.balance("alice"), self.web.world.balance("bob")

    def emails(self, kind: str) -> list[str]:
        with self.ctx.engine.connect() as conn:
            return [e.text for e in sent_to(conn, "alice@example.org") if e.kind == kind]

    def count(self, table: sa.Table) -> int:
        with self.ctx.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


@pytest.fixture
def scene(database_url: str) -> Iterator[Scene]:
    with web_world(database_url, confirm="always") as web:
        alice = member(web, "alice@example.org", "alice", 10_000)
        member(web, "bob@example.org", "bob", 0)
        payment = waiting_payment(web, "alice", "@payez envoie 40€ à @bob loyer")
        yield Scene(web, alice, payment, database_url)


def shown_codes(browser: Browser) -> list[str]:
    page = browser.get(CODES_PATH)
    assert page.status_code == 200
    return _CODE.findall(page.text)


def codes_left(browser: Browser) -> int:
    found = _LEFT.search(browser.get("/settings/security").text)
    assert found
    return int(found.group(1))


def confirm_with(browser: Browser, payment: Waiting, code: str, method: str = "recovery") -> Any:
    return browser.submit(payment.path, {"method": method, "code": code})


def register_passkey(web: WebWorld, browser: Browser, device: SoftAuthenticator) -> Any:
    page = browser.get("/settings/security").text
    credential = device.create(passkey_options(page, "passkey-create"))
    return browser.submit(
        "/settings/security/passkey", {"credential": credential}, form_page="/settings/security"
    )


def test_the_first_factor_comes_with_ten_codes_shown_once_and_stored_hashed(
    scene: Scene,
) -> None:
    enrol_totp(scene.web, scene.alice)
    page = scene.alice.get(CODES_PATH)
    assert page.headers["cache-control"] == "no-store"
    codes = _CODE.findall(page.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}", c) for c in codes)
    download = _DOWNLOAD.search(page.text)
    assert download
    assert all(c in unquote(download.group(1)) for c in codes)
    assert 'id="recovery-saved" href="/settings/security"' in page.text

    again = scene.alice.get(CODES_PATH)
    assert _CODE.findall(again.text) == []
    assert 'id="recovery-gone"' in again.text
    assert codes_left(scene.alice) == 10

    # Only keyed hashes are kept: no code, with or without its dashes, is in the database.
    with scene.ctx.engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(sa.select(recovery_codes))]
        reveals = conn.execute(sa.select(recovery_code_reveals)).all()
    assert len(stored) == 10 and reveals == []
    dump = repr(stored)
    assert not any(c in dump or c.replace("-", "") in dump for c in codes)


def test_codes_nobody_came_to_see_are_not_kept(scene: Scene) -> None:
    enrol_totp(scene.web, scene.alice)
    assert scene.count(recovery_code_reveals) == 1
    scene.web.world.later(minutes=16)  # past the 15 minutes a fresh set waits to be shown
    assert shown_codes(scene.alice) == []
    assert scene.count(recovery_code_reveals) == 0
    assert codes_left(scene.alice) == 10  # the codes work; new ones can be made to see them


def test_removing_a_passkey_takes_a_code_from_the_app_not_the_passkey_itself(
    scene: Scene,
) -> None:
    secret = enrol_totp(scene.web, scene.alice)
    device = SoftAuthenticator.for_site(scene.web)
    assert register_passkey(scene.web, scene.alice, device).status_code == 303
    with scene.ctx.engine.connect() as conn:
        passkey_id = int(conn.execute(sa.select(webauthn_credentials.c.id)).scalar_one())
    path = f"/settings/security/passkeys/{passkey_id}/remove"
    options = passkey_options(scene.alice.get("/settings/security").text, "passkey-get")
    itself = scene.alice.submit(
        path,
        {"method": "passkey", "credential": device.get(options)},
        form_page="/settings/security",
    )
    assert itself.status_code == 400
    assert scene.count(webauthn_credentials) == 1
    removed = scene.alice.submit(
        path,
        {"method": "totp", "code": code_now(scene.web, secret)},
        form_page="/settings/security",
    )
    assert removed.status_code == 303
    assert scene.count(webauthn_credentials) == 0
    assert scene.count(totp_secrets) == 1 and codes_left(scene.alice) == 10
    assert len(scene.emails("second_factor_removed")) == 1


def test_enrolling_sends_to_the_codes_then_back_and_a_second_factor_brings_none(
    scene: Scene,
) -> None:
    device = SoftAuthenticator.for_site(scene.web)
    first = register_passkey(scene.web, scene.alice, device)
    assert first.status_code == 303
    assert first.headers["location"].startswith(f"{CODES_PATH}?next=")
    assert len(shown_codes(scene.alice)) == 10
    second = register_passkey(scene.web, scene.alice, SoftAuthenticator.for_site(scene.web))
    assert (second.status_code, second.headers["location"]) == (
        303,
        "/settings/security?done=passkey",
    )
    assert shown_codes(scene.alice) == []
    assert scene.count(recovery_codes) == 10

    # Enrolled on the way to a page, the codes page leads on to it.
    carol = member(scene.web, "carol@example.org", "carol", 0)
    carol.submit("/settings/security/totp", {"next": "/dashboard"}, form_page="/settings/security")
    secret = _SECRET.search(carol.get("/settings/security").text)
    assert secret
    enabled = carol.submit(
        "/settings/security/totp/verify",
        {"code": code_now(scene.web, secret.group(1)), "next": "/dashboard"},
        form_page="/settings/security",
    )
    assert enabled.headers["location"] == f"{CODES_PATH}?next=/dashboard"
    assert 'id="recovery-saved" href="/dashboard"' in carol.get(enabled.headers["location"]).text


def test_a_lost_phone_a_recovery_code_confirms_once_then_no_longer_works(scene: Scene) -> None:
    enrol_totp(scene.web, scene.alice)
    codes = shown_codes(scene.alice)
    code = codes[3]
    assert 'id="recovery-code"' in scene.alice.get(scene.payment.path).text
    # Typed the way people type: lower case, spaces instead of dashes.
    answer = confirm_with(scene.alice, scene.payment, code.lower().replace("-", " "))
    assert (answer.status_code, outcome_of(answer.text)) == (200, "done")
    assert scene.balances() == (6_000, 4_000)
    notices = scene.emails("recovery_code_used")
    assert len(notices) == 1 and "9" in notices[0]
    assert codes_left(scene.alice) == 9

    second = waiting_payment(scene.web, "alice", "@payez envoie 5€ à @bob café")
    again = confirm_with(scene.alice, second, code)
    assert again.status_code == 400
    assert 'id="confirm-error"' in again.text
    assert payment_state(scene.web, second.payment_id)[0] == "awaiting_confirmation"
    assert scene.balances() == (6_000, 4_000)
    assert len(scene.emails("recovery_code_used")) == 1

    # Another code of the set still works.
    other = confirm_with(scene.alice, second, codes[4])
    assert outcome_of(other.text) == "done"
    assert scene.balances() == (5_500, 4_500)
    assert codes_left(scene.alice) == 8
    scene.web.world.assert_ledger_sound()


def test_wrong_recovery_codes_count_toward_the_attempt_limit(scene: Scene) -> None:
    enrol_totp(scene.web, scene.alice)
    good = shown_codes(scene.alice)[0]
    for _ in range(MAX_CONFIRMATION_ATTEMPTS):
        answer = confirm_with(scene.alice, scene.payment, "AAAA-BBBB-CCCC")
        assert answer.status_code in (400, 429)
    locked = confirm_with(scene.alice, scene.payment, good)
    assert (locked.status_code, outcome_of(locked.text)) == (429, "locked")
    assert codes_left(scene.alice) == 10  # the good code was not spent on a locked payment
    assert scene.balances() == (10_000, 0)
    assert scene.emails("recovery_code_used") == []


def test_new_codes_replace_the_old_ones(scene: Scene) -> None:
    secret = enrol_totp(scene.web, scene.alice)
    old = shown_codes(scene.alice)
    # The password alone does not make codes: it is what login already asks.
    refused = scene.alice.submit(
        f"{CODES_PATH}/renew",
        {"method": "recovery", "code": "", "password": PASSWORD},
        form_page="/settings/security",
    )
    assert refused.status_code == 400
    wrong = scene.alice.submit(
        f"{CODES_PATH}/renew",
        {"method": "totp", "code": "000000"},
        form_page="/settings/security",
    )
    assert wrong.status_code == 400
    assert scene.emails("recovery_codes_renewed") == []
    renewed = scene.alice.submit(
        f"{CODES_PATH}/renew",
        {"method": "totp", "code": code_now(scene.web, secret)},
        form_page="/settings/security",
    )
    assert (renewed.status_code, renewed.headers["location"]) == (303, CODES_PATH)
    new = shown_codes(scene.alice)
    assert len(new) == 10 and not set(new) & set(old)
    assert scene.count(recovery_codes) == 10
    assert len(scene.emails("recovery_codes_renewed")) == 1

    stale = confirm_with(scene.alice, scene.payment, old[0])
    assert stale.status_code == 400
    assert scene.balances() == (10_000, 0)
    fresh = confirm_with(scene.alice, scene.payment, new[0])
    assert outcome_of(fresh.text) == "done"
    assert scene.balances() == (6_000, 4_000)

    # Password and a recovery code renew too (a user whose factor is gone).
    both = scene.alice.submit(
        f"{CODES_PATH}/renew",
        {"method": "recovery", "code": new[1], "password": PASSWORD},
        form_page="/settings/security",
    )
    assert both.status_code == 303
    assert not set(shown_codes(scene.alice)) & set(new)


def test_removing_a_factor_takes_another(scene: Scene) -> None:
    secret = enrol_totp(scene.web, scene.alice)
    codes = shown_codes(scene.alice)
    device = SoftAuthenticator.for_site(scene.web)
    assert register_passkey(scene.web, scene.alice, device).status_code == 303

    # The factor itself does not prove its own removal.
    itself = scene.alice.submit(
        "/settings/security/totp/remove",
        {"method": "totp", "code": code_now(scene.web, secret)},
        form_page="/settings/security",
    )
    assert itself.status_code == 400
    assert scene.count(totp_secrets) == 1

    # A passkey proves it.
    options = passkey_options(scene.alice.get("/settings/security").text, "passkey-get")
    removed = scene.alice.submit(
        "/settings/security/totp/remove",
        {"method": "passkey", "credential": device.get(options)},
        form_page="/settings/security",
    )
    assert (removed.status_code, removed.headers["location"]) == (
        303,
        "/settings/security?done=removed",
    )
    assert scene.count(totp_secrets) == 0
    assert len(scene.emails("second_factor_removed")) == 1
    assert codes_left(scene.alice) == 10  # a factor remains: so do the codes

    # The last factor: a recovery code alone is not enough, the password is asked too.
    with scene.ctx.engine.connect() as conn:
        passkey_id = int(conn.execute(sa.select(webauthn_credentials.c.id)).scalar_one())
    path = f"/settings/security/passkeys/{passkey_id}/remove"
    alone = scene.alice.submit(
        path, {"method": "recovery", "code": codes[0]}, form_page="/settings/security"
    )
    assert alone.status_code == 400
    bad_password = scene.alice.submit(
        path,
        {"method": "recovery", "code": codes[0], "password": "not the password"},
        form_page="/settings/security",
    )
    assert bad_password.status_code == 400
    assert scene.count(webauthn_credentials) == 1
    assert codes_left(scene.alice) == 10  # refused changes spend no code
    last = scene.alice.submit(
        path,
        {"method": "recovery", "code": codes[0], "password": PASSWORD},
        form_page="/settings/security",
    )
    assert last.status_code == 303
    assert scene.count(webauthn_credentials) == 0
    assert scene.count(recovery_codes) == 0  # no factor left: the codes go with it
    assert len(scene.emails("second_factor_removed")) == 2
    # The payment now asks to enrol again.
    assert scene.alice.get(scene.payment.path).status_code == 303


def test_failed_proofs_are_rate_limited(scene: Scene) -> None:
    enrol_totp(scene.web, scene.alice)
    good = shown_codes(scene.alice)[0]
    limit = scene.ctx.settings.login_max_failures
    for _ in range(limit):
        answer = scene.alice.submit(
            "/settings/security/recovery-codes/renew",
            {"method": "totp", "code": "123456"},
            form_page="/settings/security",
        )
        assert answer.status_code == 400
    blocked = scene.alice.submit(
        "/settings/security/totp/remove",
        {"method": "recovery", "code": good, "password": PASSWORD},
        form_page="/settings/security",
    )
    assert blocked.status_code == 429
    assert scene.count(totp_secrets) == 1
    assert codes_left(scene.alice) == 10


def test_one_code_used_concurrently_passes_once(postgres_url: str) -> None:
    with web_world(postgres_url, confirm="always") as web:
        alice = member(web, "alice@example.org", "alice", 0)
        enrol_totp(web, alice)
        code = shown_codes(alice)[0]
        user_id = web.world.users["alice"]
        start = threading.Barrier(8)

        def use() -> bool:
            start.wait()
            return use_recovery_code(web.world.ctx, user_id, code)

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(lambda _: use(), range(8)))
        assert outcomes.count(True) == 1
        with web.world.ctx.engine.connect() as conn:
            used = [e for e in sent_to(conn, "alice@example.org") if e.kind == "recovery_code_used"]
        assert len(used) == 1


# -- the operator's reset --------------------------------------------------------------------


def _audit(scene: Scene) -> list[tuple[Any, ...]]:
    with scene.ctx.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT operator_user_id, action, target, details FROM audit_log "
                    "WHERE action = 'second_factor.reset' ORDER BY id"
                )
            )
        ]


def test_an_operator_resets_factors_after_a_recheck_with_a_reason(scene: Scene) -> None:
    enrol_totp(scene.web, scene.alice)
    assert (
        register_passkey(scene.web, scene.alice, SoftAuthenticator.for_site(scene.web)).status_code
        == 303
    )
    operator = member(scene.web, "ops@example.org", "ops", 0)
    operator_id = grant_operator(scene.ctx, "ops@example.org")
    page = f"/backoffice/users/{scene.alice_id}"
    reset = f"{page}/second-factors/reset"

    # Anyone else: forbidden, nothing changes.
    eve = member(scene.web, "eve@example.org", "eve", 0)
    forbidden = eve.submit(reset, {"reference": "x", "reason": "y"}, form_page="/settings")
    assert forbidden.status_code == 403

    # No re-check reference, or no reason: refused, nothing changes.
    for data in (
        {"reference": "", "reason": "phone lost"},
        {"reference": "CALL-42", "reason": " "},
    ):
        refused = operator.submit(reset, data, form_page=page)
        assert refused.status_code == 400
    assert (scene.count(totp_secrets), scene.count(webauthn_credentials)) == (1, 1)
    assert _audit(scene) == []
    assert scene.alice.get("/settings/security").status_code == 200

    done = operator.submit(
        reset,
        {"reference": "CALL-42 passport checked", "reason": "phone and codes lost"},
        form_page=page,
    )
    assert (done.status_code, done.headers["location"]) == (303, f"{page}?done=factors_reset")
    assert (scene.count(totp_secrets), scene.count(webauthn_credentials)) == (0, 0)
    assert scene.count(recovery_codes) == 0
    [(by, action, target, details)] = _audit(scene)
    assert (by, action, target) == (operator_id, "second_factor.reset", f"user:{scene.alice_id}")
    recorded = json.loads(details)
    assert recorded["reference"] == "CALL-42 passport checked"
    assert recorded["reason"] == "phone and codes lost"
    assert recorded["factors"] == 2
    # Alice's session ended: she logs in again, and enrols a factor at her next payment.
    assert scene.alice.get("/settings/security").status_code == 303
    assert len(scene.emails("second_factors_reset")) == 1
    assert scene.alice.log_in("alice@example.org").status_code == 303
    assert scene.alice.get(scene.payment.path).status_code == 303
    assert 'id="factors-count">0<' in operator.get(page).text


def test_the_command_line_resets_too_and_refuses_without_a_reference(scene: Scene) -> None:
    enrol_totp(scene.web, scene.alice)
    # No PAYEZ_* variable of the machine leaks into the command.
    runner = CliRunner(env={k: None for k in os.environ if k.startswith("PAYEZ_")})
    base = ["accounts", "reset-factors", "alice@example.org", "--database-url", scene.database_url]
    refused = runner.invoke(app, [*base, "--reason", "lost everything"])
    assert refused.exit_code == 2
    assert "identity_recheck_reference_required" in refused.output
    assert scene.count(totp_secrets) == 1
    done = runner.invoke(app, [*base, "--reference", "DESK-7", "--reason", "lost everything"])
    assert done.exit_code == 0, done.output
    assert "1 factor(s) removed" in done.output
    assert scene.count(totp_secrets) == 0
    [(by, action, _target, details)] = _audit(scene)
    assert (by, action) == (None, "second_factor.reset")
    assert json.loads(details)["reference"] == "DESK-7"
    assert len(scene.emails("second_factors_reset")) == 1


def test_no_code_is_good_for_another_user(scene: Scene) -> None:
    enrol_totp(scene.web, scene.alice)
    alice_code = shown_codes(scene.alice)[0]
    bob = scene.web.world.users["bob"]
    assert not use_recovery_code(scene.ctx, bob, alice_code)
    assert codes_left(scene.alice) == 10
    assert use_recovery_code(scene.ctx, scene.alice_id, alice_code)
    assert codes_left(scene.alice) == 9
