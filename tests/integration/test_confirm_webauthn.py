"""Passkeys: registered and used through the pages, with a software authenticator that speaks
the documented WebAuthn formats. A forged or replayed assertion moves nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec

from payez.adapters.db.tables.second_factor import webauthn_credentials
from tests.integration.confirm_world import (
    SoftAuthenticator,
    Waiting,
    b64url,
    member,
    outcome_of,
    passkey_options,
    payment_state,
    waiting_payment,
)
from tests.integration.web_world import Browser, WebWorld, web_world


@dataclass
class Scene:
    web: WebWorld
    alice: Browser
    payment: Waiting
    device: SoftAuthenticator


def _register(web: WebWorld, browser: Browser, device: SoftAuthenticator, **forge: str) -> int:
    page = browser.get("/settings/security").text
    credential = device.create(passkey_options(page, "passkey-create"), **forge)
    answer = browser.submit(
        "/settings/security/passkey", {"credential": credential}, form_page="/settings/security"
    )
    return answer.status_code


@pytest.fixture
def scene(database_url: str) -> Iterator[Scene]:
    with web_world(database_url, confirm="always") as web:
        alice = member(web, "alice@example.org", "alice", 10_000)
        member(web, "bob@example.org", "bob", 0)
        payment = waiting_payment(web, "alice", "@payez envoie 12€ à @bob fleurs")
        device = SoftAuthenticator.for_site(web)
        assert _register(web, alice, device) == 303
        yield Scene(web, alice, payment, device)


def _stored_sign_count(web: WebWorld) -> int:
    with web.world.ctx.engine.connect() as conn:
        return int(conn.execute(sa.select(webauthn_credentials.c.sign_count)).scalar_one())


def _confirm_page_options(scene: Scene) -> dict[str, object]:
    page = scene.alice.get(scene.payment.path)
    assert page.status_code == 200, page.text
    return passkey_options(page.text, "passkey-get")


def _post(scene: Scene, credential: str) -> tuple[int, str]:
    answer = scene.alice.submit(scene.payment.path, {"method": "passkey", "credential": credential})
    return answer.status_code, answer.text


def _nothing_moved(scene: Scene) -> None:
    assert (scene.web.world.balance("alice"), scene.web.world.balance("bob")) == (10_000, 0)
    assert payment_state(scene.web, scene.payment.payment_id)[0] == "awaiting_confirmation"


def test_a_registered_passkey_confirms_the_payment_once(scene: Scene) -> None:
    page = scene.alice.get("/settings/security").text
    assert '<span id="passkey-count">1</span>' in page
    options = _confirm_page_options(scene)
    status, body = _post(scene, scene.device.get(options))
    assert (status, outcome_of(body)) == (200, "done")
    assert (scene.web.world.balance("alice"), scene.web.world.balance("bob")) == (8_800, 1_200)
    assert _stored_sign_count(scene.web) == 1
    # The same assertion again: already confirmed, and its challenge is spent anyway.
    status, body = _post(scene, scene.device.get(options, sign_count=2))
    assert (status, outcome_of(body)) == (200, "already")
    assert (scene.web.world.balance("alice"), scene.web.world.balance("bob")) == (8_800, 1_200)
    scene.web.world.assert_ledger_sound()


def test_a_bad_signature_is_refused(scene: Scene) -> None:
    options = _confirm_page_options(scene)
    other_key = ec.generate_private_key(ec.SECP256R1())
    status, body = _post(scene, scene.device.get(options, key=other_key))
    assert status == 400
    assert 'id="confirm-error"' in body
    _nothing_moved(scene)
    assert _stored_sign_count(scene.web) == 0


def test_an_assertion_for_a_challenge_we_did_not_issue_is_refused(scene: Scene) -> None:
    options = _confirm_page_options(scene)
    status, _ = _post(scene, scene.device.get(options, challenge=b64url(b"x" * 32)))
    assert status == 400
    _nothing_moved(scene)


def test_a_registration_challenge_cannot_confirm_a_payment(scene: Scene) -> None:
    options = _confirm_page_options(scene)
    registration = passkey_options(scene.alice.get("/settings/security").text, "passkey-create")
    status, _ = _post(scene, scene.device.get(options, challenge=registration["challenge"]))
    assert status == 400
    _nothing_moved(scene)


def test_an_expired_challenge_is_refused(scene: Scene) -> None:
    options = _confirm_page_options(scene)
    scene.web.world.later(minutes=6)  # challenges live five minutes
    status, _ = _post(scene, scene.device.get(options))
    assert status == 400
    _nothing_moved(scene)


def test_a_replayed_or_cloned_sign_count_is_refused(scene: Scene) -> None:
    # A first use moves the counter to 5 on a second payment of the same sender...
    scene.device.sign_count = 4
    other = waiting_payment(scene.web, "alice", "@payez envoie 3€ à @bob café")
    page = scene.alice.get(other.path).text
    first = scene.device.get(passkey_options(page, "passkey-get"))
    answer = scene.alice.submit(other.path, {"method": "passkey", "credential": first})
    assert (answer.status_code, outcome_of(answer.text)) == (200, "done")
    assert _stored_sign_count(scene.web) == 5
    # ...so a fresh challenge signed with a counter that does not move forward is refused.
    options = _confirm_page_options(scene)
    status, _ = _post(scene, scene.device.get(options, sign_count=5))
    assert status == 400
    options = _confirm_page_options(scene)
    status, _ = _post(scene, scene.device.get(options, sign_count=3))
    assert status == 400
    assert payment_state(scene.web, scene.payment.payment_id)[0] == "awaiting_confirmation"
    assert scene.web.world.balance("bob") == 300
    assert _stored_sign_count(scene.web) == 5


def test_the_same_assertion_cannot_be_used_twice(scene: Scene) -> None:
    options = _confirm_page_options(scene)
    assertion = scene.device.get(options, key=ec.generate_private_key(ec.SECP256R1()))
    assert _post(scene, assertion)[0] == 400  # spends the challenge even though it failed
    good_but_spent = scene.device.get(options)
    assert _post(scene, good_but_spent)[0] == 400
    _nothing_moved(scene)
    # The authenticator itself is fine: with a challenge of its own it confirms.
    status, body = _post(scene, scene.device.get(_confirm_page_options(scene)))
    assert (status, outcome_of(body)) == (200, "done")


def test_a_registration_from_another_origin_is_refused(database_url: str) -> None:
    with web_world(database_url, confirm="always") as web:
        mallory = member(web, "mallory@example.org", "mallory", 0)
        device = SoftAuthenticator.for_site(web)
        assert _register(web, mallory, device, origin="https://evil.example") == 400
        assert _register(web, mallory, device) == 303
        assert _register(web, mallory, device) == 400  # the same credential twice
        with web.world.ctx.engine.connect() as conn:
            count = conn.execute(
                sa.select(sa.func.count()).select_from(webauthn_credentials)
            ).scalar_one()
        assert count == 1
