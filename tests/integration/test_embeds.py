"""The widgets associations and merchants embed on their own sites: a campaign's progress and the
post that donates (which the parser reads back), a listing's price and the post to reply to; in
the viewer's language; the same page for a logged-in owner as for a stranger, with no cookie, no
form, no script, every link in a new tab; "not found" (framed too) for what is not online; and
the snippet the owner copies, on the page where they manage the campaign or listing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import lxml.html
import pytest
import sqlalchemy as sa

from payez.adapters.db import web_accounts
from payez.adapters.db.tables.payments import listings
from payez.config import load_settings
from payez.domain.commands import BuyCommand, SendCommand, parse
from payez.domain.money import Money
from payez.service.campaigns import create_campaign, paris_today
from payez.service.context import ServiceContext
from payez.service.create_listing import PublicListing, create_draft
from payez.service.embeds import post_url
from payez.service.public_profile import set_public_profile
from tests.integration.merchants_world import member
from tests.integration.web_world import Browser, WebWorld, web_world

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


@pytest.fixture
def web(database_url: str) -> Iterator[WebWorld]:
    with web_world(database_url) as world:
        yield world


def _text(node: lxml.html.HtmlElement) -> str:
    """The text as read: no-break spaces as spaces, runs of spaces as one."""
    return " ".join(node.text_content().replace("\u00a0", " ").replace("\u202f", " ").split())


def _widget(browser: Browser, path: str, headers: dict[str, str]) -> lxml.html.HtmlElement:
    """The widget, checked to be made for another site's frame."""
    answer = browser.get(path, headers=headers)
    assert answer.status_code == 200, answer.text
    _check_framed_and_inert(answer)
    return lxml.html.fromstring(answer.text)


def _check_framed_and_inert(answer: httpx.Response) -> None:
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors *" in policy and "form-action 'none'" in policy
    assert "script-src" not in policy and "default-src 'none'" in policy
    assert "x-frame-options" not in answer.headers
    assert "set-cookie" not in answer.headers
    tree = lxml.html.fromstring(answer.text)
    assert tree.xpath("//form | //input | //textarea | //script | //iframe") == []
    assert "csrf" not in answer.text
    for link in tree.iter("a"):
        assert (link.get("target"), link.get("rel")) == ("_blank", "noopener"), link.get("href")


def _commands(tree: lxml.html.HtmlElement) -> list[str]:
    return [_text(code) for code in tree.find_class("embed-command")]


def test_the_campaign_widget_shows_the_progress_and_a_post_the_parser_reads_back(
    web: WebWorld,
) -> None:
    world = web.world
    association = member(web, "restos", kind="association", legal_id="W751234567")
    member(web, "alice", cents=10_000)
    campaign_id = create_campaign(
        world.ctx,
        world.users["restos"],
        title="Hiver solidaire",
        description="Repas chauds",
        goal="100",
        starts_on="",
        ends_on=(paris_today(world.ctx) + timedelta(days=30)).isoformat(),
    )
    world.post("alice", "@payez donne 40 € à @restos")
    world.run()
    path = f"/embed/campaigns/{campaign_id}"
    stranger = web.browser()

    french = _widget(stranger, path, FRENCH)
    assert french.get("lang") == "fr"
    assert _text(french.get_element_by_id("embed-title")) == "Hiver solidaire"
    raised = _text(french.get_element_by_id("embed-raised"))
    assert raised == "40,00 € collectés sur 100,00 € (40 %)"
    assert french.get_element_by_id("embed-progress").get("value") == "40"
    (command,) = _commands(french)
    assert command == "@payez donne 10 € à @restos"
    assert parse(command, "payez") == SendCommand(Money.eur(1000), "restos", None, "fr")
    # No public page yet: the QR code opens the campaign's own page.
    campaign_page = world.ctx.link(f"/campaigns/{campaign_id}")
    assert french.get_element_by_id("embed-qr").get("href") == campaign_page
    assert french.xpath("//svg[@class='qr']")

    english = _widget(stranger, path, ENGLISH)
    assert english.get("lang") == "en"
    assert _text(english.get_element_by_id("embed-raised")) == "€40.00 raised of €100.00 (40%)"
    (command,) = _commands(english)
    assert command == "@payez give €10 to @restos"
    assert parse(command, "payez") == SendCommand(Money.eur(1000), "restos", None, "en")
    assert _widget(stranger, path + "?lang=en", FRENCH).get("lang") == "en"  # and no cookie

    # The owner, logged in, sees what anyone sees: the widget reads no session.
    assert association.get(path, headers=FRENCH).text == stranger.get(path, headers=FRENCH).text

    set_public_profile(world.ctx, world.users["restos"], "restos")
    paying = _widget(stranger, path, FRENCH)
    assert paying.get_element_by_id("embed-qr").get("href") == world.ctx.link("/@restos")


def test_a_campaign_that_ended_says_so_and_asks_for_nothing(web: WebWorld) -> None:
    world = web.world
    member(web, "restos", kind="association")
    today = paris_today(world.ctx)
    ended = create_campaign(
        world.ctx,
        world.users["restos"],
        title="Automne",
        description="",
        goal="50",
        starts_on=(today - timedelta(days=60)).isoformat(),
        ends_on=(today - timedelta(days=31)).isoformat(),
    )
    upcoming = create_campaign(
        world.ctx,
        world.users["restos"],
        title="Printemps",
        description="",
        goal="50",
        starts_on=(today + timedelta(days=10)).isoformat(),
    )
    stranger = web.browser()
    finished = _widget(stranger, f"/embed/campaigns/{ended}", FRENCH)
    phase = _text(finished.get_element_by_id("embed-phase"))
    assert phase.startswith("Cette campagne est terminée depuis le ")
    assert str((today - timedelta(days=31)).year) in phase
    assert _commands(finished) == [] and not finished.xpath("//svg")
    english = _widget(stranger, f"/embed/campaigns/{ended}", ENGLISH)
    assert _text(english.get_element_by_id("embed-phase")).startswith("This campaign ended on ")

    soon = _widget(stranger, f"/embed/campaigns/{upcoming}", FRENCH)
    assert _text(soon.get_element_by_id("embed-phase")).startswith("Cette campagne commence le ")
    assert _commands(soon) == []


def test_the_listing_widget_shows_the_price_and_the_reply_that_buys(web: WebWorld) -> None:
    world = web.world
    shop = member(web, "boutique", kind="merchant", legal_id="123456789")
    world.listing("boutique", "Tasse émaillée", 1250, stock=3)
    with world.ctx.engine.connect() as conn:
        listing_id = conn.execute(sa.select(listings.c.id)).scalar_one()
    path = f"/embed/listings/{listing_id}"
    stranger = web.browser()

    french = _widget(stranger, path, FRENCH)
    assert _text(french.get_element_by_id("embed-title")) == "Tasse émaillée"
    assert _text(french.get_element_by_id("embed-price")) == "12,50 €"
    # The in-memory network has no web address: the button opens the listing's page.
    buy = french.get_element_by_id("embed-buy")
    assert buy.get("href") == world.ctx.link(f"/listings/{listing_id}")
    assert _text(buy) == "Acheter par message"
    (command,) = _commands(french)
    assert command == "@payez j'achète"
    assert parse(command, "payez") == BuyCommand(None, "fr")

    english = _widget(stranger, path, ENGLISH)
    assert _text(english.get_element_by_id("embed-price")) == "€12.50"
    assert _text(english.get_element_by_id("embed-buy")) == "Buy by post"
    (command,) = _commands(english)
    assert parse(command, "payez") == BuyCommand(None, "en")
    assert shop.get(path, headers=FRENCH).text == stranger.get(path, headers=FRENCH).text

    with world.ctx.engine.begin() as conn:
        conn.execute(listings.update().values(stock=0))
    sold_out = _widget(stranger, path, FRENCH)
    assert _text(sold_out.get_element_by_id("embed-stock")) == "Épuisé"
    assert sold_out.xpath("//*[@id='embed-buy']") == [] and _commands(sold_out) == []


def test_what_is_not_online_is_not_found_in_the_frame_in_both_languages(web: WebWorld) -> None:
    world = web.world
    member(web, "nouvelle", kind="association")
    with world.ctx.engine.begin() as conn:
        web_accounts.update_user(conn, world.users["nouvelle"], organisation_verified=False)
    unverified = create_campaign(
        world.ctx, world.users["nouvelle"], title="Tôt", description="", goal="10", starts_on=""
    )
    member(web, "boutique", kind="merchant")
    world.listing("boutique", "Bol", 900, stock=2)
    with world.ctx.engine.connect() as conn:
        listed = conn.execute(sa.select(listings.c.id)).scalar_one()
    # Drafts and listings are numbered apart: the second draft's id names no listing.
    drafts = [
        create_draft(world.ctx, world.users["boutique"], title="Mug", price="5", stock="1")
        for _ in range(2)
    ]
    draft = max(drafts)
    assert draft != listed
    with world.ctx.engine.begin() as conn:
        web_accounts.update_user(conn, world.users["boutique"], status="frozen")

    stranger = web.browser()
    missing = {
        "/embed/campaigns/999999": "Cette campagne n'existe pas",
        f"/embed/campaigns/{unverified}": "Cette campagne n'existe pas",
        "/embed/campaigns/abc": "Cette campagne n'existe pas",
        "/embed/campaigns/" + "9" * 30: "Cette campagne n'existe pas",
        f"/embed/listings/{draft}": "Cette annonce n'existe pas",
        f"/embed/listings/{listed}": "Cette annonce n'existe pas",  # its merchant is frozen
    }
    for path, french in missing.items():
        answer = stranger.get(path, headers=FRENCH)
        assert answer.status_code == 404, path
        _check_framed_and_inert(answer)
        assert french in _text(lxml.html.fromstring(answer.text)), path
        english = stranger.get(path, headers=ENGLISH)
        assert "does not exist or is no longer online" in english.text, path
        assert english.status_code == 404, path


@pytest.mark.parametrize(
    ("network", "post_id", "expected"),
    [
        ("sandbox", "1234", "http://127.0.0.1:8000/sandbox/@boutique/1234"),
        ("x", "1800000000000000001", "https://x.com/boutique/status/1800000000000000001"),
        (
            "bluesky",
            "at://did:plc:abc123/app.bsky.feed.post/3kq2x",
            "https://bsky.app/profile/did:plc:abc123/post/3kq2x",
        ),
        ("bluesky", "not-an-at-uri", None),
        ("mastodon", "110000000000000001", None),  # the address depends on the server
    ],
)
def test_the_buy_button_opens_the_post_where_its_address_is_known(
    network: str, post_id: str, expected: str | None
) -> None:
    ctx = ServiceContext(engine=sa.create_engine("sqlite://"), settings=load_settings({}))
    listing = PublicListing(
        id=1,
        title="Mug",
        price=Money.eur(900),
        stock=1,
        network=network,
        post_id=post_id,
        merchant_name="Boutique",
        merchant_handle="boutique",
        has_picture=False,
    )
    assert post_url(ctx, listing) == expected


def _snippet(page: str, textarea_id: str) -> lxml.html.HtmlElement:
    """The ``<iframe>`` the owner copies, as a browser would read it once pasted."""
    code = lxml.html.fromstring(page).get_element_by_id(textarea_id)
    assert code.tag == "textarea" and code.get("readonly") is not None
    return lxml.html.fragment_fromstring(code.text_content())


def test_owners_copy_the_snippet_where_they_manage_the_campaign_or_listing(web: WebWorld) -> None:
    world = web.world
    association = member(web, "restos", kind="association", legal_id="W751234567")
    campaign_id = create_campaign(
        world.ctx,
        world.users["restos"],
        title='Hiver "solidaire" <b>',
        description="",
        goal="100",
        starts_on="",
    )
    page = association.get("/association?lang=fr").text
    frame = _snippet(page, f"embed-code-campaign-{campaign_id}")
    assert frame.tag == "iframe"
    assert frame.get("src") == world.ctx.link(f"/embed/campaigns/{campaign_id}")
    assert frame.get("title") == 'Hiver "solidaire" <b> · Payez'
    assert frame.get("loading") == "lazy"
    assert frame.get("sandbox") == "allow-popups allow-popups-to-escape-sandbox"
    assert int(frame.get("width")) > 0 and int(frame.get("height")) > 0
    assert "Intégrer à votre site" in page and "Code HTML à copier" in page
    english = association.get("/association?lang=en").text
    assert "Embed on your website" in english and "HTML code to copy" in english

    shop = member(web, "boutique", kind="merchant", legal_id="123456789")
    world.listing("boutique", "Tasse", 1250, stock=3)
    with world.ctx.engine.connect() as conn:
        listing_id = conn.execute(sa.select(listings.c.id)).scalar_one()
    page = shop.get(f"/merchant/listings/{listing_id}/orders?lang=fr").text
    frame = _snippet(page, f"embed-code-listing-{listing_id}")
    assert frame.get("src") == world.ctx.link(f"/embed/listings/{listing_id}")
    assert frame.get("title") == "Tasse · Payez"

    # An association not verified yet gets no snippet: its widget would not be found.
    unverified = member(web, "nouvelle", kind="association")
    with world.ctx.engine.begin() as conn:
        web_accounts.update_user(conn, world.users["nouvelle"], organisation_verified=False)
    create_campaign(
        world.ctx, world.users["nouvelle"], title="Tôt", description="", goal="10", starts_on=""
    )
    waiting = unverified.get("/association?lang=fr").text
    assert "Le widget sera disponible une fois votre association vérifiée." in waiting
    assert not re.search(r'id="embed-code-campaign-\d+"', waiting)
