"""``/webhooks/x`` over real HTTP: X's CRC challenge, signed deliveries only, and the mentions
they carry recorded in the inbox once, whoever (webhook or poller) brings them first."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from payez.adapters.db.engine import make_engine
from payez.adapters.db.tables.payments import inbox
from payez.adapters.networks.x import XNetwork
from payez.config import load_settings
from payez.entrypoints.web.app import create_app
from payez.service.context import ServiceContext
from payez.service.record_posts import poll_mentions
from tests.integration.network_server import ServedApp, serve
from tests.integration.x_server import RunningX, running_x


@dataclass
class Hook:
    x: RunningX
    app: ServedApp
    ctx: ServiceContext

    @property
    def url(self) -> str:
        return self.app.url + "/webhooks/x"

    def sign(self, body: bytes, secret: str | None = None) -> str:
        key = (secret or self.x.fake.consumer_secret).encode()
        return "sha256=" + base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()

    def delivery(self, *post_ids: str, for_user: str = "payez") -> bytes:
        payload = {
            "for_user_id": self.x.fake.user(for_user).id,
            "tweet_create_events": [self.x.fake.activity_event(i) for i in post_ids],
        }
        return json.dumps(payload).encode()

    def deliver(self, body: bytes, signature: str | None = "sign") -> requests.Response:
        headers = {"content-type": "application/json"}
        if signature == "sign":
            signature = self.sign(body)
        if signature is not None:
            headers["x-twitter-webhooks-signature"] = signature
        return requests.post(self.url, data=body, headers=headers, timeout=10)

    def inbox(self) -> list[dict[str, Any]]:
        with self.ctx.engine.connect() as conn:
            rows = conn.execute(sa.select(inbox).order_by(inbox.c.id))
            return [dict(r._mapping) for r in rows]


@pytest.fixture
def hook(sqlite_url: str) -> Iterator[Hook]:
    with running_x("alice", "bob", "carol") as x:
        settings = load_settings(x.settings(), database_url=sqlite_url)
        engine = make_engine(sqlite_url)
        network = XNetwork(**x.network_options(), request_timeout=5)
        ctx = ServiceContext(engine=engine, settings=settings, networks={"x": network})
        with serve(create_app(ctx)) as app:
            yield Hook(x, app, ctx)
        engine.dispose()


def test_the_crc_challenge_is_answered_with_the_consumer_secret(hook: Hook) -> None:
    answer = requests.get(hook.url, params={"crc_token": "challenge-123"}, timeout=10)
    assert answer.status_code == 200
    expected = hmac.new(b"consumer-secret", b"challenge-123", hashlib.sha256).digest()
    assert answer.json() == {"response_token": "sha256=" + base64.b64encode(expected).decode()}
    assert requests.get(hook.url, timeout=10).status_code == 400


def test_unsigned_or_badly_signed_deliveries_are_refused_and_change_nothing(hook: Hook) -> None:
    body = hook.delivery(hook.x.fake.post("alice", "@payez envoie 5€ à @bob"))
    other = hook.delivery(hook.x.fake.post("alice", "@payez envoie 6€ à @bob"))
    for signature in (
        None,
        "",
        "sha256=",
        hook.sign(body, secret="another-secret"),
        hook.sign(other),  # a real signature, of another body
        hook.sign(body)[len("sha256=") :],
        hook.sign(body) + "A",
    ):
        answer = hook.deliver(body, signature)
        assert answer.status_code == 401, signature
        assert answer.json()["error"]["code"] == "x_webhook_signature_invalid"
    french = requests.post(
        hook.url, data=body, headers={"accept-language": "fr-FR,fr;q=0.9"}, timeout=10
    )
    assert french.status_code == 401
    assert french.json()["error"]["message"] == "Signature du webhook X absente ou invalide."
    assert hook.inbox() == []


def test_a_signed_delivery_records_its_mentions_once(hook: Hook) -> None:
    fake = hook.x.fake
    command = fake.post("alice", "@payez envoie 5€ à @bob")
    chatter = fake.post("carol", "bonjour @bob")
    retweet = fake.retweet("carol", command)
    memo = "merci pour cette belle soirée, " * 12
    long_post = fake.post("bob", f"@payez envoie 2€ à @carol {memo}@alice")
    body = hook.delivery(command, chatter, retweet, long_post)

    answer = hook.deliver(body)
    assert answer.status_code == 200 and answer.json() == {"recorded": 3}
    rows = {r["post_id"]: r for r in hook.inbox()}
    assert set(rows) == {command, retweet, long_post}
    assert rows[command]["network"] == "x" and rows[command]["original_id"] == command
    assert rows[command]["author_id"] == fake.user("alice").id
    assert rows[command]["recipient_account_id"] == fake.user("bob").id
    assert rows[command]["text"] == "@payez envoie 5€ à @bob"
    assert rows[retweet]["is_repost"] and not rows[command]["is_repost"]
    assert rows[long_post]["text"] == f"@payez envoie 2€ à @carol {memo}@alice"  # not cut at 280
    assert rows[long_post]["recipient_account_id"] == fake.user("carol").id

    # X delivers again; the post is edited; the poller reads the mentions: nothing new.
    assert hook.deliver(body).json() == {"recorded": 0}
    edit = fake.edit(command, "@payez envoie 500€ à @bob")
    assert hook.deliver(hook.delivery(edit)).json() == {"recorded": 0}
    assert poll_mentions(hook.ctx, hook.ctx.networks["x"]) == 0
    assert len(hook.inbox()) == 3


def test_a_post_first_read_by_the_poller_is_not_recorded_again(hook: Hook) -> None:
    command = hook.x.fake.post("alice", "@payez envoie 5€ à @bob")
    assert poll_mentions(hook.ctx, hook.ctx.networks["x"]) == 1
    assert hook.deliver(hook.delivery(command)).json() == {"recorded": 0}
    assert [r["post_id"] for r in hook.inbox()] == [command]


def test_a_delivery_for_another_account_records_nothing(hook: Hook) -> None:
    command = hook.x.fake.post("alice", "@payez envoie 5€ à @bob")
    answer = hook.deliver(hook.delivery(command, for_user="carol"))
    assert answer.status_code == 200 and answer.json() == {"recorded": 0}
    unreadable = b'{"for_user_id": "1", "tweet_create_events": "nope"}'
    assert hook.deliver(unreadable).json() == {"recorded": 0}
    assert hook.deliver(b"not json").status_code == 400
    assert hook.inbox() == []


def test_without_x_configured_the_webhook_is_absent(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    ctx = ServiceContext(engine=engine, settings=load_settings({}, database_url=sqlite_url))
    try:
        with serve(create_app(ctx)) as app:
            url = app.url + "/webhooks/x"
            assert requests.get(url, params={"crc_token": "t"}, timeout=10).status_code == 404
            assert requests.post(url, data=b"{}", timeout=10).status_code == 404
    finally:
        engine.dispose()
