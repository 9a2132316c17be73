"""The identity verification port: is this person who they say they are, and an adult?

EU anti-money-laundering rules allow no anonymous person-to-person e-money, so a user must
pass this check before sending to another person or cashing out. A verifier answers with an
:class:`IdentityResult`; it raises only when it could not decide (service down).

Reasons a check fails (stable codes, shown to the user through :data:`FAILURE_REASONS`):
``under_age``, ``identity_mismatch``, ``document_unreadable``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from payez.domain.errors import PayezError

FAILURE_REASONS = ("under_age", "identity_mismatch", "document_unreadable")


class IdentityServiceUnavailable(PayezError):
    code = "identity_service_unavailable"
    message_fr = "Le service de vérification d'identité est indisponible ; réessayez plus tard."
    message_en = "The identity verification service is unavailable; please try again later."


@dataclass(frozen=True, slots=True)
class IdentityRequest:
    """What the user declares; ``checked_on`` is today's date by the caller's clock."""

    reference: str
    full_name: str
    birth_date: date
    checked_on: date


@dataclass(frozen=True, slots=True)
class IdentityResult:
    passed: bool
    reference: str
    reason: str | None = None


class IdentityVerifier(Protocol):
    name: str

    def verify(self, request: IdentityRequest) -> IdentityResult:
        """The verifier's decision; ``reason`` is one of FAILURE_REASONS when it failed."""
        ...
