"""Tax receipts: numbered per association without gaps even when requested all at once, the same
receipt on every download, a PDF with the Cerfa 11580 fields, and no one else may read it."""

from __future__ import annotations

import html
import io
import threading
from collections.abc import Iterator

import pypdf
import pytest
import sqlalchemy as sa

from payez.adapters.db import web_accounts
from payez.adapters.db.tables.campaigns import receipt_counters, tax_receipts
from payez.service.campaigns import save_association_profile, save_donor_settings
from payez.service.tax_receipts import AssociationNotReady, DonorAddressMissing, issue_receipt
from tests.integration.merchants_world import member
from tests.integration.pipeline_world import World
from tests.integration.web_world import Browser, WebWorld, web_world

DONORS = 8


def _pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def test_numbers_have_no_gaps_under_concurrent_downloads(postgres_url: str) -> None:
    world = World.create(postgres_url)
    asso = world.join("restos", kind="association", cents=0)
    with world.ctx.engine.begin() as conn:
        web_accounts.update_user(conn, asso, legal_id="W751234567")
    save_association_profile(
        world.ctx, asso, address="1 rue de la Paix, 75002 Paris", object_="Aide alimentaire"
    )
    donors = [f"donor{n}" for n in range(DONORS)]
    for index, donor in enumerate(donors):
        world.join(donor, cents=10_000)
        world.post(donor, f"@payez donne {index + 1} € à @restos")
        world.post(donor, "@payez donne 2 € à @restos")
        if donor != "donor3":  # no address: their request fails and must not take a number
            save_donor_settings(
                world.ctx, world.users[donor], address=f"{index} rue Y", show_name=False
            )
    world.run()
    world.later(days=366)

    start = threading.Barrier(2 * DONORS)
    numbers: dict[str, list[int]] = {donor: [] for donor in donors}
    failures: list[BaseException] = []

    def download(donor: str) -> None:
        try:
            start.wait()
            receipt = issue_receipt(world.ctx, world.users[donor], asso, 2026)
            numbers[donor].append(receipt.number)
        except BaseException as exc:  # surfaced below
            failures.append(exc)

    threads = [threading.Thread(target=download, args=(d,)) for d in donors for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [type(f) for f in failures] == [DonorAddressMissing, DonorAddressMissing]
    assert numbers["donor3"] == []
    issued = {d: n for d, n in numbers.items() if n}
    assert all(len(set(n)) == 1 and len(n) == 2 for n in issued.values())
    assert sorted(n[0] for n in issued.values()) == list(range(1, DONORS))
    with world.ctx.engine.connect() as conn:
        assert conn.execute(sa.select(receipt_counters.c.last_number)).scalar_one() == DONORS - 1
        rows = conn.execute(sa.select(tax_receipts.c.donor_user_id, tax_receipts.c.amount_cents))
        amounts = {int(u): int(c) for u, c in rows}
    assert amounts[world.users["donor0"]] == 300
    assert amounts[world.users["donor7"]] == 1000

    save_donor_settings(world.ctx, world.users["donor3"], address="3 rue Y", show_name=False)
    assert issue_receipt(world.ctx, world.users["donor3"], asso, 2026).number == DONORS


@pytest.fixture
def web(database_url: str) -> Iterator[WebWorld]:
    with web_world(database_url, session_days=1000) as world:
        yield world


def _request(browser: Browser, association: int, year: int) -> tuple[int, str]:
    answer = browser.submit(
        "/dashboard/donations/receipts",
        {"association": str(association), "year": str(year)},
        form_page="/dashboard/donations",
    )
    return answer.status_code, answer.headers.get("location", "") or html.unescape(answer.text)


def test_donor_downloads_their_receipt_and_no_one_else_can(web: WebWorld) -> None:
    world = web.world
    asso = member(web, "restos", kind="association", legal_id="W751234567")
    other_asso = member(web, "secours", kind="association", legal_id="W759999999")
    alice = member(web, "alice", cents=10_000)
    bob = member(web, "bob", cents=10_000)
    shop = member(web, "boutique", kind="merchant", cents=10_000)
    restos = world.users["restos"]
    saved = asso.submit(
        "/association/profile",
        {"address": "1 rue de la Paix, 75002 Paris", "object": "Aide alimentaire"},
        form_page="/association",
    )
    assert saved.status_code == 303
    world.post("alice", "@payez donne 20€ à @restos")
    world.post("alice", "@payez donne 5 € à @restos")
    world.post("bob", "@payez donne 10 € à @restos")
    world.post("boutique", "@payez donne 40 € à @restos")
    world.run()

    status, page = _request(alice, restos, 2026)
    assert status == 400 and "à partir du 1er janvier" in page
    world.later(days=365)
    status, page = _request(alice, restos, 2026)
    assert status == 400 and "Indiquez votre adresse postale" in page
    alice.submit(
        "/dashboard/donations/settings",
        {"address": "3 rue des Lilas, 69001 Lyon"},
        form_page="/dashboard/donations",
    )
    status, location = _request(alice, restos, 2026)
    assert status == 303, location
    first = alice.get(location)
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/pdf"
    text = _pdf_text(first.content)
    for expected in (
        "Numéro d'ordre du reçu : 000001",
        "Restos",
        "1 rue de la Paix, 75002 Paris",
        "Aide alimentaire",
        "W751234567",
        "Alice",
        "3 rue des Lilas, 69001 Lyon",
        "25,00 euros",
        "vingt-cinq euros",
        "[X] 200 du CGI",
        "[X] Numéraire",
        "année 2026",
    ):
        assert expected in text, expected

    # Downloading again gives the same receipt, even after the donor moved.
    alice.submit(
        "/dashboard/donations/settings",
        {"address": "9 quai Ouest, 33000 Bordeaux"},
        form_page="/dashboard/donations",
    )
    assert _request(alice, restos, 2026) == (303, location)
    assert "3 rue des Lilas" in _pdf_text(alice.get(location).content)
    assert "n° 000001" in alice.get("/dashboard/donations").text

    # Only the donor and the association may read it.
    assert asso.get(location).status_code == 200
    assert bob.get(location).status_code == 404
    assert other_asso.get(location).status_code == 404
    assert shop.get(location).status_code == 404
    assert web.browser().get(location).status_code == 303  # to the login page
    assert _request(bob, world.users["secours"], 2026)[0] == 404  # never gave to them

    bob.submit("/dashboard/donations/settings", {"address": "5 rue Z"}, form_page="/dashboard")
    status, bob_location = _request(bob, restos, 2026)
    assert status == 303 and bob_location != location
    assert "000002" in _pdf_text(bob.get(bob_location).content)
    shop.submit("/dashboard/donations/settings", {"address": "8 rue M"}, form_page="/dashboard")
    status, shop_location = _request(shop, restos, 2026)
    shop_text = _pdf_text(shop.get(shop_location).content)
    assert "000003" in shop_text and "[X] 238 bis du CGI" in shop_text
    assert "quarante euros" in shop_text

    summary = asso.get("/association/summary.csv?year=2026&lang=fr").text
    assert "Alice;2;25,00;000001" in summary
    assert "Bob;1;10,00;000002" in summary


def test_a_receipt_needs_a_complete_association(sqlite_url: str) -> None:
    world = World.create(sqlite_url)
    asso = world.join("restos", kind="association", cents=0)
    world.join("alice")
    save_donor_settings(world.ctx, world.users["alice"], address="3 rue X", show_name=False)
    world.post("alice", "@payez donne 20€ à @restos")
    world.run()
    world.later(days=366)
    with pytest.raises(AssociationNotReady):
        issue_receipt(world.ctx, world.users["alice"], asso, 2026)
    with world.ctx.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tax_receipts)).scalar_one() == 0
