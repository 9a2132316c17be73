"""The confirmation page with a one-time code: money moves once, and only for its sender.

Alice's first payment (40 € to Bob) waits for confirmation under the PSD2 rule. Every test
checks the balances and the payment's state, not only the page: a refused confirmation must
leave Bob's wallet untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from payez.adapters.db.tables.payments import users
from payez.adapters.db.tables.second_factor import totp_secrets
from payez.service.create_payment_request import create_payment_request
from payez.service.expire_payments import expire_confirmations
from payez.service.my_payment_requests import my_payment_request
from payez.service.second_factor import MAX_CONFIRMATION_ATTEMPTS
from tests.integration.confirm_world import (
    Waiting,
    code_now,
    enrol_totp,
    member,
    outcome_of,
    payment_state,
    waiting_payment,
)
from tests.integration.web_world import Browser, WebWorld, web_world


@dataclass
class Scene:
    web: WebWorld
    alice: Browser
    eve: Browser
    payment: Waiting


@pytest.fixture
def scene(database_url: str) -> Iterator[Scene]:
    with web_world(database_url, confirm="psd2") as web:
        alice = member(web, "alice@example.org", "alice", 10_000)
        member(web, "bob@example.org", "bob", 0)
        eve = member(web, "eve@example.org", "eve", 0)
        payment = waiting_payment(web, "alice", "@payez envoie 40€ à @bob loyer de mars")
        yield Scene(web, alice, eve, payment)


def _post_code(browser: Browser, payment: Waiting, code: str) -> tuple[int, str]:
    answer = browser.submit(payment.path, {"method": "totp", "code": code})
    return answer.status_code, answer.text


def _balances(web: WebWorld) -> tuple[int, int]:
    return web.world.balance("alice"), web.world.balance("bob")


def test_an_unenrolled_sender_enrols_first_and_comes_back(scene: Scene) -> None:
    first = scene.alice.get(scene.payment.path)
    assert first.status_code == 303
    assert first.headers["location"] == f"/settings/security?next={scene.payment.path}"
    enrol_totp(scene.web, scene.alice, next_path=scene.payment.path)
    page = scene.alice.get(scene.payment.path)
    assert page.status_code == 200
    assert "40,00" in page.text
    assert "@bob" in page.text
    assert "loyer de mars" in page.text
    assert "premier paiement" in page.text  # why: the PSD2 rule confirms a first payment
    assert _balances(scene.web) == (10_000, 0)


def test_a_valid_code_moves_the_money_once(scene: Scene) -> None:
    secret = enrol_totp(scene.web, scene.alice)
    status, page = _post_code(scene.alice, scene.payment, code_now(scene.web, secret))
    assert (status, outcome_of(page)) == (200, "done")
    assert _balances(scene.web) == (6_000, 4_000)
    assert payment_state(scene.web, scene.payment.payment_id) == ("settled", None)
    with scene.web.world.ctx.engine.connect() as conn:
        confirmed_at = conn.execute(
            sa.select(users.c.last_confirmation_at).where(
                users.c.id == scene.web.world.users["alice"]
            )
        ).scalar_one()
    assert confirmed_at is not None  # the PSD2 counters start again from here

    # The same form again (a double click, a second tab): already confirmed, nothing moves.
    status, page = _post_code(scene.alice, scene.payment, code_now(scene.web, secret))
    assert (status, outcome_of(page)) == (200, "already")
    scene.web.world.later(seconds=30)
    status, page = _post_code(scene.alice, scene.payment, code_now(scene.web, secret))
    assert (status, outcome_of(page)) == (200, "already")
    reopened = scene.alice.get(scene.payment.path)
    assert (reopened.status_code, outcome_of(reopened.text)) == (200, "already")
    scene.web.world.run()
    assert _balances(scene.web) == (6_000, 4_000)
    assert len(scene.web.world.replies_to(scene.payment.post)) == 2  # asked, then confirmed
    scene.web.world.assert_ledger_sound()


def test_a_code_is_good_once(scene: Scene) -> None:
    secret = enrol_totp(scene.web, scene.alice)
    scene.web.world.later(seconds=-30)  # back to the step whose code enabled the app
    status, page = _post_code(scene.alice, scene.payment, code_now(scene.web, secret))
    assert status == 400
    assert 'id="confirm-error"' in page
    assert _balances(scene.web) == (10_000, 0)
    assert payment_state(scene.web, scene.payment.payment_id)[0] == "awaiting_confirmation"


def test_an_expired_request_moves_nothing(scene: Scene) -> None:
    secret = enrol_totp(scene.web, scene.alice)
    scene.web.world.later(minutes=16)  # past PAYEZ_CONFIRMATION_TTL_MINUTES (15)
    opened = scene.alice.get(scene.payment.path)
    assert (opened.status_code, outcome_of(opened.text)) == (410, "expired")
    status, page = _post_code(scene.alice, scene.payment, code_now(scene.web, secret))
    assert (status, outcome_of(page)) == (410, "expired")
    assert _balances(scene.web) == (10_000, 0)
    expire_confirmations(scene.web.world.ctx)  # the timer releases the hold
    assert payment_state(scene.web, scene.payment.payment_id) == (
        "rejected",
        "confirmation_expired",
    )
    status, page = _post_code(scene.alice, scene.payment, code_now(scene.web, secret))
    assert (status, outcome_of(page)) == (410, "expired")
    assert _balances(scene.web) == (10_000, 0)
    scene.web.world.assert_ledger_sound()


def test_another_logged_in_user_gets_a_404_and_moves_nothing(scene: Scene) -> None:
    eve_secret = enrol_totp(scene.web, scene.eve)
    assert scene.eve.get(scene.payment.path).status_code == 404
    status, _page = _post_code(scene.eve, scene.payment, code_now(scene.web, eve_secret))
    assert status == 404
    assert scene.eve.get("/confirm/not-a-real-token-at-all").status_code == 404
    assert _balances(scene.web) == (10_000, 0)
    assert payment_state(scene.web, scene.payment.payment_id)[0] == "awaiting_confirmation"


def test_a_visitor_logs_in_and_comes_back(scene: Scene) -> None:
    secret = enrol_totp(scene.web, scene.alice)
    stranger = scene.web.browser()
    redirected = stranger.get(scene.payment.path)
    assert redirected.status_code == 303
    assert redirected.headers["location"] == f"/login?next={scene.payment.path}"
    logged_in = stranger.submit(
        "/login",
        {
            "email": "alice@example.org",
            "password": "correct horse battery",
            "next": scene.payment.path,
        },
        form_page=redirected.headers["location"],
    )
    assert logged_in.status_code == 303
    assert logged_in.headers["location"] == scene.payment.path
    status, page = _post_code(stranger, scene.payment, code_now(scene.web, secret))
    assert (status, outcome_of(page)) == (200, "done")
    assert _balances(scene.web) == (6_000, 4_000)


def test_wrong_codes_move_nothing_and_attempts_are_limited(scene: Scene) -> None:
    secret = enrol_totp(scene.web, scene.alice)
    good = code_now(scene.web, secret)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    for _ in range(MAX_CONFIRMATION_ATTEMPTS - 1):
        status, page = _post_code(scene.alice, scene.payment, wrong)
        assert status == 400
        assert 'id="confirm-error"' in page
    status, page = _post_code(scene.alice, scene.payment, "12ab56")
    assert (status, outcome_of(page)) == (429, "locked")
    # Locked: even the right code is refused now, and the page says so.
    status, page = _post_code(scene.alice, scene.payment, good)
    assert (status, outcome_of(page)) == (429, "locked")
    opened = scene.alice.get(scene.payment.path)
    assert (opened.status_code, outcome_of(opened.text)) == (429, "locked")
    assert _balances(scene.web) == (10_000, 0)
    assert payment_state(scene.web, scene.payment.payment_id)[0] == "awaiting_confirmation"


def test_a_form_without_its_csrf_token_is_refused(scene: Scene) -> None:
    secret = enrol_totp(scene.web, scene.alice)
    answer = scene.alice.client.post(
        scene.payment.path,
        data={"method": "totp", "code": code_now(scene.web, secret)},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert _balances(scene.web) == (10_000, 0)


def test_the_secret_is_sealed_at_rest(scene: Scene) -> None:
    secret = enrol_totp(scene.web, scene.alice)
    with scene.web.world.ctx.engine.connect() as conn:
        stored = conn.execute(sa.select(totp_secrets.c.secret_sealed)).scalar_one()
    assert secret not in stored
    assert scene.alice.get("/settings/security").text.count(secret) == 0  # shown only once


def test_a_double_click_sent_at_once_moves_the_money_once(scene: Scene) -> None:
    secret = enrol_totp(scene.web, scene.alice)
    form = {
        "method": "totp",
        "code": code_now(scene.web, secret),
        "csrf_token": scene.alice.token(scene.payment.path),
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(
            pool.map(lambda _: scene.alice.client.post(scene.payment.path, data=form), range(2))
        )
    outcomes = sorted(outcome_of(a.text) for a in answers)
    assert outcomes == ["already", "done"]
    assert _balances(scene.web) == (6_000, 4_000)
    scene.web.world.assert_ledger_sound()


def test_a_request_paid_by_someone_else_meanwhile_is_not_paid_again(database_url: str) -> None:
    """Alice's payment for Bob's paid-once request waits for her code; Eve pays the request
    first. Confirming then moves nothing, and says why."""
    with web_world(database_url, confirm="psd2") as web:
        alice = member(web, "alice@example.org", "alice", 10_000)
        member(web, "bob@example.org", "bob", 0)
        member(web, "eve@example.org", "eve", 10_000)
        world = web.world
        made = create_payment_request(
            world.ctx, world.users["bob"], amount="40", reason="loyer de mars", uses="once"
        )
        code = my_payment_request(world.ctx, world.users["bob"], made).request.code
        command = f"@payez envoie 40€ à @bob #r{code} loyer de mars"
        waiting = waiting_payment(web, "alice", command)
        psd2 = world.ctx.settings
        world.ctx.settings = psd2.with_overrides(confirm="never")
        eve_pays = world.post("eve", command)
        world.run()
        assert world.payment_for(eve_pays)["state"] == "settled"
        world.ctx.settings = psd2

        secret = enrol_totp(web, alice)
        status, page = _post_code(alice, waiting, code_now(web, secret))
        assert (status, outcome_of(page)) == (410, "request_closed")
        assert "déjà payée, annulée ou expirée" in page
        assert payment_state(web, waiting.payment_id) == ("rejected", "request_closed")
        assert (world.balance("alice"), world.balance("bob"), world.balance("eve")) == (
            10_000,
            4_000,
            6_000,
        )
        world.assert_ledger_sound()


def test_a_post_deleted_before_its_confirmation_is_cancelled_for_good(scene: Scene) -> None:
    secret = enrol_totp(scene.web, scene.alice)
    scene.web.world.network.delete(scene.payment.post.id)
    status, page = _post_code(scene.alice, scene.payment, code_now(scene.web, secret))
    assert (status, outcome_of(page)) == (410, "closed")
    # The hold is released and stays released: the payment is closed, not still waiting.
    assert payment_state(scene.web, scene.payment.payment_id) == ("cancelled", "post_deleted")
    assert _balances(scene.web) == (10_000, 0)
    scene.web.world.assert_ledger_sound()
