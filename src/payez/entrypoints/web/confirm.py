"""Strong authentication in the browser: the confirmation page and the second-factor settings.

``/confirm/{token}`` belongs to the payment's sender alone: anyone else logged in gets the
same 404 as for a token that does not exist. The page says what will be paid and why it must be
confirmed, and takes a one-time code or a passkey assertion; only once the factor is verified
does it call ``confirm_payment``, whose compare-and-set makes a second confirmation (double
click, second tab, replayed form) a no-op that reports "already confirmed".

``/settings/security`` enrols the factors: a TOTP secret (shown as text and as an
``otpauth://`` URI, enabled by one good code) and passkeys (a few lines of JavaScript hand the
browser's WebAuthn answer to a form field; no other script runs on these pages).

Recovery codes: the first factor comes with ten, shown once on
``/settings/security/recovery-codes`` (the page that reads them deletes them; the plain-text
download is a ``data:`` link on that page, so nothing asks for them again). Where a factor is
asked, a recovery code may stand in for it. The security page also removes factors and makes
new codes, each proven by another factor (``service/manage_second_factors.py``).
"""

from __future__ import annotations

import time
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from payez.adapters.db.payments import PaymentRow
from payez.domain.errors import InvalidInput
from payez.domain.payments import PaymentState
from payez.entrypoints.web.account import safe_next
from payez.entrypoints.web.auth import visitor_of
from payez.entrypoints.web.i18n import texts
from payez.entrypoints.web.site import Site
from payez.service.account_overview import profile_of
from payez.service.confirm_payment import confirm_payment, find_confirmation
from payez.service.errors import ConfirmationClosed, ConfirmationNotYours, ConfirmationUnknown
from payez.service.manage_second_factors import (
    SECURITY_PURPOSE,
    FactorUnknown,
    Proof,
    ProofInvalid,
    ProofRateLimited,
    passkeys_of,
    regenerate_recovery_codes,
    remove_passkey,
    remove_totp,
)
from payez.service.payment_transfers import payment_amount
from payez.service.recovery_codes import (
    RecoveryCodeInvalid,
    codes_left,
    codes_text,
    codes_waiting,
    recovery_code_spent,
    reveal_codes,
    use_recovery_code,
)
from payez.service.second_factor import (
    PasskeyInvalid,
    SecondFactorInvalid,
    TooManyAttempts,
    TotpAlreadyEnabled,
    attempts_left,
    enable_totp,
    factors_of,
    passkey_authentication_options,
    passkey_challenge_spent,
    passkey_registration_options,
    pending_totp,
    register_passkey,
    reserve_attempt,
    start_totp_enrolment,
    totp_code_spent,
    verify_passkey,
    verify_totp,
)

SECURITY_PATH = "/settings/security"
CODES_PATH = f"{SECURITY_PATH}/recovery-codes"
# How long a second submission of the same factor waits for the first one to finish.
DOUBLE_SUBMIT_WAIT_SECONDS = 3.0
_SECURITY_DONE = ("totp", "passkey", "removed")
_DONE_STATES = (PaymentState.SETTLED, PaymentState.HELD_FOR_CLAIM, PaymentState.CLAIMED)


def confirm_purpose(payment_id: int) -> str:
    return f"confirm:{payment_id}"


def script_json(text: str | None) -> str | None:
    """JSON safe to put inside a <script> element: a display name cannot close it."""
    if text is None:
        return None
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def confirm_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    ctx = site.ctx

    def own_payment(token: str, user_id: int) -> PaymentRow:
        if not 8 <= len(token) <= 64:
            raise ConfirmationUnknown()
        try:
            return find_confirmation(ctx, token, user_id)
        except ConfirmationNotYours:
            # Telling "forbidden" would confirm the token exists: another user sees a 404.
            raise ConfirmationUnknown() from None

    def is_expired(payment: PaymentRow) -> bool:
        deadline = payment.confirm_expires_at
        return deadline is not None and deadline <= ctx.now()

    def outcome(
        request: Request, payment: PaymentRow, name: str, status: int = 200
    ) -> HTMLResponse:
        t = texts(visitor_of(request).language)
        return site.render(
            request,
            "confirm_outcome.html",
            status,
            outcome=name,
            title=t[f"confirm_{name}_title"],
            body=t[f"confirm_{name}_body"],
            payment=payment,
            amount=payment_amount(payment).format(visitor_of(request).language),
        )

    def closed(request: Request, payment: PaymentRow) -> HTMLResponse | None:
        """The page for a payment that no longer waits (or may not be confirmed any more)."""
        if payment.state in _DONE_STATES:
            return outcome(request, payment, "already")
        if payment.state is PaymentState.AWAITING_CONFIRMATION:
            if is_expired(payment):
                return outcome(request, payment, "expired", 410)
            if attempts_left(ctx, payment.id) == 0:
                return outcome(request, payment, "locked", 429)
            return None
        if payment.reason == "confirmation_expired":
            return outcome(request, payment, "expired", 410)
        if payment.reason == "request_closed":
            return outcome(request, payment, "request_closed", 410)
        return outcome(request, payment, "closed", 410)

    def confirm_page(
        request: Request, payment: PaymentRow, user_id: int, error: str = "", status: int = 200
    ) -> HTMLResponse:
        factors = factors_of(ctx, user_id)
        options = (
            passkey_authentication_options(ctx, user_id, confirm_purpose(payment.id))
            if factors.passkeys
            else None
        )
        reason = payment.confirm_reason or "always"
        t = texts(visitor_of(request).language)
        return site.render(
            request,
            "confirm.html",
            status,
            payment=payment,
            amount=payment_amount(payment).format(visitor_of(request).language),
            reason=t.get(f"confirm_reason_{reason}", t["confirm_reason_always"]),
            expires_at=payment.confirm_expires_at if payment.confirm_expires_at else None,
            factors=factors,
            passkey_options=script_json(options),
            attempts_left=attempts_left(ctx, payment.id),
            recovery=codes_left(ctx, user_id) > 0,
            error=error,
        )

    def wait_for_other_submission(token: str, user_id: int) -> PaymentRow | None:
        deadline = time.monotonic() + DOUBLE_SUBMIT_WAIT_SECONDS
        while time.monotonic() < deadline:
            payment = own_payment(token, user_id)
            if payment.state is not PaymentState.AWAITING_CONFIRMATION:
                return payment
            time.sleep(0.05)
        return None

    def enrol_first(token: str) -> RedirectResponse:
        target = quote(f"/confirm/{token}", safe="/")
        return RedirectResponse(f"{SECURITY_PATH}?next={target}", status_code=303)

    @router.get("/confirm/{token}", response_class=HTMLResponse)
    def show(request: Request, token: str) -> Response:
        user_id = visitor_of(request).require_user()
        payment = own_payment(token, user_id)
        page = closed(request, payment)
        if page is not None:
            return page
        if not factors_of(ctx, user_id).any:
            return enrol_first(token)
        return confirm_page(request, payment, user_id)

    @router.post("/confirm/{token}")
    def confirm(
        request: Request,
        token: str,
        csrf_token: str = Form(""),
        method: str = Form("totp"),
        code: str = Form(""),
        credential: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        visitor.check_csrf(csrf_token)
        user_id = visitor.require_user()
        payment = own_payment(token, user_id)
        page = closed(request, payment)
        if page is not None:
            return page
        if not factors_of(ctx, user_id).any:
            return enrol_first(token)
        try:
            reserve_attempt(ctx, payment.id, user_id)
        except TooManyAttempts:
            return outcome(request, payment, "locked", 429)
        wrong: InvalidInput
        if method == "passkey":
            verified = verify_passkey(ctx, user_id, credential, confirm_purpose(payment.id))
            wrong = PasskeyInvalid()
        elif method == "recovery":
            verified = use_recovery_code(ctx, user_id, code[:64])
            wrong = RecoveryCodeInvalid()
        else:
            verified = verify_totp(ctx, user_id, code[:32])
            wrong = SecondFactorInvalid()
        if not verified:
            # A double click spends the factor on the first request: the second one waits for
            # the first to finish and shows its outcome.
            if method == "passkey":
                spent = passkey_challenge_spent(
                    ctx, user_id, credential, confirm_purpose(payment.id)
                )
            elif method == "recovery":
                spent = recovery_code_spent(ctx, user_id, code[:64])
            else:
                spent = totp_code_spent(ctx, user_id, code[:32])
            again = wait_for_other_submission(token, user_id) if spent else None
            again = again or own_payment(token, user_id)
            page = closed(request, again)
            if page is not None:
                return page
            return confirm_page(
                request, again, user_id, error=wrong.message(visitor.language), status=400
            )
        try:
            confirm_payment(ctx, token, user_id)
        except ConfirmationClosed:
            page = closed(request, own_payment(token, user_id))
            assert page is not None  # confirm_payment only refuses a payment that stopped waiting
            return page
        return outcome(request, own_payment(token, user_id), "done")

    # -- enrolment ---------------------------------------------------------------------------

    def security_page(
        request: Request,
        user_id: int,
        next_path: str,
        error: str = "",
        status: int = 200,
        done: str = "",
    ) -> HTMLResponse:
        profile = profile_of(ctx, user_id)
        account = profile.email or profile.display_name
        factors = factors_of(ctx, user_id)
        return site.render(
            request,
            "confirm_security.html",
            status,
            factors=factors,
            pending=None if factors.totp else pending_totp(ctx, user_id, account),
            registration_options=script_json(
                passkey_registration_options(ctx, user_id, account, profile.display_name)
            ),
            next=next_path,
            error=error,
            done=done if done in _SECURITY_DONE else "",
            codes_left=codes_left(ctx, user_id),
            passkeys=passkeys_of(ctx, user_id),
            proof_options=script_json(
                passkey_authentication_options(ctx, user_id, SECURITY_PURPOSE)
                if factors.passkeys
                else None
            ),
        )

    def after_enrolment(user_id: int, next_path: str, done: str) -> RedirectResponse:
        target = safe_next(next_path) if next_path else f"{SECURITY_PATH}?done={done}"
        if codes_waiting(ctx, user_id):
            # The first factor came with recovery codes: show them before going on.
            target = f"{CODES_PATH}?next={quote(target, safe='/')}"
        return RedirectResponse(target, status_code=303)

    def next_of(value: str) -> str:
        return safe_next(value) if value else ""

    @router.get(SECURITY_PATH, response_class=HTMLResponse)
    def security(request: Request, next: str = "", done: str = "") -> HTMLResponse:
        user_id = visitor_of(request).require_user()
        return security_page(request, user_id, next_of(next), done=done)

    @router.post(f"{SECURITY_PATH}/totp")
    def start_totp(request: Request, csrf_token: str = Form(""), next: str = Form("")) -> Response:
        visitor = visitor_of(request)
        visitor.check_csrf(csrf_token)
        user_id = visitor.require_user()
        profile = profile_of(ctx, user_id)
        try:
            start_totp_enrolment(ctx, user_id, profile.email or profile.display_name)
        except TotpAlreadyEnabled as exc:
            return security_page(
                request, user_id, next_of(next), exc.message(visitor.language), 400
            )
        target = f"{SECURITY_PATH}?next={quote(next_of(next), safe='/')}#totp"
        return RedirectResponse(target, status_code=303)

    @router.post(f"{SECURITY_PATH}/totp/verify")
    def verify_totp_enrolment(
        request: Request, csrf_token: str = Form(""), code: str = Form(""), next: str = Form("")
    ) -> Response:
        visitor = visitor_of(request)
        visitor.check_csrf(csrf_token)
        user_id = visitor.require_user()
        try:
            enable_totp(ctx, user_id, code[:32])
        except SecondFactorInvalid as exc:
            return security_page(
                request, user_id, next_of(next), exc.message(visitor.language), 400
            )
        return after_enrolment(user_id, next_of(next), "totp")

    @router.post(f"{SECURITY_PATH}/passkey")
    def add_passkey(
        request: Request,
        csrf_token: str = Form(""),
        credential: str = Form(""),
        next: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        visitor.check_csrf(csrf_token)
        user_id = visitor.require_user()
        try:
            register_passkey(ctx, user_id, credential)
        except PasskeyInvalid as exc:
            return security_page(
                request, user_id, next_of(next), exc.message(visitor.language), 400
            )
        return after_enrolment(user_id, next_of(next), "passkey")

    # -- recovery codes and removing factors -------------------------------------------------

    @router.get(CODES_PATH, response_class=HTMLResponse)
    def recovery_codes(request: Request, next: str = "") -> HTMLResponse:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        codes = reveal_codes(ctx, user_id)
        page = site.render(
            request,
            "recovery_codes.html",
            200,
            codes=codes,
            download=quote(codes_text(codes, visitor.language)) if codes else "",
            codes_left=codes_left(ctx, user_id),
            next=next_of(next) or SECURITY_PATH,
        )
        # Shown once: neither the browser nor a proxy may keep a copy.
        page.headers["Cache-Control"] = "no-store"
        return page

    def proof_of(method: str, code: str, credential: str, password: str) -> Proof:
        return Proof(method=method, code=code[:64], credential=credential, password=password)

    def security_refused(
        request: Request, user_id: int, exc: ProofInvalid | ProofRateLimited | FactorUnknown
    ) -> HTMLResponse:
        status = 429 if isinstance(exc, ProofRateLimited) else 400
        language = visitor_of(request).language
        return security_page(request, user_id, "", exc.message(language), status)

    @router.post(f"{CODES_PATH}/renew")
    def renew_codes(
        request: Request,
        csrf_token: str = Form(""),
        method: str = Form("totp"),
        code: str = Form(""),
        credential: str = Form(""),
        password: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        visitor.check_csrf(csrf_token)
        user_id = visitor.require_user()
        try:
            regenerate_recovery_codes(ctx, user_id, proof_of(method, code, credential, password))
        except (ProofInvalid, ProofRateLimited, FactorUnknown) as exc:
            return security_refused(request, user_id, exc)
        return RedirectResponse(CODES_PATH, status_code=303)

    @router.post(f"{SECURITY_PATH}/totp/remove")
    def remove_totp_factor(
        request: Request,
        csrf_token: str = Form(""),
        method: str = Form("recovery"),
        code: str = Form(""),
        credential: str = Form(""),
        password: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        visitor.check_csrf(csrf_token)
        user_id = visitor.require_user()
        try:
            remove_totp(ctx, user_id, proof_of(method, code, credential, password))
        except (ProofInvalid, ProofRateLimited, FactorUnknown) as exc:
            return security_refused(request, user_id, exc)
        return RedirectResponse(f"{SECURITY_PATH}?done=removed", status_code=303)

    @router.post(SECURITY_PATH + "/passkeys/{passkey_id}/remove")
    def remove_passkey_factor(
        request: Request,
        passkey_id: int,
        csrf_token: str = Form(""),
        method: str = Form("recovery"),
        code: str = Form(""),
        credential: str = Form(""),
        password: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        visitor.check_csrf(csrf_token)
        user_id = visitor.require_user()
        try:
            remove_passkey(ctx, user_id, passkey_id, proof_of(method, code, credential, password))
        except (ProofInvalid, ProofRateLimited, FactorUnknown) as exc:
            return security_refused(request, user_id, exc)
        return RedirectResponse(f"{SECURITY_PATH}?done=removed", status_code=303)

    return router
