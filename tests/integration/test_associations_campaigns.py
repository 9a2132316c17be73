"""Associations: campaigns whose progress is what the ledger received, opt-in donor lists, the
public pages, and the yearly summary only the association can read."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator

import lxml.html
import pytest
import sqlalchemy as sa

from payez.adapters.db import web_accounts
from payez.adapters.db.tables.campaigns import campaigns
from payez.service.campaigns import campaign_progress, create_campaign
from tests.integration.merchants_world import member
from tests.integration.web_world import WebWorld, web_world

_CAMPAIGN = re.compile(r"/campaigns/(\d+)$")


@pytest.fixture
def web(database_url: str) -> Iterator[WebWorld]:
    with web_world(database_url) as world:
        yield world


def test_campaign_progress_is_what_the_ledger_received(web: WebWorld) -> None:
    world = web.world
    asso = member(web, "restos", kind="association", legal_id="W751234567")
    alice = member(web, "alice", cents=10_000)
    member(web, "bob", cents=5_000)
    member(web, "carol", cents=5_000)

    bad = asso.submit(
        "/association/campaigns",
        {"title": "Hiver", "goal": "12,999", "starts_on": "2026-01-01"},
        form_page="/association",
    )
    assert bad.status_code == 400
    assert "Objectif invalide" in html.unescape(bad.text)
    with world.ctx.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(campaigns)).scalar_one() == 0

    created = asso.submit(
        "/association/campaigns",
        {"title": "Hiver solidaire", "description": "Repas chauds", "goal": "100", "starts_on": ""},
        form_page="/association",
    )
    assert created.status_code == 303, created.text
    campaign_path = created.headers["location"]
    campaign_id = int(_CAMPAIGN.search(campaign_path).group(1))  # type: ignore[union-attr]
    later = create_campaign(
        world.ctx,
        world.users["restos"],
        title="Printemps",
        description="",
        goal="50",
        starts_on="2026-01-02",
    )

    opted = alice.submit(
        "/dashboard/donations/settings",
        {"address": "1 rue des Lilas, 69001 Lyon", "show_name": "1"},
        form_page="/dashboard/donations",
    )
    assert opted.status_code == 303
    world.post("alice", "@payez donne 20€ à @restos")
    world.post("bob", "@payez donne 7,50 € à @restos")
    world.post("carol", "@payez envoie 3 € à @alice")  # not a donation
    world.run()
    assert world.balance("restos") == 2750
    assert campaign_progress(world.ctx, campaign_id).raised.cents == world.balance("restos")
    assert campaign_progress(world.ctx, later).raised.cents == 0

    world.later(days=1)
    world.post("carol", "@payez donne 12,50 € à @restos")
    world.run()
    first = campaign_progress(world.ctx, campaign_id)
    assert first.raised.cents == world.balance("restos") == 4000
    assert first.percent == 40
    assert campaign_progress(world.ctx, later).raised.cents == 1250
    assert first.donors == ("Alice",)

    page = html.unescape(web.browser().get(campaign_path + "?lang=fr").text)
    assert "40,00" in page and "100,00" in page
    assert 'value="40"' in page
    assert "Alice" in page and "Bob" not in page and "Carol" not in page
    assert "@payez donne 10 € à @restos" in page
    english = html.unescape(web.browser().get(campaign_path + "?lang=en").text)
    assert "@payez give €10 to @restos" in english

    public = web.browser().get("/associations/restos")
    assert public.status_code == 200
    assert "Hiver solidaire" in public.text and "Printemps" in public.text
    assert "W751234567" in public.text


def test_association_pages_are_for_associations(web: WebWorld) -> None:
    world = web.world
    asso = member(web, "restos", kind="association", legal_id="W751234567")
    unverified = member(web, "nouvelle", kind="association")
    with world.ctx.engine.begin() as conn:
        web_accounts.update_user(conn, world.users["nouvelle"], organisation_verified=False)
    person = member(web, "alice", cents=10_000)
    shop = member(web, "boutique", kind="merchant")

    assert person.get("/association").status_code == 404
    assert shop.get("/association").status_code == 404
    assert person.get("/association/summary.csv?year=2026").status_code == 404
    refused = person.submit(
        "/association/campaigns", {"title": "X", "goal": "10"}, form_page="/dashboard"
    )
    assert refused.status_code == 404
    assert web.browser().get("/associations/alice").status_code == 404
    assert web.browser().get("/associations/nouvelle").status_code == 404
    assert unverified.get("/association").status_code == 200
    assert web.browser().get("/campaigns/999").status_code == 404

    world.post("alice", "@payez donne 20€ à @restos")
    world.post("alice", "@payez donne 5 € à @restos")
    world.run()
    answer = asso.get("/association/summary.csv?year=2026&lang=fr")
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][0] == "Donateur"
    assert rows[1] == ["Alice", "2", "25,00", ""]
    empty = asso.get("/association/summary.csv?year=2025&lang=en")
    assert list(csv.reader(io.StringIO(empty.text.lstrip("\ufeff")))) == [
        ["Donor", "Gifts", "Total (EUR)", "Receipt no."]
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_new_pages_have_lang_and_labelled_fields(sqlite_url: str, lang: str) -> None:
    with web_world(sqlite_url) as web:
        world = web.world
        asso = member(web, "restos", kind="association", legal_id="W751234567")
        shop = member(web, "boutique", kind="merchant")
        donor = member(web, "alice", cents=1_000)
        campaign = create_campaign(
            world.ctx, world.users["restos"], title="Hiver", description="", goal="10", starts_on=""
        )
        draft = shop.submit(
            "/merchant/listings",
            {"title": "Mug", "price": "8", "stock": "2"},
            form_page="/merchant",
        ).headers["location"]
        post = world.post("boutique", "Mug")
        listing = shop.submit(
            draft + "/attach", {"network": "memory", "post": post.id}, form_page=draft
        ).headers["location"]
        visitor = web.browser()
        pages = [
            (shop, "/merchant"),
            (shop, draft),
            (visitor, listing),
            (asso, "/association"),
            (visitor, "/associations/restos"),
            (visitor, f"/campaigns/{campaign}"),
            (donor, "/dashboard/donations"),
        ]
        for browser, path in pages:
            answer = browser.get(f"{path}?lang={lang}")
            assert answer.status_code == 200, path
            tree = lxml.html.fromstring(answer.text)
            assert tree.get("lang") == lang, path
            labelled = {label.get("for") for label in tree.iter("label")}
            for field in tree.xpath("//input[not(@type='hidden')] | //select | //textarea"):
                wrapped = any(a.tag == "label" for a in field.iterancestors())
                assert wrapped or field.get("id") in labelled, (path, field.get("name"))
