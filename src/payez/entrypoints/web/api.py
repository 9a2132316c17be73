"""The JSON API, ``/api/v1``: the logged-in user's own account (session cookie auth).

Errors always have the shape ``{"error": {"code": ..., "message": ...}}`` with a stable
``code``; bad input gets a 4xx, never a 500. Amounts are integer cents with their currency.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from payez.entrypoints.web.auth import visitor_of
from payez.entrypoints.web.site import Site
from payez.service.account_overview import overview
from payez.service.history import (
    MAX_ID,
    MAX_PER_PAGE,
    MAX_QUERY_LENGTH,
    HistoryEntry,
    history,
    payment_detail,
)


class Amount(BaseModel):
    cents: int
    currency: str


class Card(BaseModel):
    brand: str
    last4: str


class LinkedAccount(BaseModel):
    network: str
    handle: str


class Me(BaseModel):
    id: int
    email: str | None
    display_name: str
    language: str
    time_zone: str
    hide_amount: bool
    identity_verified: bool
    status: str
    card: Card | None
    linked_accounts: list[LinkedAccount]
    onboarded: bool


class WalletOut(BaseModel):
    balance: Amount
    held: Amount
    available: Amount


class Payment(BaseModel):
    id: int
    created_at: str
    direction: Literal["sent", "received"]
    counterparty: str
    amount: Amount
    state: str
    kind: str
    network: str
    memo: str | None


class PaymentPage(BaseModel):
    items: list[Payment]
    page: int
    per_page: int
    total: int


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut, "description": "Not logged in"},
    422: {"model": ErrorOut, "description": "Invalid input"},
}


def _payment(entry: HistoryEntry) -> Payment:
    return Payment.model_validate(entry.as_json())


def api_routes(site: Site) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["me"], responses=ERRORS)

    @router.get("/me", response_model=Me)
    def me(request: Request) -> Me:
        """Your profile: name, language, checks done, card, linked social accounts."""
        user_id = visitor_of(request).require_user()
        return Me.model_validate(overview(site.ctx, user_id).as_json())

    @router.get("/me/balance", response_model=WalletOut)
    def balance(request: Request) -> WalletOut:
        """Your balance, the part held for payments not yet settled, and what is available."""
        user_id = visitor_of(request).require_user()
        return WalletOut.model_validate(overview(site.ctx, user_id).wallet.as_json())

    @router.get("/me/payments", response_model=PaymentPage)
    def payments(
        request: Request,
        q: str = Query("", max_length=MAX_QUERY_LENGTH, description="handle or memo"),
        page: int = Query(1, ge=1, le=1_000_000),
        per_page: int = Query(20, ge=1, le=MAX_PER_PAGE),
    ) -> PaymentPage:
        """Payments you sent or whose money you received, newest first, a page at a time."""
        user_id = visitor_of(request).require_user()
        found = history(site.ctx, user_id, query=q, page=page, per_page=per_page)
        return PaymentPage(
            items=[_payment(e) for e in found.entries],
            page=found.page,
            per_page=found.per_page,
            total=found.total,
        )

    @router.get(
        "/me/payments/{payment_id}",
        response_model=Payment,
        responses={404: {"model": ErrorOut, "description": "Not one of your payments"}},
    )
    def payment(request: Request, payment_id: int = Path(ge=1, le=MAX_ID)) -> Payment:
        """One of your payments (404 for any other)."""
        user_id = visitor_of(request).require_user()
        return _payment(payment_detail(site.ctx, user_id, payment_id))

    return router
