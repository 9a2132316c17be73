"""Cashing out from the web: the money is held at once, a refusal holds nothing."""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.ledger import SqlLedger
from payez.adapters.db.tables.payments import users
from payez.domain.money import Money
from payez.service.context import ServiceContext
from payez.service.load_wallet import load_wallet
from tests.integration.web_world import web_world

IBAN_FR = "FR14 2004 1010 0505 0001 3M02 606"


def held_and_posted(ctx: ServiceContext, user_id: int) -> tuple[int, int]:
    engine = ctx.engine
    with engine.connect() as conn:
        wallet = conn.execute(
            sa.select(users.c.wallet_account_id).where(users.c.id == user_id)
        ).scalar_one()
        balance = SqlLedger(conn).balance(int(wallet))
        return balance.pending_out.cents, balance.posted.cents


def test_a_verified_user_cashes_out_and_a_bad_request_holds_nothing(database_url: str) -> None:
    with web_world(database_url) as web:
        alice = web.browser(**{"accept-language": "en"})
        assert alice.sign_up("alice@example.org").status_code == 303
        user_id = alice.user_id()
        with web.world.ctx.engine.begin() as conn:
            load_wallet(conn, user_id, Money.eur(5000), "test:load")
        form = {"amount": "12,50", "iban": IBAN_FR, "name": "Alice Martin"}
        refused = alice.submit("/payouts", form)
        assert refused.status_code == 400  # no payout before the identity check
        assert held_and_posted(web.world.ctx, user_id) == (0, 5000)
        with web.world.ctx.engine.begin() as conn:
            conn.execute(users.update().where(users.c.id == user_id).values(identity_verified=True))
        for bad in (
            {**form, "iban": "FR00 1234"},
            {**form, "amount": "12,505"},
            {**form, "amount": "80"},
            {**form, "amount": "-3"},
        ):
            assert alice.submit("/payouts", bad).status_code == 400
        assert held_and_posted(web.world.ctx, user_id) == (0, 5000)
        assert alice.submit("/payouts", form).status_code == 303
        assert held_and_posted(web.world.ctx, user_id) == (1250, 5000)
        page = alice.get("/payouts").text
        assert "€12.50" in page
        assert "requested" in page
        no_csrf = alice.client.post("/payouts", data=form, follow_redirects=False)
        assert no_csrf.status_code == 403
        mallory = web.browser()
        assert mallory.sign_up("mallory@example.org", name="Mallory").status_code == 303
        assert "12.50" not in mallory.get("/payouts").text
        assert "12,50" not in mallory.get("/payouts").text
        assert held_and_posted(web.world.ctx, user_id) == (1250, 5000)
