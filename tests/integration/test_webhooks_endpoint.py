"""The card endpoints of the web app: processor webhooks and the sandbox's 3-D Secure page.

Carol has 10 € and a card that asks for authentication; she sends 25 € to Bob, so the post is
parked while her card is charged 15 €. Whether the answer arrives by the authentication page
or by a webhook (twice, out of order, forged), the money moves once or not at all.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from payez.adapters.cards.stripe import StripeCardProcessor
from payez.adapters.cards.webhooks import signature_header
from payez.adapters.db.tables.card_charges import processed_webhooks
from payez.adapters.db.tables.payments import payments, users
from payez.entrypoints.web.app import create_app
from payez.ports.cards import CardProcessor
from payez.ports.network import Post
from payez.sandbox.cards import AUTHENTICATION_PATH, SandboxCardProcessor, charge_payload
from payez.service.fund_from_card import fund_waiting_posts
from payez.service.passwords import hash_password
from tests.integration.localstripe_server import LocalStripe, localstripe  # noqa: F401
from tests.integration.pipeline_world import World
from tests.integration.web_world import Browser, WebWorld

SECRET = "whsec_endpoint_tests"
PASSWORD = "correct horse battery"
NEEDS_AUTHENTICATION = "4000002500003155"
_LINK = re.compile(r"https?://\S+/sandbox/cards/authenticate/(\w+)")


@dataclass
class Scene:
    web: WebWorld
    cards: CardProcessor
    post: Post
    delivered: list[tuple[bytes, str]] = field(default_factory=list)

    @property
    def world(self) -> World:
        return self.web.world

    def charge_id(self) -> str:
        with self.world.ctx.engine.connect() as conn:
            return str(
                conn.execute(sa.text("SELECT processor_charge_id FROM card_charges")).scalar_one()
            )

    def charges(self) -> list[tuple[int, str]]:
        with self.world.ctx.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT amount_cents, status FROM card_charges"))
            return [(int(r[0]), str(r[1])) for r in rows]

    def balances(self) -> tuple[int, int]:
        return self.world.balance("carol"), self.world.balance("bob")

    def payment(self) -> tuple[str, str | None] | None:
        """The payment's (state, reason); None while the post is parked."""
        with self.world.ctx.engine.connect() as conn:
            row = conn.execute(
                sa.select(payments.c.state, payments.c.reason).where(
                    payments.c.post_id == self.post.id
                )
            ).first()
        return None if row is None else (str(row.state), row.reason)

    def processed(self) -> list[str]:
        with self.world.ctx.engine.connect() as conn:
            return [str(r) for r in conn.execute(sa.select(processed_webhooks.c.outcome)).scalars()]


@contextlib.contextmanager
def parked(database_url: str, make_cards: object) -> Iterator[Scene]:
    world = World.create(database_url)
    delivered: list[tuple[bytes, str]] = []
    assert callable(make_cards)
    cards: CardProcessor = make_cards(world, delivered)
    world.ctx.cards = cards
    carol = world.join("carol", cents=1000)
    world.join("bob")
    customer = cards.create_customer(
        reference="carol", email=None, idempotency_key=f"carol-{uuid.uuid4().hex}"
    )
    cards.attach_card(customer_id=customer, card_token=NEEDS_AUTHENTICATION)
    with world.ctx.engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == carol).values(card_customer_id=customer))
    post = world.post("carol", "@payez envoie 25€ à @bob")
    world.run()
    assert fund_waiting_posts(world.ctx) == 0  # the card needs its holder's answer
    world.run()
    web = WebWorld(world, create_app(world.ctx))
    scene = Scene(web, cards, post, delivered)
    try:
        assert scene.charges() == [(1500, "requires_action")]
        assert scene.balances() == (1000, 50_000)
        yield scene
    finally:
        web.close()


def _sandbox(world: World, delivered: list[tuple[bytes, str]]) -> SandboxCardProcessor:
    return SandboxCardProcessor(
        world.ctx.engine,
        webhook_secret=SECRET,
        base_url=world.ctx.settings.base_url,
        clock=world.clock,
        webhook_sink=lambda payload, header: delivered.append((payload, header)),
    )


@pytest.fixture
def sandbox(database_url: str) -> Iterator[Scene]:
    with parked(database_url, _sandbox) as scene:
        yield scene


def _deliver(browser: Browser, path: str, payload: bytes, header: str | None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Stripe-Signature"] = header
    answer = browser.client.post(path, content=payload, headers=headers)
    return answer.status_code, answer.json()


# -- the sandbox's authentication page -------------------------------------------------------


def test_the_link_sent_to_the_cardholder_opens_the_page(sandbox: Scene) -> None:
    (notice,) = sandbox.world.network.notices
    found = _LINK.search(notice.text)
    assert found, notice.text
    assert found.group(0).startswith(sandbox.world.ctx.settings.base_url)
    assert found.group(1) == sandbox.charge_id()
    page = sandbox.web.browser().get(AUTHENTICATION_PATH.format(charge_id=found.group(1)))
    assert page.status_code == 200
    assert "15,00" in page.text
    assert 'value="approve"' in page.text
    assert 'data-status="requires_action"' in page.text


def test_approving_settles_the_parked_payment_once(sandbox: Scene) -> None:
    browser = sandbox.web.browser()
    path = AUTHENTICATION_PATH.format(charge_id=sandbox.charge_id())
    form = {"decision": "approve", "csrf_token": browser.token(path)}
    answer = browser.client.post(path, data=form)
    assert answer.status_code == 200
    assert 'data-status="succeeded"' in answer.text
    again = browser.client.post(path, data=form)  # a second click changes nothing
    assert 'data-status="succeeded"' in again.text
    sandbox.world.run()
    assert sandbox.payment() == ("settled", None)
    assert sandbox.charges() == [(1500, "succeeded")]
    assert sandbox.balances() == (0, 52_500)
    # One event when the charge asked for authentication, one when it succeeded: no more,
    # however many clicks.
    assert [json.loads(p)["type"] for p, _ in sandbox.delivered] == [
        "payment_intent.requires_action",
        "payment_intent.succeeded",
    ]
    sandbox.world.assert_ledger_sound()


def test_refusing_refuses_the_payment_and_moves_nothing(sandbox: Scene) -> None:
    browser = sandbox.web.browser()
    path = AUTHENTICATION_PATH.format(charge_id=sandbox.charge_id())
    token = browser.token(path)
    answer = browser.client.post(path, data={"decision": "refuse", "csrf_token": token})
    assert 'data-status="failed"' in answer.text
    sandbox.world.run()
    assert sandbox.payment() == ("rejected", "funding_failed")
    assert sandbox.charges() == [(1500, "failed")]
    assert sandbox.balances() == (1000, 50_000)
    # Approving after a refusal is too late: the bank's answer is final.
    late = browser.client.post(path, data={"decision": "approve", "csrf_token": token})
    assert 'data-status="failed"' in late.text
    sandbox.world.run()
    assert sandbox.charges() == [(1500, "failed")]
    assert sandbox.balances() == (1000, 50_000)
    sandbox.world.assert_ledger_sound()


def test_the_page_refuses_a_form_without_csrf_and_unknown_charges(sandbox: Scene) -> None:
    browser = sandbox.web.browser()
    path = AUTHENTICATION_PATH.format(charge_id=sandbox.charge_id())
    browser.get(path)
    forged = browser.client.post(path, data={"decision": "approve"}, follow_redirects=False)
    assert forged.status_code == 403
    assert browser.get(AUTHENTICATION_PATH.format(charge_id="pi_sbx_unknown")).status_code == 404
    assert sandbox.charges() == [(1500, "requires_action")]
    assert sandbox.balances() == (1000, 50_000)


# -- webhooks ---------------------------------------------------------------------------------


def test_a_webhook_delivered_twice_moves_money_once(sandbox: Scene) -> None:
    assert isinstance(sandbox.cards, SandboxCardProcessor)
    sandbox.cards.complete_authentication(sandbox.charge_id(), True)
    (payload, header) = sandbox.delivered[-1]
    browser = sandbox.web.browser()
    assert _deliver(browser, "/webhooks/sandbox", payload, header) == (
        200,
        {"received": True, "outcome": "applied"},
    )
    assert _deliver(browser, "/webhooks/sandbox", payload, header)[1]["outcome"] == "duplicate"
    sandbox.world.run()
    assert sandbox.payment() == ("settled", None)
    assert sandbox.balances() == (0, 52_500)
    # The worker's own pass finds the charge already settled: nothing more moves.
    fund_waiting_posts(sandbox.world.ctx)
    sandbox.world.run()
    assert sandbox.balances() == (0, 52_500)
    assert sandbox.processed() == ["applied"]
    sandbox.world.assert_ledger_sound()


def test_a_failure_event_after_success_is_ignored(sandbox: Scene) -> None:
    assert isinstance(sandbox.cards, SandboxCardProcessor)
    charge_id = sandbox.charge_id()
    browser = sandbox.web.browser()
    waiting = sandbox.cards.retrieve_charge(charge_id)
    action = sandbox.cards.signed_event("payment_intent.requires_action", charge_payload(waiting))
    assert _deliver(browser, "/webhooks/sandbox", *action)[1]["outcome"] == "unchanged"
    succeeded = sandbox.cards.complete_authentication(charge_id, True)
    late_failure = sandbox.cards.signed_event(
        "payment_intent.payment_failed",
        {**charge_payload(succeeded), "status": "failed", "failure_code": "card_declined"},
    )
    on_time = sandbox.delivered[-1]
    assert _deliver(browser, "/webhooks/sandbox", *on_time)[1]["outcome"] == "applied"
    assert _deliver(browser, "/webhooks/sandbox", *late_failure)[1]["outcome"] == "unchanged"
    sandbox.world.run()
    assert sandbox.charges() == [(1500, "succeeded")]
    assert sandbox.payment() == ("settled", None)
    assert sandbox.balances() == (0, 52_500)
    sandbox.world.assert_ledger_sound()


def test_a_bad_signature_is_refused_logged_and_changes_nothing(
    sandbox: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    assert isinstance(sandbox.cards, SandboxCardProcessor)
    sandbox.cards.complete_authentication(sandbox.charge_id(), True)
    (payload, header) = sandbox.delivered[-1]
    event_id = json.loads(payload)["id"]
    forged = signature_header(payload, "whsec_not_ours", int(sandbox.world.clock.now().timestamp()))
    browser = sandbox.web.browser()
    with caplog.at_level(logging.WARNING, logger="payez.entrypoints.web.cards"):
        for body, signature in (
            (payload, forged),
            (payload, None),
            (payload.replace(b"succeeded", b"failed"), header),
        ):
            status, answer = _deliver(browser, "/webhooks/sandbox", body, signature)
            assert status == 400
            assert answer["error"]["code"] == "webhook_signature_invalid"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert all(event_id in w for w in warnings)
    assert not any(sandbox.charge_id() in w for w in warnings)  # the payload is never logged
    assert sandbox.processed() == []
    assert sandbox.charges() == [(1500, "requires_action")]
    assert sandbox.payment() is None  # still parked, waiting for the card
    assert sandbox.balances() == (1000, 50_000)


def test_the_endpoint_of_another_processor_is_not_there(sandbox: Scene) -> None:
    (payload, header) = sandbox.cards.signed_event(  # type: ignore[attr-defined]
        "payment_intent.succeeded", {"id": sandbox.charge_id()}
    )
    status, _ = _deliver(sandbox.web.browser(), "/webhooks/stripe", payload, header)
    assert status == 404
    assert sandbox.processed() == []


# -- Stripe, against localstripe -------------------------------------------------------------


def test_stripe_webhooks_are_verified_and_applied_once(
    database_url: str,
    localstripe: LocalStripe,  # noqa: F811
) -> None:
    def make(world: World, delivered: list[tuple[bytes, str]]) -> StripeCardProcessor:
        return StripeCardProcessor(
            localstripe.api_key, webhook_secret=SECRET, api_base=localstripe.base_url
        )

    with parked(database_url, make) as scene:
        charge_id = scene.charge_id()
        localstripe.authenticate(charge_id, approve=True)
        payload = json.dumps(
            {
                "id": f"evt_{uuid.uuid4().hex}",
                "object": "event",
                "type": "payment_intent.succeeded",
                "data": {"object": {"id": charge_id, "object": "payment_intent"}},
            }
        ).encode()
        header = signature_header(payload, SECRET, int(time.time()))
        browser = scene.web.browser()
        bad = signature_header(payload, "whsec_wrong", int(time.time()))
        assert _deliver(browser, "/webhooks/stripe", payload, bad)[0] == 400
        assert scene.processed() == []
        assert _deliver(browser, "/webhooks/stripe", payload, header) == (
            200,
            {"received": True, "outcome": "applied"},
        )
        assert _deliver(browser, "/webhooks/stripe", payload, header)[1]["outcome"] == "duplicate"
        assert _deliver(browser, "/webhooks/sandbox", payload, header)[0] == 404
        scene.world.run()
        assert scene.payment() == ("settled", None)
        assert scene.charges() == [(1500, "succeeded")]
        assert scene.balances() == (0, 52_500)
        scene.world.assert_ledger_sound()


def test_the_cardholder_finishes_stripe_authentication_on_our_page(
    database_url: str,
    localstripe: LocalStripe,  # noqa: F811
) -> None:
    def make(world: World, delivered: list[tuple[bytes, str]]) -> StripeCardProcessor:
        return StripeCardProcessor(
            localstripe.api_key, webhook_secret=SECRET, api_base=localstripe.base_url
        )

    with parked(database_url, make) as scene:
        charge_id = scene.charge_id()
        path = f"/cards/authenticate/{charge_id}"
        carol = scene.world.users["carol"]
        with scene.world.ctx.engine.begin() as conn:
            conn.execute(
                users.update()
                .where(users.c.id == carol)
                .values(email="carol@example.org", password_hash=hash_password(PASSWORD))
            )
        anonymous = scene.web.browser()
        assert anonymous.client.get(path, follow_redirects=False).status_code in (302, 303)
        mallory = scene.web.browser()
        assert mallory.sign_up("mallory@example.org", name="Mallory").status_code == 303
        assert mallory.get(path).status_code == 404  # someone else's charge does not exist
        holder = scene.web.browser()
        assert holder.log_in("carol@example.org", PASSWORD).status_code == 303
        page = holder.get(path)
        assert page.status_code == 200
        assert json.dumps(scene.cards.authentication(charge_id)[0]) in page.text  # type: ignore[attr-defined]
        assert "handleNextAction" in page.text
        assert scene.balances() == (1000, 50_000)
        localstripe.authenticate(charge_id, approve=True)  # what Stripe.js does in her browser
        done = holder.get(path + "/done")
        assert 'data-status="succeeded"' in done.text
        scene.world.run()
        assert scene.payment() == ("settled", None)
        assert scene.charges() == [(1500, "succeeded")]
        assert scene.balances() == (0, 52_500)
        scene.world.assert_ledger_sound()
