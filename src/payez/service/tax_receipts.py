"""Use case: a donor's yearly tax receipt (reçu fiscal) for their gifts to one association.

One receipt per (donor, association, calendar year), for a year that is over, so its amount is
final. Its order number is the association's next one, without gaps: the association's counter
row is locked while the number is taken and the receipt written, in one transaction, so
concurrent requests queue on it and a failed one gives its number back by rolling back.
Asking again returns the same receipt, number and amount. Only the donor and the association
can read a receipt; for anyone else it does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from payez.adapters.db.tables.campaigns import (
    receipt_counters,
    tax_receipt_payments,
    tax_receipts,
)
from payez.adapters.db.tables.payments import payments, users
from payez.adapters.db.tables.web import identity_checks
from payez.domain.errors import InvalidInput, NotFound
from payez.domain.money import Money
from payez.domain.tax_receipts import TaxReceipt, tax_article_for
from payez.service.campaigns import (
    COUNTED_STATES,
    PARIS,
    DonorSettings,
    day_start,
    donor_settings,
    load_association,
    paris_today,
)
from payez.service.context import ServiceContext


class ReceiptUnknown(NotFound):
    code = "receipt_unknown"
    message_fr = "Reçu inconnu."
    message_en = "Unknown receipt."


class NoDonations(NotFound):
    code = "no_donations"
    message_fr = "Aucun don à cette association cette année-là."
    message_en = "No donation to this association that year."


class YearNotOver(InvalidInput):
    code = "receipt_year_not_over"
    message_fr = "Le reçu d'une année est disponible à partir du 1er janvier suivant."
    message_en = "A year's receipt is available from the following 1 January."


class DonorAddressMissing(InvalidInput):
    code = "donor_address_missing"
    message_fr = "Indiquez votre adresse postale : elle figure sur le reçu fiscal."
    message_en = "Give your postal address: it is printed on the tax receipt."


class AssociationNotReady(InvalidInput):
    code = "association_not_ready"
    message_fr = (
        "Cette association ne peut pas encore émettre de reçus fiscaux "
        "(adresse, objet ou SIREN/RNA manquant)."
    )
    message_en = (
        "This association cannot issue tax receipts yet (address, object or SIREN/RNA missing)."
    )


@dataclass(frozen=True, slots=True)
class DonationYear:
    """A donor's gifts to one association in one year, and the receipt if it was issued."""

    association_user_id: int
    association_name: str
    year: int
    total: Money
    gifts: int
    receipt_id: int | None
    receipt_number: int | None
    year_over: bool


def _donor_name(conn: Connection, user_id: int, display_name: str) -> str:
    """The name the identity check verified, when there is one; else the account's name."""
    verified = conn.execute(
        sa.select(identity_checks.c.full_name)
        .where(identity_checks.c.user_id == user_id, identity_checks.c.outcome == "passed")
        .order_by(identity_checks.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return str(verified or display_name)[:120]


def _gifts(
    conn: Connection, donor_user_id: int, association_user_id: int, year: int
) -> list[sa.Row[tuple[object, ...]]]:
    return list(
        conn.execute(
            sa.select(payments.c.id, payments.c.amount_cents, payments.c.created_at)
            .where(
                payments.c.kind == "donation",
                payments.c.state.in_(COUNTED_STATES),
                payments.c.sender_user_id == donor_user_id,
                payments.c.recipient_user_id == association_user_id,
                payments.c.created_at >= day_start(date(year, 1, 1)),
                payments.c.created_at < day_start(date(year + 1, 1, 1)),
            )
            .order_by(payments.c.created_at, payments.c.id)
        )
    )


def _lock_counter(conn: Connection, association_user_id: int) -> int:
    """Create the association's counter if needed, lock it, and return its last number."""
    insert = (
        postgresql.insert(receipt_counters)
        if conn.dialect.name == "postgresql"
        else sqlite.insert(receipt_counters)
    )
    conn.execute(
        insert.values(
            association_user_id=association_user_id, last_number=0
        ).on_conflict_do_nothing(index_elements=["association_user_id"])
    )
    return int(
        conn.execute(
            sa.select(receipt_counters.c.last_number)
            .where(receipt_counters.c.association_user_id == association_user_id)
            .with_for_update()
        ).scalar_one()
    )


def _receipt(row: sa.Row[tuple[object, ...]]) -> TaxReceipt:
    m = row._mapping
    dates = tuple(date.fromisoformat(d) for d in str(m["donation_dates"]).split(",") if d)
    return TaxReceipt(
        id=int(m["id"]),
        number=int(m["number"]),
        year=int(m["year"]),
        association_user_id=int(m["association_user_id"]),
        association_name=str(m["association_name"]),
        association_address=str(m["association_address"]),
        association_object=str(m["association_object"]),
        association_legal_id=str(m["association_legal_id"]),
        donor_user_id=int(m["donor_user_id"]),
        donor_name=str(m["donor_name"]),
        donor_address=str(m["donor_address"]),
        amount=Money.eur(int(m["amount_cents"])),
        donation_dates=dates,
        tax_article=str(m["tax_article"]),
        issued_at=m["issued_at"],
    )


def _existing(
    conn: Connection, donor_user_id: int, association_user_id: int, year: int
) -> TaxReceipt | None:
    row = conn.execute(
        sa.select(tax_receipts).where(
            tax_receipts.c.association_user_id == association_user_id,
            tax_receipts.c.donor_user_id == donor_user_id,
            tax_receipts.c.year == year,
        )
    ).first()
    return _receipt(row) if row else None


def issue_receipt(
    ctx: ServiceContext, donor_user_id: int, association_user_id: int, year: int
) -> TaxReceipt:
    """The donor's receipt for ``year``'s gifts to the association, issued on first request."""
    if year >= paris_today(ctx).year:
        raise YearNotOver(str(year))
    with ctx.engine.connect() as conn:
        found = _existing(conn, donor_user_id, association_user_id, year)
    if found is not None:
        return found
    settings: DonorSettings = donor_settings(ctx, donor_user_id)
    with ctx.engine.begin() as conn:
        association = load_association(conn, association_user_id)
        if association is None:
            raise NoDonations(str(association_user_id))
        gifts = _gifts(conn, donor_user_id, association_user_id, year)
        if not gifts:
            raise NoDonations(f"{association_user_id}/{year}")
        if not (association.address and association.object and association.legal_id):
            raise AssociationNotReady(str(association_user_id))
        if not settings.address:
            raise DonorAddressMissing()
        last = _lock_counter(conn, association_user_id)
        # Read again under the lock: a concurrent request may have issued it meanwhile.
        found = _existing(conn, donor_user_id, association_user_id, year)
        if found is not None:
            return found
        donor = conn.execute(
            sa.select(users.c.kind, users.c.display_name).where(users.c.id == donor_user_id)
        ).one()
        number = last + 1
        conn.execute(
            receipt_counters.update()
            .where(receipt_counters.c.association_user_id == association_user_id)
            .values(last_number=number)
        )
        days = sorted({g.created_at.astimezone(PARIS).date() for g in gifts})
        receipt_id = conn.execute(
            tax_receipts.insert()
            .values(
                association_user_id=association_user_id,
                number=number,
                donor_user_id=donor_user_id,
                year=year,
                amount_cents=sum(int(g.amount_cents) for g in gifts),
                donation_dates=",".join(d.isoformat() for d in days),
                association_name=association.name,
                association_address=association.address,
                association_object=association.object,
                association_legal_id=association.legal_id,
                donor_name=_donor_name(conn, donor_user_id, str(donor.display_name)),
                donor_address=settings.address,
                tax_article=tax_article_for(str(donor.kind)),
                issued_at=ctx.now(),
            )
            .returning(tax_receipts.c.id)
        ).scalar_one()
        conn.execute(
            tax_receipt_payments.insert(),
            [{"receipt_id": receipt_id, "payment_id": g.id} for g in gifts],
        )
        row = conn.execute(sa.select(tax_receipts).where(tax_receipts.c.id == receipt_id)).one()
        return _receipt(row)


def receipt_for(ctx: ServiceContext, viewer_user_id: int, receipt_id: int) -> TaxReceipt:
    """A receipt its donor or its association asks for; for anyone else it does not exist."""
    with ctx.engine.connect() as conn:
        row = conn.execute(
            sa.select(tax_receipts).where(
                tax_receipts.c.id == receipt_id,
                sa.or_(
                    tax_receipts.c.donor_user_id == viewer_user_id,
                    tax_receipts.c.association_user_id == viewer_user_id,
                ),
            )
        ).first()
    if row is None:
        raise ReceiptUnknown(str(receipt_id))
    return _receipt(row)


def donation_years(ctx: ServiceContext, donor_user_id: int) -> list[DonationYear]:
    """The donor's gifts grouped by association and year, newest year first."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                payments.c.recipient_user_id,
                users.c.display_name,
                payments.c.amount_cents,
                payments.c.created_at,
            )
            .join(users, users.c.id == payments.c.recipient_user_id)
            .where(
                payments.c.kind == "donation",
                payments.c.state.in_(COUNTED_STATES),
                payments.c.sender_user_id == donor_user_id,
            )
        ).all()
        issued = {
            (int(r.association_user_id), int(r.year)): (int(r.id), int(r.number))
            for r in conn.execute(
                sa.select(
                    tax_receipts.c.id,
                    tax_receipts.c.number,
                    tax_receipts.c.association_user_id,
                    tax_receipts.c.year,
                ).where(tax_receipts.c.donor_user_id == donor_user_id)
            )
        }
    groups: dict[tuple[int, int], tuple[str, int, int]] = {}
    for association_id, name, cents, created_at in rows:
        year = created_at.astimezone(PARIS).year
        key = (int(association_id), year)
        _name, total, count = groups.get(key, (str(name), 0, 0))
        groups[key] = (str(name), total + int(cents), count + 1)
    this_year = paris_today(ctx).year
    result = [
        DonationYear(
            association_user_id=association_id,
            association_name=name,
            year=year,
            total=Money.eur(total),
            gifts=count,
            receipt_id=issued.get((association_id, year), (None, None))[0],
            receipt_number=issued.get((association_id, year), (None, None))[1],
            year_over=year < this_year,
        )
        for (association_id, year), (name, total, count) in groups.items()
    ]
    return sorted(result, key=lambda d: (-d.year, d.association_name))


def receipts_of_association(ctx: ServiceContext, association_user_id: int) -> list[TaxReceipt]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(tax_receipts)
            .where(tax_receipts.c.association_user_id == association_user_id)
            .order_by(tax_receipts.c.number.desc())
        ).all()
    return [_receipt(r) for r in rows]
