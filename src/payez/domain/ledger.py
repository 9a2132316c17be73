"""Double-entry ledger rules: transfers, balances, and the in-memory decision of a batch.

Every movement of money is a :class:`Transfer` that debits one account and credits another by the
same amount, so the posted balances of all accounts sum to zero by construction. A balance is
``credits - debits``: a user's wallet is positive when it holds money, the card-funding account
is negative by the amount that came in from cards.

Two-phase transfers hold money first (``PENDING``) and later either post it (``POST_PENDING``)
or release it (``VOID_PENDING``). A resolving transfer has its own idempotency key, names the
pending transfer by ``pending_key``, and must repeat the pending's debit, credit and amount
exactly (see :meth:`Transfer.posting` and :meth:`Transfer.voiding`): the resolution of a hold
is then readable on its own, and a caller's mistaken idea of what is held is refused instead of
silently corrected. A pending transfer is resolved at most once.

:func:`plan_batch` decides a batch of transfers in order against a snapshot of the accounts and
of the transfers already stored under the keys involved. It is pure: the database adapter loads
the snapshot, calls it, and writes what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from payez.domain.errors import InvalidInput, PayezError
from payez.domain.money import Money

MAX_KEY_LENGTH = 200
MAX_MEMO_LENGTH = 500


class TransferMode(StrEnum):
    POSTED = "posted"
    PENDING = "pending"
    POST_PENDING = "post_pending"
    VOID_PENDING = "void_pending"


ALL_MODES = frozenset(TransferMode)
RESOLVING_MODES = frozenset({TransferMode.POST_PENDING, TransferMode.VOID_PENDING})
# Modes whose amount moves the posted balances.
POSTING_MODES = frozenset({TransferMode.POSTED, TransferMode.POST_PENDING})


@dataclass(frozen=True, slots=True)
class Transfer:
    """A request to move ``amount`` from ``debit`` to ``credit``, identified by ``key``."""

    key: str
    debit: int
    credit: int
    amount: Money
    mode: TransferMode = TransferMode.POSTED
    pending_key: str | None = None
    memo: str | None = None

    def posting(self, key: str, memo: str | None = None) -> Transfer:
        """The transfer that posts this pending transfer in full."""
        return self._resolution(key, TransferMode.POST_PENDING, memo)

    def voiding(self, key: str, memo: str | None = None) -> Transfer:
        """The transfer that releases this pending transfer."""
        return self._resolution(key, TransferMode.VOID_PENDING, memo)

    def _resolution(self, key: str, mode: TransferMode, memo: str | None) -> Transfer:
        return Transfer(key, self.debit, self.credit, self.amount, mode, self.key, memo)


class Applied(NamedTuple):
    """A transfer the ledger holds: stored by this batch, or ``replayed`` from an earlier one.

    A named tuple rather than a frozen dataclass, as is :class:`Recorded`: two are built for
    every transfer, and a named tuple is built in half the time, just as immutable.
    """

    key: str
    transfer_id: int
    replayed: bool


@dataclass(frozen=True, slots=True)
class Balance:
    account_id: int
    posted: Money
    pending_out: Money
    pending_in: Money

    @property
    def available(self) -> Money:
        """What the account can still spend: posted money not held by pending debits."""
        return self.posted - self.pending_out


class LedgerError(PayezError):
    """A ledger rule refused a transfer; that transfer wrote nothing."""

    code = "ledger_error"
    message_fr = "Le mouvement a été refusé."
    message_en = "The transfer was refused."


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"
    message_fr = "Solde insuffisant."
    message_en = "Insufficient funds."


class AccountUnknown(LedgerError, InvalidInput):
    code = "account_unknown"
    message_fr = "Compte inconnu."
    message_en = "Unknown account."


class LedgerCurrencyMismatch(LedgerError, InvalidInput):
    code = "ledger_currency_mismatch"
    message_fr = "La devise du montant ne correspond pas à celle des comptes."
    message_en = "The amount's currency does not match the accounts' currency."


class SameAccount(LedgerError, InvalidInput):
    code = "same_account"
    message_fr = "Un mouvement doit aller d'un compte à un autre compte."
    message_en = "A transfer must go from one account to a different account."


class TransferAmountInvalid(LedgerError, InvalidInput):
    code = "transfer_amount_invalid"
    message_fr = "Le montant d'un mouvement doit être strictement positif."
    message_en = "A transfer amount must be greater than zero."


class TransferKeyInvalid(LedgerError, InvalidInput):
    code = "transfer_key_invalid"
    message_fr = "Clé d'idempotence invalide (1 à 200 caractères) ou mémo trop long."
    message_en = "Invalid idempotency key (1 to 200 characters) or memo too long."


class TransferModeInvalid(LedgerError, InvalidInput):
    code = "transfer_mode_invalid"
    message_fr = "Type de mouvement inconnu."
    message_en = "Unknown transfer mode."


class IdempotencyConflict(LedgerError):
    code = "idempotency_conflict"
    message_fr = "Cette clé a déjà servi pour un mouvement différent."
    message_en = "This key was already used for a different transfer."


class PendingUnknown(LedgerError):
    code = "pending_unknown"
    message_fr = "Aucun mouvement en attente ne correspond."
    message_en = "No matching pending transfer."


class PendingResolved(LedgerError):
    code = "pending_already_resolved"
    message_fr = "Ce mouvement en attente a déjà été validé ou annulé."
    message_en = "This pending transfer was already posted or voided."


class PendingMismatch(LedgerError, InvalidInput):
    code = "pending_mismatch"
    message_fr = "Les comptes ou le montant ne correspondent pas au mouvement en attente."
    message_en = "The accounts or the amount do not match the pending transfer."


class PendingKeyUnexpected(LedgerError, InvalidInput):
    code = "pending_key_unexpected"
    message_fr = "Seule la validation ou l'annulation d'un mouvement en attente le désigne."
    message_en = "Only posting or voiding a pending transfer may name one."


@dataclass(slots=True)
class AccountState:
    """An account as the batch sees it, in integer cents; mutated as transfers apply."""

    id: int
    currency: str
    no_overdraft: bool
    posted: int = 0
    pending_out: int = 0
    pending_in: int = 0

    @property
    def available(self) -> int:
        return self.posted - self.pending_out

    def balance(self) -> Balance:
        c = self.currency
        return Balance(
            self.id, Money(self.posted, c), Money(self.pending_out, c), Money(self.pending_in, c)
        )


class Recorded(NamedTuple):
    """A transfer as stored, with its id; ``resolved`` tells whether a pending one is settled."""

    transfer_id: int
    transfer: Transfer
    resolved: bool = False


@dataclass(slots=True)
class BatchPlan:
    """What a batch does: one result per transfer, the rows to insert, the balance deltas."""

    results: list[Applied | LedgerError] = field(default_factory=list)
    inserts: list[Recorded] = field(default_factory=list)
    # account id -> [posted, pending_out, pending_in] change in cents, for changed accounts.
    deltas: dict[int, list[int]] = field(default_factory=dict)


def _shape_error(t: Transfer) -> LedgerError | None:
    """The error of a transfer that is wrong on its own, whatever the ledger holds."""
    if not (isinstance(t.key, str) and 0 < len(t.key) <= MAX_KEY_LENGTH):
        return TransferKeyInvalid(repr(t.key)[:50])
    if t.memo is not None and len(t.memo) > MAX_MEMO_LENGTH:
        return TransferKeyInvalid(f"{t.key}: memo longer than {MAX_MEMO_LENGTH}")
    if t.mode not in ALL_MODES:
        return TransferModeInvalid(f"{t.key}: {t.mode!r}")
    if not isinstance(t.amount, Money) or t.amount.cents <= 0:
        return TransferAmountInvalid(f"{t.key}: {t.amount}")
    if t.debit == t.credit:
        return SameAccount(f"{t.key}: account {t.debit}")
    if (t.mode in RESOLVING_MODES) != (t.pending_key is not None):
        if t.pending_key is None:
            return PendingUnknown(f"{t.key}: no pending_key")
        return PendingKeyUnexpected(f"{t.key}: mode {t.mode}")
    return None


def plan_batch(
    transfers: Sequence[Transfer],
    accounts: Mapping[int, AccountState],
    stored: Mapping[str, Recorded],
    allocate_id: Callable[[], int],
) -> BatchPlan:
    """Decide ``transfers`` in order; later transfers see the effects of earlier ones.

    ``accounts`` holds every account the batch names that exists (it is mutated to the
    balances after the batch); ``stored`` holds the already stored transfers whose key is a key
    or a ``pending_key`` of the batch. A transfer that breaks a rule gets its error and changes
    nothing; the others apply.
    """
    plan = BatchPlan()
    results = plan.results
    inserts = plan.inserts
    seen: dict[str, Recorded] = dict(stored)
    resolved: set[str] = {k for k, r in stored.items() if r.resolved}
    # Deltas are final minus initial balances: cheaper than bookkeeping every move.
    before = {i: (a.posted, a.pending_out, a.pending_in) for i, a in accounts.items()}
    posted_mode = TransferMode.POSTED
    pending_mode = TransferMode.PENDING

    for t in transfers:
        key = t.key
        previous = seen.get(key)
        if previous is not None:
            if previous.transfer == t:
                results.append(Applied(key, previous.transfer_id, True))
            else:
                results.append(IdempotencyConflict(key))
            continue
        error = _shape_error(t)
        if error is not None:
            results.append(error)
            continue
        debit = accounts.get(t.debit)
        credit = accounts.get(t.credit)
        if debit is None or credit is None:
            results.append(AccountUnknown(f"{key}: {t.debit if debit is None else t.credit}"))
            continue
        cents = t.amount.cents
        currency = t.amount.currency
        if debit.currency != currency or credit.currency != currency:
            results.append(
                LedgerCurrencyMismatch(f"{key}: {currency}, {debit.currency}/{credit.currency}")
            )
            continue
        mode = t.mode
        if mode in (posted_mode, pending_mode):
            if debit.no_overdraft and debit.posted - debit.pending_out < cents:
                results.append(InsufficientFunds(f"{key}: account {debit.id}"))
                continue
            if mode == posted_mode:
                debit.posted -= cents
                credit.posted += cents
            else:
                debit.pending_out += cents
                credit.pending_in += cents
        else:
            pending_key = t.pending_key
            assert pending_key is not None  # checked by _shape_error
            pending = seen.get(pending_key)
            if pending is None or pending.transfer.mode != pending_mode:
                results.append(PendingUnknown(f"{key}: {pending_key}"))
                continue
            if pending_key in resolved:
                results.append(PendingResolved(f"{key}: {pending_key}"))
                continue
            p = pending.transfer
            if p.debit != t.debit or p.credit != t.credit or p.amount != t.amount:
                results.append(PendingMismatch(f"{key}: {pending_key}"))
                continue
            debit.pending_out -= cents
            credit.pending_in -= cents
            if mode == TransferMode.POST_PENDING:
                debit.posted -= cents
                credit.posted += cents
            resolved.add(pending_key)
        record = Recorded(allocate_id(), t)
        seen[key] = record
        inserts.append(record)
        results.append(Applied(key, record.transfer_id, False))
    deltas = plan.deltas
    for i, (posted, pending_out, pending_in) in before.items():
        a = accounts[i]
        if a.posted != posted or a.pending_out != pending_out or a.pending_in != pending_in:
            deltas[i] = [a.posted - posted, a.pending_out - pending_out, a.pending_in - pending_in]
    return plan


def batch_account_ids(transfers: Iterable[Transfer]) -> list[int]:
    """The accounts a batch names, ascending: the one order every writer locks them in."""
    ids: set[int] = set()
    for t in transfers:
        if type(t.debit) is int:
            ids.add(t.debit)
        if type(t.credit) is int:
            ids.add(t.credit)
    return sorted(ids)


def batch_lookup_keys(transfers: Iterable[Transfer]) -> list[str]:
    """The stored transfers a batch depends on: its own keys and the pendings it resolves."""
    keys: set[str] = set()
    for t in transfers:
        if isinstance(t.key, str):
            keys.add(t.key)
        if t.pending_key is not None:
            keys.add(t.pending_key)
    return sorted(keys)


@dataclass(frozen=True, slots=True)
class LedgerReport:
    """The result of checking the whole ledger; ``ok`` when there is no problem."""

    problems: list[str]
    accounts: int
    transfers: int
    # currency -> sum of posted balances (zero in a sound ledger).
    posted_sums: dict[str, int]
    # currency -> (sum of pending_out, sum of pending_in): equal in a sound ledger.
    pending_sums: dict[str, tuple[int, int]]

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        sums = ", ".join(
            f"{c} posted {Money(s, c).format('en')}" for c, s in sorted(self.posted_sums.items())
        )
        state = "ok" if self.ok else f"{len(self.problems)} problem(s)"
        return f"ledger {state}: {self.accounts} accounts, {self.transfers} transfers" + (
            f"; {sums}" if sums else ""
        )
