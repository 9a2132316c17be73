"""Use cases of associations: their profile, campaigns and what they raised, donors' choices.

What a campaign has raised is read from the payments the ledger settled: donations
(``kind = 'donation'``) to the association in state ``settled`` or ``claimed``, made since the
campaign's first day (and up to its last, when it has one), days counted in Paris time.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.tables.campaigns import (
    association_profiles,
    campaigns,
    donor_profiles,
    tax_receipts,
)
from payez.adapters.db.tables.payments import payments, social_links, users
from payez.domain.errors import InvalidInput, Language, NotFound
from payez.domain.money import Money
from payez.service.context import ServiceContext
from payez.service.create_listing import PriceInvalid, PriceOutOfRange, parse_price

PARIS = ZoneInfo("Europe/Paris")
COUNTED_STATES = ("settled", "claimed")
GOAL_MAX_CENTS = 100_000_000_00  # one hundred million euros: beyond, a typing slip
TITLE_MAX_LENGTH = 120
DESCRIPTION_MAX_LENGTH = 2000
ADDRESS_MAX_LENGTH = 300
OBJECT_MAX_LENGTH = 300


class AssociationOnly(NotFound):
    """The association pages do not exist for other accounts."""

    code = "association_only"
    message_fr = "Cette page est réservée aux associations."
    message_en = "This page is for associations only."


class AssociationUnknown(NotFound):
    code = "association_unknown"
    message_fr = "Association inconnue."
    message_en = "Unknown association."


class CampaignUnknown(NotFound):
    code = "campaign_unknown"
    message_fr = "Campagne inconnue."
    message_en = "Unknown campaign."


class CampaignInvalid(InvalidInput):
    code = "campaign_invalid"
    message_fr = (
        "Donnez un titre (1 à 120 caractères), un objectif en euros et une date de début "
        "(la date de fin, facultative, ne peut pas la précéder)."
    )
    message_en = (
        "Give a title (1 to 120 characters), a goal in euros and a start date "
        "(the optional end date cannot come before it)."
    )


class GoalInvalid(InvalidInput):
    code = "goal_invalid"
    message_fr = "Objectif invalide : un montant positif en euros, comme 5000 ou 5 000,00."
    message_en = "Invalid goal: a positive amount in euros, such as 5000 or 5,000.00."


class ProfileInvalid(InvalidInput):
    code = "association_profile_invalid"
    message_fr = "Indiquez l'adresse et l'objet de l'association (300 caractères au plus chacun)."
    message_en = "Give the association's address and object (300 characters at most each)."


class AddressInvalid(InvalidInput):
    code = "address_invalid"
    message_fr = "L'adresse compte 300 caractères au plus."
    message_en = "The address is 300 characters at most."


@dataclass(frozen=True, slots=True)
class AssociationProfile:
    user_id: int
    name: str
    legal_id: str | None
    verified: bool
    address: str
    object: str
    handles: tuple[tuple[str, str], ...]  # (network, handle)


@dataclass(frozen=True, slots=True)
class Campaign:
    id: int
    association_user_id: int
    title: str
    description: str
    goal: Money
    starts_on: date
    ends_on: date | None


@dataclass(frozen=True, slots=True)
class CampaignProgress:
    campaign: Campaign
    raised: Money
    donors: tuple[str, ...]  # names of the donors who chose to appear, first gift first

    @property
    def percent(self) -> int:
        """0–100 for the progress bar (a campaign past its goal shows a full bar)."""
        return min(100, self.raised.cents * 100 // self.campaign.goal.cents)


@dataclass(frozen=True, slots=True)
class DonorSettings:
    address: str
    show_name: bool


def day_start(day: date) -> datetime:
    """The first instant of ``day`` in Paris, in UTC (how payments are stored)."""
    return datetime.combine(day, time(0), tzinfo=PARIS).astimezone(UTC)


def paris_today(ctx: ServiceContext) -> date:
    return ctx.now().astimezone(PARIS).date()


def _association_row(conn: Connection, user_id: int) -> Any:
    return conn.execute(
        sa.select(
            users.c.id,
            users.c.kind,
            users.c.display_name,
            users.c.legal_id,
            users.c.organisation_verified,
            association_profiles.c.address,
            association_profiles.c.object,
        )
        .outerjoin(association_profiles, association_profiles.c.user_id == users.c.id)
        .where(users.c.id == user_id)
    ).first()


def load_association(conn: Connection, user_id: int) -> AssociationProfile | None:
    """The association with this user id, or None when the account is not an association."""
    row = _association_row(conn, user_id)
    if row is None or row.kind != "association":
        return None
    handles = conn.execute(
        sa.select(social_links.c.network, social_links.c.handle)
        .where(social_links.c.user_id == user_id)
        .order_by(social_links.c.id)
    )
    return AssociationProfile(
        user_id=int(row.id),
        name=str(row.display_name),
        legal_id=str(row.legal_id) if row.legal_id else None,
        verified=bool(row.organisation_verified),
        address=str(row.address or ""),
        object=str(row.object or ""),
        handles=tuple((str(n), str(h)) for n, h in handles),
    )


def association_profile(ctx: ServiceContext, user_id: int) -> AssociationProfile:
    """The logged-in association's own profile; any other account gets "not found"."""
    with ctx.engine.connect() as conn:
        found = load_association(conn, user_id)
    if found is None:
        raise AssociationOnly()
    return found


def public_association(ctx: ServiceContext, handle: str) -> AssociationProfile:
    """A verified association by one of its social handles (the page donors are sent to)."""
    with ctx.engine.connect() as conn:
        user_id = conn.execute(
            sa.select(users.c.id)
            .join(social_links, social_links.c.user_id == users.c.id)
            .where(
                social_links.c.handle == handle.lstrip("@").lower()[:320],
                users.c.kind == "association",
                users.c.organisation_verified.is_(True),
            )
            .order_by(social_links.c.id)
            .limit(1)
        ).scalar_one_or_none()
        found = load_association(conn, int(user_id)) if user_id is not None else None
    if found is None:
        raise AssociationUnknown(handle[:40])
    return found


def save_association_profile(
    ctx: ServiceContext, user_id: int, *, address: str, object_: str
) -> None:
    clean_address = " ".join(address.split())
    clean_object = " ".join(object_.split())
    if not (0 < len(clean_address) <= ADDRESS_MAX_LENGTH) or not (
        0 < len(clean_object) <= OBJECT_MAX_LENGTH
    ):
        raise ProfileInvalid()
    with ctx.engine.begin() as conn:
        if load_association(conn, user_id) is None:
            raise AssociationOnly()
        values = {"address": clean_address, "object": clean_object, "updated_at": ctx.now()}
        changed = conn.execute(
            association_profiles.update()
            .where(association_profiles.c.user_id == user_id)
            .values(**values)
        )
        if changed.rowcount == 0:
            conn.execute(association_profiles.insert().values(user_id=user_id, **values))


def _parse_day(text: str) -> date | None:
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        return date.fromisoformat(cleaned[:10])
    except ValueError as exc:
        raise CampaignInvalid(cleaned[:20]) from exc


def create_campaign(
    ctx: ServiceContext,
    association_user_id: int,
    *,
    title: str,
    description: str,
    goal: str,
    starts_on: str,
    ends_on: str = "",
) -> int:
    """Record a campaign of the association; returns its id. Nothing is written on error."""
    clean_title = " ".join(title.split())
    clean_description = description.strip()
    if not clean_title or len(clean_title) > TITLE_MAX_LENGTH:
        raise CampaignInvalid("title")
    if len(clean_description) > DESCRIPTION_MAX_LENGTH:
        raise CampaignInvalid("description")
    try:
        amount = parse_price(goal, GOAL_MAX_CENTS)
    except (PriceInvalid, PriceOutOfRange) as exc:
        raise GoalInvalid(goal[:40]) from exc
    first = _parse_day(starts_on) or paris_today(ctx)
    last = _parse_day(ends_on)
    if last is not None and last < first:
        raise CampaignInvalid("dates")
    with ctx.engine.begin() as conn:
        if load_association(conn, association_user_id) is None:
            raise AssociationOnly()
        result = conn.execute(
            campaigns.insert()
            .values(
                association_user_id=association_user_id,
                title=clean_title,
                description=clean_description,
                goal_cents=amount.cents,
                starts_on=first,
                ends_on=last,
                created_at=ctx.now(),
            )
            .returning(campaigns.c.id)
        )
        return int(result.scalar_one())


def _campaign(row: sa.Row[tuple[object, ...]]) -> Campaign:
    m = row._mapping
    return Campaign(
        id=int(m["id"]),
        association_user_id=int(m["association_user_id"]),
        title=str(m["title"]),
        description=str(m["description"]),
        goal=Money.eur(int(m["goal_cents"])),
        starts_on=m["starts_on"],
        ends_on=m["ends_on"],
    )


def _donations_filter(association_user_id: int, campaign: Campaign) -> list[sa.ColumnElement[bool]]:
    conditions = [
        payments.c.kind == "donation",
        payments.c.state.in_(COUNTED_STATES),
        payments.c.recipient_user_id == association_user_id,
        payments.c.created_at >= day_start(campaign.starts_on),
    ]
    if campaign.ends_on is not None:
        conditions.append(payments.c.created_at < day_start(campaign.ends_on + timedelta(days=1)))
    return conditions


def _progress(conn: Connection, campaign: Campaign) -> CampaignProgress:
    conditions = _donations_filter(campaign.association_user_id, campaign)
    raised = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(payments.c.amount_cents), 0)).where(*conditions)
    ).scalar_one()
    first_gift = sa.func.min(payments.c.id)
    names = conn.execute(
        sa.select(users.c.display_name, first_gift)
        .join(users, users.c.id == payments.c.sender_user_id)
        .join(donor_profiles, donor_profiles.c.user_id == users.c.id)
        .where(*conditions, donor_profiles.c.show_name.is_(True))
        .group_by(users.c.id, users.c.display_name)
        .order_by(first_gift)
    )
    return CampaignProgress(campaign, Money.eur(int(raised)), tuple(str(n) for n, _ in names))


def campaign_progress(ctx: ServiceContext, campaign_id: int) -> CampaignProgress:
    with ctx.engine.connect() as conn:
        row = conn.execute(sa.select(campaigns).where(campaigns.c.id == campaign_id)).first()
        if row is None:
            raise CampaignUnknown(str(campaign_id))
        return _progress(conn, _campaign(row))


def campaigns_of(ctx: ServiceContext, association_user_id: int) -> list[CampaignProgress]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(campaigns)
            .where(campaigns.c.association_user_id == association_user_id)
            .order_by(campaigns.c.starts_on.desc(), campaigns.c.id.desc())
        ).all()
        return [_progress(conn, _campaign(r)) for r in rows]


def donor_settings(ctx: ServiceContext, user_id: int) -> DonorSettings:
    with ctx.engine.connect() as conn:
        row = conn.execute(
            sa.select(donor_profiles.c.address, donor_profiles.c.show_name).where(
                donor_profiles.c.user_id == user_id
            )
        ).first()
    if row is None:
        return DonorSettings(address="", show_name=False)
    return DonorSettings(address=str(row.address or ""), show_name=bool(row.show_name))


def save_donor_settings(
    ctx: ServiceContext, user_id: int, *, address: str, show_name: bool
) -> None:
    clean_address = " ".join(address.split())
    if len(clean_address) > ADDRESS_MAX_LENGTH:
        raise AddressInvalid()
    values = {"address": clean_address or None, "show_name": show_name, "updated_at": ctx.now()}
    with ctx.engine.begin() as conn:
        changed = conn.execute(
            donor_profiles.update().where(donor_profiles.c.user_id == user_id).values(**values)
        )
        if changed.rowcount == 0:
            conn.execute(donor_profiles.insert().values(user_id=user_id, **values))


def _csv_amount(amount: Money, language: Language) -> str:
    units, cents = divmod(amount.cents, 100)
    return f"{units}{',' if language == 'fr' else '.'}{cents:02d}"


def yearly_summary_csv(
    ctx: ServiceContext, association_user_id: int, year: int, language: Language
) -> str:
    """One line per donor of ``year``: name, number of gifts, total, receipt number if issued.

    For the association's yearly declaration of the gifts it acknowledged (or may yet).
    """
    if not 2000 <= year <= 2100:
        raise InvalidInput(str(year))
    with ctx.engine.connect() as conn:
        if load_association(conn, association_user_id) is None:
            raise AssociationOnly()
        rows = conn.execute(
            sa.select(
                users.c.display_name,
                sa.func.count(payments.c.id).label("gifts"),
                sa.func.sum(payments.c.amount_cents).label("total"),
                tax_receipts.c.number,
            )
            .join(users, users.c.id == payments.c.sender_user_id)
            .outerjoin(
                tax_receipts,
                sa.and_(
                    tax_receipts.c.association_user_id == association_user_id,
                    tax_receipts.c.donor_user_id == payments.c.sender_user_id,
                    tax_receipts.c.year == year,
                ),
            )
            .where(
                payments.c.kind == "donation",
                payments.c.state.in_(COUNTED_STATES),
                payments.c.recipient_user_id == association_user_id,
                payments.c.created_at >= day_start(date(year, 1, 1)),
                payments.c.created_at < day_start(date(year + 1, 1, 1)),
            )
            .group_by(users.c.id, users.c.display_name, tax_receipts.c.number)
            .order_by(users.c.display_name, users.c.id)
        ).all()
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if language == "fr" else ",", lineterminator="\r\n")
    if language == "fr":
        writer.writerow(["Donateur", "Dons", "Total (EUR)", "Reçu n°"])
    else:
        writer.writerow(["Donor", "Gifts", "Total (EUR)", "Receipt no."])
    for name, gifts, total, number in rows:
        safe_name = "'" + name if str(name).startswith(("=", "+", "-", "@", "\t", "\r")) else name
        writer.writerow(
            [
                safe_name,
                int(gifts),
                _csv_amount(Money.eur(int(total)), language),
                f"{number:06d}" if number is not None else "",
            ]
        )
    return out.getvalue()
