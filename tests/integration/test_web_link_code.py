"""Linking by posting a code, from the web: the onboarding page's link step makes the code and
says the post to write; once the post is read, the account is among the linked ones. End to
end on the sandbox network: a real post, the pipeline, the reply posted back."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from payez.adapters.db.tables.link_codes import link_codes
from payez.adapters.db.tables.payments import social_links
from payez.adapters.networks.mastodon import MastodonNetwork
from payez.entrypoints.web.app import create_app
from payez.service.process_inbox import process_until_empty
from payez.service.record_posts import poll_mentions
from payez.service.send_outbox import send_outbox
from tests.integration.pipeline_world import World
from tests.integration.sandbox_server import running_sandbox
from tests.integration.web_world import Browser, WebWorld, web_world

_CODE = re.compile(r'<code id="the-link-code">([^<]+)</code>')


@pytest.fixture
def web(database_url: str) -> Iterator[WebWorld]:
    with web_world(database_url) as world:
        yield world


def _code_of(page: str) -> str:
    found = _CODE.search(page)
    assert found, "the page shows no code"
    return found.group(1)


def _get_code(browser: Browser) -> str:
    made = browser.submit("/onboarding/link-code", {}, form_page="/onboarding")
    assert made.status_code == 200, made.text
    assert made.headers["cache-control"] == "no-store"
    return _code_of(made.text)


def _stored_codes(web: WebWorld) -> int:
    with web.world.ctx.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(link_codes)).scalar_one())


def test_the_page_makes_a_code_and_says_the_post_to_write(web: WebWorld) -> None:
    browser = web.browser()
    assert browser.sign_up("bob@example.org").status_code == 303
    page = browser.get("/onboarding").text
    assert 'action="/onboarding/link-code"' in page
    assert "Relier en publiant un code" in page

    made = browser.submit("/onboarding/link-code", {}, form_page="/onboarding")
    text = html.unescape(made.text)
    code = _code_of(made.text)
    assert len(code) == 8
    handle = web.world.ctx.service_handle("memory")
    assert f"@{handle} lier {code}" in text
    assert f"@{handle} link {code}" in text
    assert "jusqu'au" in text and "(Paris)" in text
    # Shown once: the page read again knows only that a code waits.
    again = browser.get("/onboarding").text
    assert code not in again
    assert "Un code attend d'être publié" in html.unescape(again)

    carol = web.world.stranger("carol")
    post = web.world.post("carol", f"@{handle} lier {code}")
    web.world.run()
    assert web.world.replies_to(post) == [
        "@carol C'est fait : ce compte est relié à Payez. Vous pouvez payer par message."
    ]
    linked = browser.get("/onboarding").text
    assert "<span>memory</span><strong>@carol</strong>" in linked
    assert browser.client.get("/api/v1/me").json()["linked_accounts"] == [
        {"network": "memory", "handle": "carol"}
    ]
    with web.world.ctx.engine.connect() as conn:
        [owner] = conn.execute(
            sa.select(social_links.c.user_id).where(social_links.c.account_id == carol.id)
        ).scalars()
    assert owner == browser.user_id()


def test_the_page_in_english(web: WebWorld) -> None:
    browser = web.browser(**{"Accept-Language": "en"})
    assert browser.sign_up("bob@example.org").status_code == 303
    made = browser.submit("/onboarding/link-code", {}, form_page="/onboarding")
    text = html.unescape(made.text)
    assert "Link by posting a code" in text
    assert "It works once, until" in text
    assert f"link {_code_of(made.text)}" in text


def test_the_form_needs_its_csrf_token(web: WebWorld) -> None:
    browser = web.browser()
    assert browser.sign_up("bob@example.org").status_code == 303
    forged = browser.client.post(
        "/onboarding/link-code", data={"csrf_token": "forged"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert _stored_codes(web) == 0


def test_a_visitor_must_log_in(web: WebWorld) -> None:
    browser = web.browser()
    token = browser.token("/login")
    answer = browser.client.post(
        "/onboarding/link-code", data={"csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code in (303, 401)
    assert _stored_codes(web) == 0


def test_an_unverified_email_address_is_asked_for_first(web: WebWorld) -> None:
    browser = web.browser()
    assert browser.sign_up("bob@example.org", verify=False).status_code == 303
    answer = browser.submit("/onboarding/link-code", {}, form_page="/onboarding")
    assert answer.status_code == 403
    assert 'id="the-link-code"' not in answer.text
    assert _stored_codes(web) == 0


def test_a_new_code_makes_the_old_one_unknown(web: WebWorld) -> None:
    browser = web.browser()
    assert browser.sign_up("bob@example.org").status_code == 303
    old, new = _get_code(browser), _get_code(browser)
    assert old != new
    assert _stored_codes(web) == 1


def test_end_to_end_on_the_sandbox_network(database_url: str) -> None:
    with running_sandbox(database_url) as sandbox:
        world = World.create(database_url)
        sandbox.user("payez")
        network = MastodonNetwork(sandbox.api_base_url, sandbox.token("payez"), name="sandbox")
        world.ctx.networks = {"sandbox": network}
        web = WebWorld(world, create_app(world.ctx))
        try:
            browser = web.browser()
            assert browser.sign_up("carol@example.org").status_code == 303
            made = browser.submit("/onboarding/link-code", {}, form_page="/onboarding")
            code = _code_of(made.text)
            # The page names the sandbox's service account, as people must write it.
            assert f"@payez lier {code}" in html.unescape(made.text)

            carol = sandbox.client("carol")
            status = carol.status_post(f"@payez lier {code}")
            poll_mentions(world.ctx, network)
            process_until_empty(world.ctx)
            send_outbox(world.ctx)

            with world.ctx.engine.connect() as conn:
                links = conn.execute(
                    sa.select(
                        social_links.c.user_id,
                        social_links.c.network,
                        social_links.c.account_id,
                        social_links.c.handle,
                    )
                ).all()
            assert [tuple(link) for link in links] == [
                (browser.user_id(), "sandbox", sandbox.account_uri("carol"), "carol")
            ]
            replies = [
                n["status"]
                for n in carol.notifications()
                if n["type"] == "mention" and str(n["status"]["in_reply_to_id"]) == str(status.id)
            ]
            assert len(replies) == 1
            assert "C'est fait : ce compte est relié à Payez" in html.unescape(
                replies[0]["content"]
            )
            page = browser.get("/onboarding").text
            assert "<span>sandbox</span><strong>@carol</strong>" in page
        finally:
            web.close()
            sandbox.close_streams()
