"""The charts' figures, read from the SVG's data attributes, are the ledger's: payments made
through the real pipeline over several months, compared with the transfers and balances the
ledger holds for the same periods (never with the query the chart itself runs)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import lxml.html
import pytest
import sqlalchemy as sa

from payez.adapters.db.tables.ledger import ledger_account_names, ledger_transfers
from payez.adapters.db.tables.payments import orders, payments, users
from payez.domain.ledger import POSTING_MODES
from payez.service.campaigns import campaign_progress, create_campaign
from payez.service.merchant_orders import refund_merchant_order
from payez.service.operators import grant_operator
from payez.service.review_flags import list_flags
from tests.integration.merchants_world import member
from tests.integration.web_world import Browser, WebWorld, web_world


@pytest.fixture
def web(database_url: str) -> Iterator[WebWorld]:
    with web_world(database_url) as world:
        yield world


@dataclass(frozen=True)
class Drawn:
    """What one chart says: values by (period, series), the periods' attributes, the table."""

    values: dict[tuple[str, str], int]
    groups: dict[str, dict[str, str]]
    table: dict[str, list[str]]
    title: str
    desc: str


def drawn(page: str, chart_id: str, unit: str = "cents") -> Drawn:
    tree = lxml.html.fromstring(page)
    (figure,) = tree.xpath(f'//figure[@id="{chart_id}"]')
    (svg,) = figure.xpath(".//svg")
    assert svg.get("role") == "img"
    title_id, desc_id = svg.get("aria-labelledby").split()
    values: dict[tuple[str, str], int] = {}
    groups: dict[str, dict[str, str]] = {}
    for group in figure.xpath(".//g[@data-period]"):
        groups[group.get("data-period")] = dict(group.attrib)
        for bar in group.xpath("./rect"):
            values[(group.get("data-period"), bar.get("data-series"))] = int(
                bar.get(f"data-{unit}")
            )
    for point in figure.xpath(".//circle[@data-period]"):
        values[(point.get("data-period"), "line")] = int(point.get("data-cents"))
    table = {
        row.get("data-period"): [c.text_content() for c in row.xpath("./th|./td")]
        for row in figure.xpath(".//table//tr[@data-period]")
    }
    return Drawn(
        values,
        groups,
        table,
        figure.xpath(f'.//*[@id="{title_id}"]')[0].text_content(),
        figure.xpath(f'.//*[@id="{desc_id}"]')[0].text_content(),
    )


def last_transfer(web: WebWorld) -> int:
    with web.world.ctx.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(ledger_transfers.c.id))).scalar_one() or 0)


def wallet_of(web: WebWorld, handle: str) -> int:
    with web.world.ctx.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(users.c.wallet_account_id).where(users.c.id == web.world.users[handle])
            ).scalar_one()
        )


def ledger_between_members(web: WebWorld, wallet: int, after: int, upto: int) -> tuple[int, int]:
    """(in, out): what the ledger posted between this wallet and other members' wallets in
    the transfers ``after < id <= upto`` (top-ups, payouts and money held for a claim are
    transfers with system accounts, which have a code)."""
    names = ledger_account_names
    member_wallets = sa.select(names.c.account_id).where(names.c.code.is_(None))
    posted = sa.and_(
        ledger_transfers.c.mode.in_([m.value for m in POSTING_MODES]),
        ledger_transfers.c.id > after,
        ledger_transfers.c.id <= upto,
    )
    total = sa.func.coalesce(sa.func.sum(ledger_transfers.c.amount), 0)
    with web.world.ctx.engine.connect() as conn:
        got = conn.execute(
            sa.select(total).where(
                posted,
                ledger_transfers.c.credit_account_id == wallet,
                ledger_transfers.c.debit_account_id.in_(member_wallets),
            )
        ).scalar_one()
        gave = conn.execute(
            sa.select(total).where(
                posted,
                ledger_transfers.c.debit_account_id == wallet,
                ledger_transfers.c.credit_account_id.in_(member_wallets),
            )
        ).scalar_one()
    return int(got), int(gave)


def set_time_zone(web: WebWorld, handle: str, zone: str) -> None:
    with web.world.ctx.engine.begin() as conn:
        conn.execute(
            users.update().where(users.c.id == web.world.users[handle]).values(time_zone=zone)
        )


def at(web: WebWorld, moment: datetime) -> None:
    clock = web.world.clock
    clock.advance(moment - clock.now())


def test_money_in_and_out_by_month_is_what_the_ledger_moved(web: WebWorld) -> None:
    world = web.world
    alice = member(web, "alice", cents=30_000)
    bob = member(web, "bob", cents=1_000)
    set_time_zone(web, "bob", "America/New_York")
    world.stranger("carol")

    # January: two settled payments; one held for a newcomer, one refused, one awaiting
    # confirmation: those three moved no money to anyone (yet).
    world.post("alice", "@payez envoie 10€ à @bob pizza")
    world.post("bob", "@payez envoie 3,50€ à @alice ciné")
    world.post("alice", "@payez envoie 5€ à @carol")
    world.post("alice", "@payez envoie 1000€ à @bob")
    world.run()
    world.ctx.settings = world.ctx.settings.with_overrides(confirm="always")
    world.post("alice", "@payez envoie 40€ à @bob loyer")
    world.run()
    world.ctx.settings = world.ctx.settings.with_overrides(confirm="never")
    january = last_transfer(web)
    with world.ctx.engine.connect() as conn:
        states = sorted(conn.execute(sa.select(payments.c.state)).scalars())
    assert states == [
        "awaiting_confirmation",
        "held_for_claim",
        "rejected",
        "settled",
        "settled",
    ]

    at(web, datetime(2026, 2, 14, 12, tzinfo=UTC))
    for n in range(3):
        world.post("alice", f"@payez envoie 2€ à @bob café {n}")
    world.run()
    february = last_transfer(web)
    # 23:30 on the last day of February in UTC: March already in Paris (Alice's zone), still
    # February in New York (Bob's).
    at(web, datetime(2026, 2, 28, 23, 30, tzinfo=UTC))
    world.post("bob", "@payez envoie 1€ à @alice minuit")
    world.run()
    edge = last_transfer(web)
    at(web, datetime(2026, 3, 10, 9, tzinfo=UTC))
    world.post("alice", "@payez envoie 7€ à @bob")
    world.run()
    march = last_transfer(web)

    windows = {
        "alice": {
            "2026-01": (0, january),
            "2026-02": (january, february),
            "2026-03": (february, march),
        },
        "bob": {"2026-01": (0, january), "2026-02": (january, edge), "2026-03": (edge, march)},
    }
    for handle, browser in (("alice", alice), ("bob", bob)):
        assert browser.log_in(browser.email).status_code == 303  # weeks later: a new session
        page = browser.get("/dashboard?lang=fr")
        assert page.status_code == 200
        chart = drawn(page.text, "chart-money")
        months = sorted({p for p, _ in chart.values})
        assert len(months) == 12 and months[0] == "2025-04" and months[-1] == "2026-03"
        wallet = wallet_of(web, handle)
        for month in months:
            after, upto = windows[handle].get(month, (march, march))
            got, gave = ledger_between_members(web, wallet, after, upto)
            assert (chart.values[(month, "in")], chart.values[(month, "out")]) == (got, gave), (
                handle,
                month,
            )
        # The table says the same figures, in French money.
        assert chart.table["2026-01"][0] == "janv. 2026"
        assert chart.groups["2026-03"]["data-label"] == "mars"
        total_in = sum(v for (_, s), v in chart.values.items() if s == "in")
        assert chart.title == "Argent reçu et envoyé, par mois"
        assert f"{total_in // 100}," in chart.desc

    alice_chart = drawn(alice.get("/dashboard").text, "chart-money")
    assert alice_chart.values[("2026-03", "in")] == 100  # Paris: the midnight euro is March's
    assert drawn(bob.get("/dashboard").text, "chart-money").values[("2026-02", "out")] == 100
    assert alice_chart.table["2026-01"][1:] == ["3,50\u00a0€", "10,00\u00a0€"]
    # And against the balances: a top-up, what came in, what went out, and the 5 € held.
    alice_in = sum(v for (_, s), v in alice_chart.values.items() if s == "in")
    alice_out = sum(v for (_, s), v in alice_chart.values.items() if s == "out")
    assert world.balance("alice") == 30_000 + alice_in - alice_out - 500
    english = drawn(alice.get("/dashboard?lang=en").text, "chart-money")
    assert english.values == alice_chart.values
    assert english.table["2026-01"] == ["Jan 2026", "€3.50", "€10.00"]
    world.assert_ledger_sound()


def test_no_chart_for_a_member_whose_money_never_moved(web: WebWorld) -> None:
    newcomer = member(web, "dora", cents=1_000)
    page = newcomer.get("/dashboard")
    assert page.status_code == 200 and 'id="chart-money"' not in page.text


def test_a_campaigns_line_is_its_balance_day_by_day(web: WebWorld) -> None:
    world = web.world
    asso = member(web, "restos", kind="association", legal_id="W751234567")
    for handle in ("alice", "bob"):
        member(web, handle, cents=10_000)
    campaign_id = create_campaign(
        world.ctx,
        world.users["restos"],
        title="Hiver <solidaire>",
        description="",
        goal="100",
        starts_on="2026-01-01",
    )
    raised_by_day: dict[str, int] = {}
    world.post("alice", "@payez donne 20€ à @restos")
    world.post("bob", "@payez donne 7,50 € à @restos")
    world.run()
    raised_by_day["2026-01-01"] = world.balance("restos")
    world.later(days=2)
    world.post("bob", "@payez donne 12,50 € à @restos")
    world.post("alice", "@payez donne 1000 € à @restos")  # over the limit: refused
    world.run()
    raised_by_day["2026-01-03"] = world.balance("restos")
    world.later(days=2)

    page = web.browser().get(f"/campaigns/{campaign_id}")
    chart = drawn(page.text, f"chart-campaign-{campaign_id}")
    line = {p: v for (p, s), v in chart.values.items() if s == "line"}
    assert sorted(line) == [f"2026-01-0{d}" for d in range(1, 6)]
    assert line["2026-01-01"] == line["2026-01-02"] == raised_by_day["2026-01-01"] == 2_750
    assert line["2026-01-03"] == line["2026-01-05"] == raised_by_day["2026-01-03"] == 4_000
    assert line["2026-01-05"] == campaign_progress(world.ctx, campaign_id).raised.cents
    tree = lxml.html.fromstring(page.text)
    (goal,) = tree.xpath(f'//figure[@id="chart-campaign-{campaign_id}"]//line[@data-cents]')
    assert int(goal.get("data-cents")) == 10_000
    assert chart.table["2026-01-03"][1:] == ["12,50\u00a0€", "40,00\u00a0€"]
    dashboard = asso.get("/association")
    assert drawn(dashboard.text, f"chart-campaign-{campaign_id}").values == chart.values


def test_a_merchants_sales_are_what_reached_its_wallet(web: WebWorld) -> None:
    world = web.world
    shop = member(web, "boutique", kind="merchant", legal_id="123456789")
    for handle in ("bob", "carol"):
        member(web, handle, cents=10_000)
    listing = world.listing("boutique", "Affiche", 1_000, stock=5)
    world.post("bob", "@payez j'achète", in_reply_to=listing.id)
    world.post("carol", "@payez j'achète", in_reply_to=listing.id)
    world.run()
    with world.ctx.engine.connect() as conn:
        first_order = conn.execute(sa.select(sa.func.min(orders.c.id))).scalar_one()
    refund_merchant_order(world.ctx, world.users["boutique"], int(first_order))
    january = world.balance("boutique")
    at(web, datetime(2026, 2, 10, 12, tzinfo=UTC))
    world.post("bob", "@payez j'achète", in_reply_to=listing.id)
    world.post("carol", "@payez j'achète", in_reply_to=listing.id)
    world.run()
    february = world.balance("boutique") - january
    assert shop.log_in(shop.email).status_code == 303

    chart = drawn(shop.get("/merchant").text, "chart-sales")
    assert (chart.values[("2026-01", "sales")], chart.values[("2026-02", "sales")]) == (
        january,
        february,
    )
    assert (january, february) == (1_000, 2_000)
    assert sum(chart.values.values()) == world.balance("boutique")
    assert chart.groups["2026-01"]["data-count"] == "1"
    assert chart.groups["2026-02"]["data-count"] == "2"
    assert chart.table["2026-02"][1:] == ["20,00\u00a0€", "2"]


def test_the_back_office_sees_each_days_volume_refusals_and_flags(database_url: str) -> None:
    with web_world(database_url, velocity_burst_count=3) as web:
        world = web.world
        for handle in ("alice", "bob"):
            member(web, handle, cents=20_000)
        ops: Browser = web.browser()
        assert ops.sign_up("ops@example.org", name="Olga").status_code == 303
        grant_operator(world.ctx, "ops@example.org")
        before = last_transfer(web)
        world.post("alice", "@payez envoie 12€ à @bob")
        world.post("alice", "@payez envoie 1000€ à @bob")  # refused: over the limit
        world.run()
        world.later(days=1)
        for n in range(4):  # a burst: the velocity rule flags it
            world.post("bob", f"@payez envoie 1€ à @alice {n}")
        world.post("bob", "@payez envoie 1 000 000€ à @alice")
        world.run()
        flags = list_flags(world.ctx, "open", 1).total
        assert flags > 0
        page = ops.get("/backoffice?lang=fr")
        assert page.status_code == 200
        volume = drawn(page.text, "chart-volume")
        alerts = drawn(page.text, "chart-alerts", unit="count")
        assert len(volume.groups) == 30 and sorted(volume.groups)[-1] == "2026-01-02"
        bob_wallet, alice_wallet = wallet_of(web, "bob"), wallet_of(web, "alice")
        upto = last_transfer(web)
        moved = sum(ledger_between_members(web, bob_wallet, before, upto))
        assert moved == ledger_between_members(web, alice_wallet, before, upto)[0] + 1_200
        assert volume.values[("2026-01-01", "volume")] == 1_200
        assert volume.values[("2026-01-02", "volume")] == 400
        assert sum(volume.values.values()) == moved
        assert volume.groups["2026-01-02"]["data-count"] == "4"
        assert alerts.values[("2026-01-01", "refused")] == 1
        assert alerts.values[("2026-01-02", "refused")] == 1
        assert sum(v for (_, s), v in alerts.values.items() if s == "flagged") == flags
        assert "Refus" in alerts.title
        # Only operators see it.
        stranger = web.browser()
        assert stranger.sign_up("mallory@example.org", name="Mallory").status_code == 303
        assert stranger.get("/backoffice").status_code == 403
