"""One-click publishing of a listing through the network port, on a network other than the
sandbox (the in-memory one): as the merchant, with the token they granted, by the outbox —
published once whatever the sender does twice, and bought by a reply to the published post.
On the sandbox, through the real Mastodon adapter: the demo merchant here, a merchant linking
by OAuth in test_merchants_listings.py."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from payez.adapters.db import outbox as outbox_repo
from payez.adapters.db import users as users_repo
from payez.adapters.db.engine import make_engine
from payez.adapters.db.tables.payments import listings, outbox, social_links
from payez.adapters.networks.mastodon import MastodonNetwork
from payez.config import load_settings
from payez.domain.payments import PaymentState
from payez.sandbox.bootstrap import sandbox_base_url
from payez.sandbox.demo import seed_demo
from payez.sandbox.network.instance import sandbox_urls
from payez.service.context import ServiceContext
from payez.service.create_listing import create_draft, public_listing
from payez.service.link_social_account import link_social_account
from payez.service.network_tokens import open_token
from payez.service.publish_listing import NoPublishingGrant, publish_listing
from payez.service.send_outbox import CLAIM_LEASE, send_outbox
from tests.integration.merchants_world import member
from tests.integration.sandbox_server import running_sandbox
from tests.integration.web_world import Browser, WebWorld, web_world

_LISTING = re.compile(r"^/listings/(\d+)$")


@pytest.fixture
def web(database_url: str) -> Iterator[WebWorld]:
    with web_world(database_url) as world:
        yield world


def _merchant(web: WebWorld, handle: str = "boutique", *, grant: bool = True) -> Browser:
    """A merchant linked on the in-memory network; with ``grant``, they let Payez post as them."""
    shop = member(web, handle, kind="merchant")
    if grant:
        _grant(web, handle)
    return shop


def _grant(web: WebWorld, handle: str) -> str:
    world = web.world
    account = world.accounts[handle]
    token = world.network.token_for(account)
    link_social_account(world.ctx, world.users[handle], "memory", account, publishing_token=token)
    return token


def _draft(shop: Browser, title: str = "Affiche", price: str = "12,50", stock: str = "3") -> str:
    answer = shop.submit(
        "/merchant/listings",
        {"title": title, "price": price, "stock": stock},
        form_page="/merchant",
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def _publish(shop: Browser, draft: str) -> str:
    answer = shop.submit(
        draft + "/publish", {"network": "memory", "language": "fr"}, form_page=draft
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def _listed_posts(web: WebWorld) -> list[tuple[str, str]]:
    with web.world.ctx.engine.connect() as conn:
        return [
            (str(n), str(p))
            for n, p in conn.execute(sa.select(listings.c.network, listings.c.post_id))
        ]


def test_publishing_on_the_memory_network_then_a_buy_reply_settles(web: WebWorld) -> None:
    world = web.world
    shop = _merchant(web)
    member(web, "alice", cents=5_000)
    draft = _draft(shop)
    assert "Publier en tant que @boutique (memory)" in shop.get(draft).text

    location = _publish(shop, draft)
    assert _LISTING.match(location), location
    assert _publish(shop, draft) == location  # a second click: the same listing
    send_outbox(world.ctx)  # the worker's sender finds nothing left to post

    (publication,) = world.network.publications
    assert publication.author == world.accounts["boutique"]
    assert publication.text.startswith("Affiche — 12,50")
    assert "@payez j'achète" in publication.text
    assert _listed_posts(web) == [("memory", publication.id)]

    reply = world.post("alice", "@payez j'achète", in_reply_to=publication.id)
    world.run()
    assert world.payment_for(reply)["state"] == PaymentState.SETTLED
    assert world.balance("boutique") == 1250
    assert world.balance("alice") == 5_000 - 1250
    assert "Alice" in shop.get("/merchant").text
    world.assert_ledger_sound()


def test_a_network_that_is_down_gets_the_post_later_and_once(
    web: WebWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = web.world
    shop = _merchant(web)
    draft = _draft(shop)
    world.network.set_down(True)
    assert _publish(shop, draft) == draft  # back on the draft's page: on its way
    page = html.unescape(shop.get(draft).text)
    assert "Publication en cours en tant que @boutique (memory)" in page
    assert "Publier en tant que" not in page  # no second button while it is on its way
    assert _listed_posts(web) == []
    world.network.set_down(False)

    # The network takes the post, then the sender dies before it records so: the next run
    # sends it again under the same key, and the network answers with the same post.
    real_mark_sent = outbox_repo.mark_all_sent

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the worker died here")

    monkeypatch.setattr(outbox_repo, "mark_all_sent", crash)
    world.later(minutes=31)
    with pytest.raises(RuntimeError):
        send_outbox(world.ctx)
    assert len(world.network.publications) == 1
    assert _listed_posts(web) == []
    monkeypatch.setattr(outbox_repo, "mark_all_sent", real_mark_sent)
    # The dead sender's claim keeps the message from everyone until its lease lapses.
    assert send_outbox(world.ctx) == 0
    assert len(world.network.publications) == 1
    world.later(seconds=CLAIM_LEASE.total_seconds() + 1)
    assert send_outbox(world.ctx) == 1
    assert send_outbox(world.ctx) == 0

    (publication,) = world.network.publications
    assert _listed_posts(web) == [("memory", publication.id)]
    assert "Annonce publiée" in shop.get(draft).text


def test_without_leave_to_post_the_merchant_posts_the_text_themselves(web: WebWorld) -> None:
    shop = _merchant(web, grant=False)
    draft = _draft(shop)
    page = html.unescape(shop.get(draft).text)
    assert "Publier en tant que" not in page
    assert "@boutique (memory) : Payez n'est pas autorisé à publier en votre nom" in page
    assert "/merchant/drafts/" in page and "/attach" in page  # the text to post yourself stays

    refused = shop.submit(draft + "/publish", {"network": "memory"}, form_page=draft)
    assert refused.status_code == 400
    assert "Payez ne peut pas publier en votre nom sur ce réseau" in html.unescape(refused.text)
    assert "Payez cannot post on your behalf" in NoPublishingGrant().message("en")
    assert web.world.network.publications == []
    with web.world.ctx.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one() == 0


def test_a_refused_grant_fails_at_once_and_a_new_grant_publishes(web: WebWorld) -> None:
    world = web.world
    shop = _merchant(web)
    draft = _draft(shop)
    world.network.revoke_tokens(world.accounts["boutique"])
    assert _publish(shop, draft) == draft
    with world.ctx.engine.connect() as conn:
        state, attempts = conn.execute(sa.select(outbox.c.state, outbox.c.attempts)).one()
    assert (state, attempts) == ("failed", 1)  # no retries: only the merchant can fix it
    assert "La publication a échoué" in html.unescape(shop.get(draft).text)

    _grant(web, "boutique")
    location = _publish(shop, draft)
    assert _LISTING.match(location), location
    (publication,) = world.network.publications
    assert _listed_posts(web) == [("memory", publication.id)]


def test_pasting_a_post_stops_a_publication_on_its_way(web: WebWorld) -> None:
    world = web.world
    shop = _merchant(web)
    draft = _draft(shop)
    world.network.set_down(True)
    _publish(shop, draft)
    world.network.set_down(False)
    own = world.post("boutique", "Affiche — 12,50 €")
    attached = shop.submit(
        draft + "/attach", {"network": "memory", "post": own.id}, form_page=draft
    )
    assert attached.status_code == 303, attached.text
    world.later(minutes=31)
    assert send_outbox(world.ctx) == 0
    assert world.network.publications == []
    assert _listed_posts(web) == [("memory", own.id)]


def test_the_granted_token_is_sealed_at_rest_and_kept_for_merchants_only(web: WebWorld) -> None:
    world = web.world
    _merchant(web, grant=False)
    member(web, "alice")
    shop_token = _grant(web, "boutique")
    person_token = _grant(web, "alice")
    with world.ctx.engine.connect() as conn:
        sealed = dict(
            conn.execute(sa.select(social_links.c.handle, social_links.c.access_token_sealed)).all()
        )
    assert sealed["alice"] is None  # nobody but a merchant publishes through Payez
    assert shop_token not in sealed["boutique"]
    shop_id = world.accounts["boutique"].id
    settings = world.ctx.settings
    assert open_token(settings, "memory", shop_id, sealed["boutique"]) == shop_token
    # Bound to its account: copied onto another one, it does not open.
    assert open_token(settings, "memory", world.accounts["alice"].id, sealed["boutique"]) is None
    assert person_token != shop_token


def test_the_demo_merchant_publishes_on_the_sandbox_in_one_click(database_url: str) -> None:
    settings = load_settings({}, database_url=database_url)
    engine = make_engine(database_url)
    try:
        seed_demo(engine, settings)
        with running_sandbox(database_url) as sandbox:
            sandbox.user("payez")
            network = MastodonNetwork(sandbox.api_base_url, sandbox.token("payez"), name="sandbox")
            ctx = ServiceContext(engine=engine, settings=settings, networks={"sandbox": network})
            with engine.connect() as conn:
                shop_uri = sandbox_urls(conn, sandbox_base_url(settings)).account_uri("boutique")
                found = users_repo.users_by_network_account(conn, "sandbox", [shop_uri])
            shop = found[shop_uri].id
            draft_id = create_draft(ctx, shop, title="Mug", price="8", stock="2")
            listing_id = publish_listing(ctx, shop, draft_id, "", "en")
            assert listing_id is not None
            assert publish_listing(ctx, shop, draft_id, "", "en") == listing_id
            listing = public_listing(ctx, listing_id)
            status = sandbox.client("carol").status(listing.post_id)
            assert status["account"]["acct"] == "boutique"
            assert "To buy it, reply" in status["content"]
            assert send_outbox(ctx) == 0
    finally:
        engine.dispose()
