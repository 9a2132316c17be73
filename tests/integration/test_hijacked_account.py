"""Someone who takes over a member's social account can post payment orders, but cannot drain
the wallet: past the strong-authentication exemptions (30 € a payment, 100 € or 5 payments since
the last confirmation) every payment waits for a confirmation only the member can give in the
app, and the flood is flagged for an operator's review (who may freeze the account:
``test_backoffice_actions``)."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from payez.adapters.db.tables.backoffice import payment_flags
from payez.adapters.db.tables.payments import payments
from tests.integration.pipeline_world import World


def _states(world: World) -> Counter[str]:
    with world.ctx.engine.connect() as conn:
        return Counter(s for (s,) in conn.execute(sa.select(payments.c.state)))


def test_a_hijacked_account_moves_no_more_than_the_exemptions_allow(database_url: str) -> None:
    world = World.create(database_url, confirm="psd2")
    world.join("alice", cents=100_000)
    world.join("mallory", cents=0)
    for _ in range(20):
        world.post("alice", "@payez envoie 29€ à @mallory")
    for _ in range(30):
        world.post("alice", "@payez envoie 0,50€ à @mallory spam spam spam")
    world.run()

    states = _states(world)
    assert states["settled"] + states["awaiting_confirmation"] == 50
    # Three of 29 € (the fourth would pass 100 €), then two of 0,50 € (five payments): then
    # every order waits for Alice's confirmation.
    assert states["settled"] == 5
    assert world.balance("mallory") == 3 * 2_900 + 2 * 50
    assert world.balance("alice") == 100_000 - world.balance("mallory")
    with world.ctx.engine.connect() as conn:
        flagged = conn.execute(sa.select(sa.func.count()).select_from(payment_flags)).scalar()
    assert flagged and flagged > 0  # the burst is put before an operator
    world.assert_ledger_sound()
