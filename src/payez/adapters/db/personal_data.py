"""Where Payez keeps data about a user: one declarative line per table.

The data export reads every ``Source`` below, and account closure applies each one's
``on_closure`` (keep: a record the law makes us retain; delete; or pseudonymise, for the user
row and the wallet's label). Every table of the schema is either a source or in
``NOT_ABOUT_A_USER`` with its reason; a test enforces it, so a new table is one more line here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Connection

from payez.adapters.db.tables.account_links import email_link_requests, password_resets
from payez.adapters.db.tables.backoffice import audit_log, operators, payment_flags
from payez.adapters.db.tables.campaigns import (
    association_profiles,
    campaigns,
    donor_profiles,
    receipt_counters,
    tax_receipt_payments,
    tax_receipts,
)
from payez.adapters.db.tables.card_charges import card_charges
from payez.adapters.db.tables.emails import emails
from payez.adapters.db.tables.ledger import (
    ledger_account_names,
    ledger_accounts,
    ledger_transfers,
)
from payez.adapters.db.tables.link_codes import link_codes
from payez.adapters.db.tables.listing_details import listing_details
from payez.adapters.db.tables.merchant_api import (
    api_idempotency,
    api_keys,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
)
from payez.adapters.db.tables.notifications import notifications
from payez.adapters.db.tables.payment_requests import payment_requests, public_profiles
from payez.adapters.db.tables.payments import (
    inbox,
    listings,
    orders,
    outbox,
    payments,
    social_links,
    users,
)
from payez.adapters.db.tables.payouts import payouts
from payez.adapters.db.tables.recovery_codes import recovery_code_reveals, recovery_codes
from payez.adapters.db.tables.second_factor import (
    confirmation_attempts,
    totp_secrets,
    webauthn_challenges,
    webauthn_credentials,
)
from payez.adapters.db.tables.web import identity_checks, login_attempts, user_cards, web_sessions

OnClosure = Literal["keep", "delete", "pseudonymise"]

SECRET = "a secret: useless to you, dangerous if copied"
BEARER_LINK = "a one-time link token: whoever holds it may act"


@dataclass(frozen=True, slots=True)
class Subject:
    """The user the data is about, and the keys their rows are found by."""

    user_id: int
    email: str | None
    wallet_account_id: int
    card_customer_id: str | None
    accounts: tuple[tuple[str, str], ...]  # (network, immutable account id)


Relation = Callable[[Subject], ColumnElement[bool]]


@dataclass(frozen=True, slots=True)
class Source:
    table: sa.Table
    about: Relation
    on_closure: OnClosure
    why: str  # why it is kept (or deleted) at closure: the privacy page says the same
    omit: Mapping[str, str] = field(default_factory=dict)  # column -> why it is left out


def _mine(column: sa.Column[Any]) -> Relation:
    return lambda s: column == s.user_id


def _any_mine(*columns: sa.Column[Any]) -> Relation:
    return lambda s: sa.or_(*(c == s.user_id for c in columns))


def _my_payment_ids(s: Subject) -> sa.Select[Any]:
    return sa.select(payments.c.id).where(_payments_about(s))


def _payments_about(s: Subject) -> ColumnElement[bool]:
    return sa.or_(
        payments.c.sender_user_id == s.user_id,
        payments.c.recipient_user_id == s.user_id,
        _on_my_accounts(s, payments.c.network, payments.c.recipient_account_id),
    )


def _on_my_accounts(
    s: Subject, network: sa.Column[Any], account: sa.Column[Any]
) -> ColumnElement[bool]:
    return sa.or_(sa.false(), *((network == n) & (account == a) for n, a in s.accounts))


def _my_delivery_ids(s: Subject) -> sa.Select[Any]:
    return sa.select(webhook_deliveries.c.id).where(
        webhook_deliveries.c.endpoint_id.in_(
            sa.select(webhook_endpoints.c.id).where(webhook_endpoints.c.user_id == s.user_id)
        )
    )


def _by_email(column: sa.Column[Any]) -> Relation:
    return lambda s: column == s.email if s.email else sa.false()


SOURCES: tuple[Source, ...] = (
    Source(
        users,
        lambda s: sa.or_(users.c.id == s.user_id, users.c.adopted_by_user_id == s.user_id),
        "pseudonymise",
        "name, email and password go; the row stays as the owner of retained records",
        omit={"password_hash": SECRET},
    ),
    Source(
        social_links,
        _mine(social_links.c.user_id),
        "delete",
        "the link to your network accounts ends with the account",
        omit={"access_token_sealed": SECRET},
    ),
    Source(
        payments,
        _payments_about,
        "keep",
        "payment records: 5 years (anti-money-laundering)",
        omit={"claim_token": BEARER_LINK, "confirm_token": BEARER_LINK},
    ),
    Source(
        inbox,
        lambda s: sa.or_(
            inbox.c.id.in_(sa.select(payments.c.inbox_id).where(_payments_about(s))),
            _on_my_accounts(s, inbox.c.network, inbox.c.author_id),
        ),
        "keep",
        "the payment orders (your public posts): 5 years, as the payments",
    ),
    Source(
        outbox,
        lambda s: sa.or_(
            outbox.c.payment_id.in_(_my_payment_ids(s)),
            _on_my_accounts(s, outbox.c.network, outbox.c.recipient_account_id),
        ),
        "keep",
        "Payez's replies about the payments: 5 years, as the payments",
    ),
    Source(
        payment_flags,
        lambda s: payment_flags.c.payment_id.in_(_my_payment_ids(s)),
        "keep",
        "reviews of unusual payments: 5 years (anti-money-laundering)",
    ),
    Source(
        confirmation_attempts,
        _mine(confirmation_attempts.c.user_id),
        "keep",
        "strong authentication of payments: 5 years, as the payments",
    ),
    Source(
        orders,
        _any_mine(orders.c.buyer_user_id, orders.c.merchant_user_id),
        "keep",
        "purchases: 5 years, as the payments",
    ),
    Source(
        payouts,
        _mine(payouts.c.user_id),
        "keep",
        "bank transfers out: 5 years (anti-money-laundering)",
    ),
    Source(
        ledger_accounts,
        lambda s: ledger_accounts.c.id == s.wallet_account_id,
        "pseudonymise",
        "your wallet's account stays in the ledger under the pseudonym",
    ),
    Source(
        ledger_account_names,
        lambda s: ledger_account_names.c.account_id == s.wallet_account_id,
        "pseudonymise",
        "your wallet's name in the ledger: its owner becomes the pseudonym",
    ),
    Source(
        ledger_transfers,
        lambda s: sa.or_(
            ledger_transfers.c.debit_account_id == s.wallet_account_id,
            ledger_transfers.c.credit_account_id == s.wallet_account_id,
        ),
        "keep",
        "the ledger's entries: 5 years (anti-money-laundering, accounting)",
    ),
    Source(
        card_charges,
        lambda s: (
            card_charges.c.customer_id == s.card_customer_id if s.card_customer_id else sa.false()
        ),
        "keep",
        "card payments: 5 years (anti-money-laundering, accounting)",
    ),
    Source(
        identity_checks,
        _mine(identity_checks.c.user_id),
        "keep",
        "know-your-customer records: 5 years after closure (anti-money-laundering)",
    ),
    Source(
        tax_receipts,
        _mine(tax_receipts.c.donor_user_id),
        "keep",
        "tax receipts: 6 years (the association must show them to the tax office)",
    ),
    Source(
        tax_receipt_payments,
        lambda s: tax_receipt_payments.c.receipt_id.in_(
            sa.select(tax_receipts.c.id).where(tax_receipts.c.donor_user_id == s.user_id)
        ),
        "keep",
        "which donations a receipt covers, as the receipts",
    ),
    Source(
        audit_log,
        lambda s: sa.or_(
            audit_log.c.target == sa.literal(f"user:{s.user_id}"),
            audit_log.c.operator_user_id == s.user_id,
        ),
        "keep",
        "the operators' audit log is append-only and kept 5 years",
    ),
    Source(
        operators,
        _mine(operators.c.user_id),
        "delete",
        "a closed account operates nothing",
    ),
    Source(
        web_sessions,
        _mine(web_sessions.c.user_id),
        "delete",
        "login sessions end with the account",
        omit={"token_hash": SECRET},
    ),
    Source(
        login_attempts,
        _by_email(login_attempts.c.email),
        "delete",
        "login attempts are kept 30 days at most, and go at closure",
    ),
    Source(
        user_cards,
        _mine(user_cards.c.user_id),
        "delete",
        "saved cards are forgotten",
    ),
    Source(
        totp_secrets,
        _mine(totp_secrets.c.user_id),
        "delete",
        "second-factor secrets are forgotten",
        omit={"secret_sealed": SECRET},
    ),
    Source(
        webauthn_credentials,
        _mine(webauthn_credentials.c.user_id),
        "delete",
        "passkeys are forgotten",
    ),
    Source(
        webauthn_challenges,
        _mine(webauthn_challenges.c.user_id),
        "delete",
        "passkey challenges are forgotten",
        omit={"challenge": SECRET},
    ),
    Source(
        password_resets,
        _mine(password_resets.c.user_id),
        "delete",
        "password reset links are forgotten",
        omit={"token_hash": SECRET},
    ),
    Source(
        email_link_requests,
        _by_email(email_link_requests.c.email),
        "delete",
        "requests for emailed links, counted against abuse, go at closure",
    ),
    Source(
        recovery_codes,
        _mine(recovery_codes.c.user_id),
        "delete",
        "recovery codes are forgotten",
        omit={"code_hash": SECRET},
    ),
    Source(
        notifications,
        _mine(notifications.c.user_id),
        "delete",
        "notifications in the app are forgotten (the payments they speak of are kept)",
    ),
    Source(
        link_codes,
        _mine(link_codes.c.user_id),
        "delete",
        "codes to link a social account by post are forgotten",
        omit={"code_hash": SECRET},
    ),
    Source(
        recovery_code_reveals,
        _mine(recovery_code_reveals.c.user_id),
        "delete",
        "recovery codes waiting to be shown are forgotten",
        omit={"codes_sealed": SECRET},
    ),
    Source(
        emails,
        lambda s: sa.or_(
            emails.c.user_id == s.user_id,
            emails.c.to_address == s.email if s.email else sa.false(),
        ),
        "delete",
        "emails sent to you are forgotten",
    ),
    Source(
        payment_requests,
        _mine(payment_requests.c.owner_user_id),
        "delete",
        "your payment requests (reasons, links) are forgotten; the payments they received stay",
    ),
    Source(
        public_profiles,
        _mine(public_profiles.c.user_id),
        "delete",
        "your public page is taken down",
    ),
    Source(
        donor_profiles,
        _mine(donor_profiles.c.user_id),
        "delete",
        "your postal address is forgotten (receipts keep their own copy)",
    ),
    Source(
        association_profiles,
        _mine(association_profiles.c.user_id),
        "keep",
        "an association's public address and purpose, printed on its receipts",
    ),
    Source(
        campaigns,
        _mine(campaigns.c.association_user_id),
        "keep",
        "an association's public campaigns, as its receipts",
    ),
    Source(
        receipt_counters,
        _mine(receipt_counters.c.association_user_id),
        "keep",
        "the numbering of an association's receipts",
    ),
    Source(
        listings,
        _mine(listings.c.merchant_user_id),
        "keep",
        "a merchant's public listings, which orders refer to",
    ),
    Source(
        listing_details,
        _mine(listing_details.c.merchant_user_id),
        "keep",
        "a merchant's listings as written on Payez, as the listings",
    ),
    # Children before parents: closure deletes in this order.
    Source(
        webhook_attempts,
        lambda s: webhook_attempts.c.delivery_id.in_(_my_delivery_ids(s)),
        "delete",
        "the log of webhook deliveries ends with the account",
    ),
    Source(
        webhook_deliveries,
        lambda s: webhook_deliveries.c.id.in_(_my_delivery_ids(s)),
        "delete",
        "webhook deliveries end with the account",
    ),
    Source(
        webhook_events,
        _mine(webhook_events.c.user_id),
        "delete",
        "webhook events end with the account (the payments stay as payments)",
    ),
    Source(
        webhook_endpoints,
        _mine(webhook_endpoints.c.user_id),
        "delete",
        "webhook addresses and their secrets end with the account",
        omit={"secret_sealed": SECRET},
    ),
    Source(
        api_idempotency,
        _mine(api_idempotency.c.user_id),
        "delete",
        "the answers kept for retried API requests end with the account",
    ),
    Source(
        api_keys,
        _mine(api_keys.c.user_id),
        "delete",
        "API keys end with the account",
        omit={"secret_hash": SECRET},
    ),
)

THIRD_PARTY = "the sandbox stands for another service (a social network, a card processor)"

NOT_ABOUT_A_USER: Mapping[str, str] = {
    "network_cursors": "where each network listener stopped reading",
    "reply_budget_spends": "how much the service account posted on each network (no person)",
    "processed_webhooks": "card processor events already applied (ids, no person)",
    "payout_batches": "bank files grouping many payouts; your payouts are exported one by one",
    "ledger_write_stamp": "one random number the ledger changes at every write (no person)",
    "sandbox_accounts": THIRD_PARTY,
    "sandbox_apps": THIRD_PARTY,
    "sandbox_authorization_codes": THIRD_PARTY,
    "sandbox_tokens": THIRD_PARTY,
    "sandbox_statuses": THIRD_PARTY,
    "sandbox_mentions": THIRD_PARTY,
    "sandbox_notifications": THIRD_PARTY,
    "sandbox_instance": THIRD_PARTY,
    "sandbox_card_customers": THIRD_PARTY,
    "sandbox_card_methods": THIRD_PARTY,
    "sandbox_card_setups": THIRD_PARTY,
    "sandbox_card_charges": THIRD_PARTY,
    "sandbox_card_refunds": THIRD_PARTY,
    "sandbox_mail": "the sandbox mailbox stands for people's mail servers (development only)",
}


def subject(conn: Connection, user_id: int) -> Subject | None:
    row = conn.execute(
        sa.select(
            users.c.id, users.c.email, users.c.wallet_account_id, users.c.card_customer_id
        ).where(users.c.id == user_id)
    ).first()
    if row is None:
        return None
    linked = conn.execute(
        sa.select(social_links.c.network, social_links.c.account_id)
        .where(social_links.c.user_id == user_id)
        .order_by(social_links.c.id)
    )
    return Subject(
        user_id=int(row.id),
        email=row.email,
        wallet_account_id=int(row.wallet_account_id),
        card_customer_id=row.card_customer_id,
        accounts=tuple((str(r.network), str(r.account_id)) for r in linked),
    )


def exported_columns(source: Source) -> list[sa.Column[Any]]:
    return [c for c in source.table.c if c.name not in source.omit]


def rows_about(conn: Connection, who: Subject, source: Source) -> list[dict[str, Any]]:
    """The rows of ``source`` about ``who``, without the omitted columns, in key order."""
    table = source.table
    query = sa.select(*exported_columns(source)).where(source.about(who))
    query = query.order_by(*(table.primary_key.columns or list(table.c)[:1]))
    return [dict(r._mapping) for r in conn.execute(query)]


def user_columns(source: Source) -> list[str]:
    """Columns naming a user: in an export, anyone but the subject shows as a public handle."""
    return [
        c.name
        for c in source.table.c
        if c.name not in source.omit
        and any(fk.column.table.name == "users" and fk.column.name == "id" for fk in c.foreign_keys)
    ]


def public_handles(conn: Connection, user_ids: set[int]) -> dict[int, str]:
    """Each user's first linked handle (the public name their posts show)."""
    if not user_ids:
        return {}
    rows = conn.execute(
        sa.select(social_links.c.user_id, social_links.c.handle)
        .where(social_links.c.user_id.in_(sorted(user_ids)))
        .order_by(social_links.c.id.desc())
    )
    return {int(r.user_id): f"@{r.handle}" for r in rows}


def close(conn: Connection, who: Subject, pseudonym: str, now: Any) -> None:
    """Apply every source's closure rule to the subject's rows, in the caller's transaction."""
    for source in SOURCES:
        if source.on_closure == "delete":
            conn.execute(source.table.delete().where(source.about(who)))
    conn.execute(
        users.update()
        .where(users.c.id == who.user_id)
        .values(
            display_name=pseudonym,
            email=None,
            email_verified_at=None,
            password_hash=None,
            card_customer_id=None,
            status="closed",
            closed_at=now,
            has_webhooks=False,
        )
    )
    conn.execute(
        ledger_account_names.update()
        .where(ledger_account_names.c.account_id == who.wallet_account_id)
        .values(owner=f"user:{pseudonym}")
    )
    # Accounts a claim once opened and the user was handed: named after their handle.
    adopted = conn.execute(
        sa.select(users.c.id, users.c.wallet_account_id).where(
            users.c.adopted_by_user_id == who.user_id
        )
    ).all()
    for row in adopted:
        name = f"{pseudonym}-{row.id}"
        conn.execute(users.update().where(users.c.id == row.id).values(display_name=name))
        conn.execute(
            ledger_account_names.update()
            .where(ledger_account_names.c.account_id == row.wallet_account_id)
            .values(owner=f"user:{name}")
        )


def lock_wallet(conn: Connection, who: Subject) -> None:
    """Wait for transfers in flight on the wallet (they lock its row), so the balance read
    next is the last one (SQLite's write transactions are already one at a time)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.select(ledger_accounts.c.id)
            .where(ledger_accounts.c.id == who.wallet_account_id)
            .with_for_update()
        )


def pending_for(conn: Connection, who: Subject) -> list[str]:
    """What still moves for the user: why their account cannot be closed yet (empty: nothing).

    ``claims_held``: money they sent waits for its recipient's claim (it may come back to
    them); ``confirmations``: a payment they sent or receive waits for strong confirmation;
    ``payouts``: a bank transfer out is requested or exported, not yet executed.
    """
    found: list[str] = []
    held = conn.execute(
        sa.select(sa.func.count()).where(
            payments.c.sender_user_id == who.user_id, payments.c.state == "held_for_claim"
        )
    ).scalar_one()
    if held:
        found.append("claims_held")
    waiting = conn.execute(
        sa.select(sa.func.count()).where(
            sa.or_(
                payments.c.sender_user_id == who.user_id,
                payments.c.recipient_user_id == who.user_id,
            ),
            payments.c.state == "awaiting_confirmation",
        )
    ).scalar_one()
    if waiting:
        found.append("confirmations")
    in_flight = conn.execute(
        sa.select(sa.func.count()).where(
            payouts.c.user_id == who.user_id, payouts.c.state.in_(("requested", "exported"))
        )
    ).scalar_one()
    if in_flight:
        found.append("payouts")
    return found
