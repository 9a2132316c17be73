"""The sandbox identity verifier: a deterministic stand-in for a real KYC provider.

Rules, so that tests and a newcomer's first minute are predictable:

- any name with a birth date at least 18 years before the check passes;
- a younger person fails with ``under_age``;
- the test names below fail whatever the birth date (case and spacing do not matter):

==================  ======================
Name                Outcome
==================  ======================
``Rejected Test``   ``identity_mismatch``
``Blurry Test``     ``document_unreadable``
==================  ======================
"""

from __future__ import annotations

from datetime import date

from payez.ports.identity import IdentityRequest, IdentityResult

ADULT_AGE = 18
TEST_NAMES: dict[str, str] = {
    "rejected test": "identity_mismatch",
    "blurry test": "document_unreadable",
}


def age_on(birth_date: date, day: date) -> int:
    """Completed years between ``birth_date`` and ``day``."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


class SandboxIdentityVerifier:
    name = "sandbox"

    def verify(self, request: IdentityRequest) -> IdentityResult:
        reference = f"sbx_{request.reference}"
        named = TEST_NAMES.get(" ".join(request.full_name.lower().split()))
        if named is not None:
            return IdentityResult(False, reference, named)
        if age_on(request.birth_date, request.checked_on) < ADULT_AGE:
            return IdentityResult(False, reference, "under_age")
        return IdentityResult(True, reference)
