"""Is the command post still there? Asked before money that waited is finally moved."""

from __future__ import annotations

from payez.adapters.db.payments import PaymentRow
from payez.ports.network import NetworkError
from payez.service.context import ServiceContext


def post_was_deleted(ctx: ServiceContext, payment: PaymentRow) -> bool:
    network = ctx.networks.get(payment.network)
    if network is None:
        return False
    try:
        return network.fetch_post(payment.post_id) is None
    except NetworkError:
        return False  # unknown is not deleted: the payment goes on
