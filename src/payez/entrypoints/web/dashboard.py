"""The dashboard: balance, payments awaiting confirmation, pending claims, history, settings."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from payez.domain.errors import InvalidInput, Language
from payez.domain.money import Money
from payez.entrypoints.web.auth import visitor_of
from payez.entrypoints.web.chart_views import money_by_month_chart
from payez.entrypoints.web.i18n import format_moment, texts
from payez.entrypoints.web.site import Site
from payez.service.account_overview import overview, profile_of
from payez.service.dashboard_events import latest_change
from payez.service.email_verification import email_needs_verifying
from payez.service.history import (
    HistoryEntry,
    awaiting_confirmation,
    full_history,
    history,
    payment_detail,
    pending_claims,
)
from payez.service.money_by_month import money_by_month
from payez.service.my_payment_requests import request_reasons
from payez.service.notifications import latest_notifications
from payez.service.public_profile import public_profile_choice
from payez.service.settings_update import update_settings
from payez.service.time_zones import time_zone_names, zone_of
from payez.service.work_areas import work_areas

PAGE_SIZE = 20
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def money_formatter(language: Language) -> Callable[[Money], str]:
    return lambda amount: amount.format(language)


def csv_amount(amount: Money, language: Language, direction: str) -> str:
    """Signed, from integer cents: ``-12,50`` in French, ``-12.50`` in English."""
    units, cents = divmod(amount.cents, 100)
    sign = "-" if direction == "sent" else ""
    separator = "," if language == "fr" else "."
    return f"{sign}{units}{separator}{cents:02d}"


def csv_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def history_csv(entries: list[HistoryEntry], language: Language, zone: ZoneInfo) -> str:
    t = texts(language)
    out = io.StringIO()
    # French spreadsheets expect ";" between fields, since "," is their decimal mark.
    writer = csv.writer(out, delimiter=";" if language == "fr" else ",", lineterminator="\r\n")
    writer.writerow(
        [
            t["csv_id"],
            t["date"],
            t["direction"],
            t["counterparty"],
            t["amount"],
            t["currency"],
            t["state"],
            t["memo"],
        ]
    )
    for e in entries:
        writer.writerow(
            [
                e.id,
                format_moment(e.created_at, language, zone),
                t["direction_" + e.direction],
                csv_text(e.counterparty),
                csv_amount(e.amount, language, e.direction),
                e.amount.currency,
                t["state_" + e.state],
                csv_text(e.memo or ""),
            ]
        )
    return out.getvalue()


def dashboard_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/dashboard", response_class=HTMLResponse)
    def dashboard(request: Request, q: str = "", page: int = 1) -> HTMLResponse:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        # Read before what the page shows: the live updates start from there.
        live_after = latest_change(site.ctx)
        found = history(site.ctx, user_id, query=q, page=page, per_page=PAGE_SIZE)
        flows = money_by_month(site.ctx, user_id, zone_of(visitor.time_zone))
        moved = any(f.received_count or f.sent_count for f in flows)
        return site.render(
            request,
            "dashboard.html",
            email_unverified=email_needs_verifying(site.ctx, user_id),
            o=overview(site.ctx, user_id),
            history=found,
            request_reasons=request_reasons(site.ctx, ((e.id, e.memo) for e in found.entries)),
            q=q,
            claims=pending_claims(site.ctx, user_id),
            confirmations=awaiting_confirmation(site.ctx, user_id),
            notifications=latest_notifications(site.ctx, user_id),
            areas=work_areas(site.ctx, user_id),
            money=money_formatter(visitor.language),
            money_chart=money_by_month_chart(flows, visitor.language) if moved else None,
            live_after=live_after,
            live_rows=page == 1 and not q,
        )

    @router.get("/dashboard/history.csv")
    def export(request: Request, q: str = "") -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        body = history_csv(
            full_history(site.ctx, user_id, query=q),
            visitor.language,
            zone_of(visitor.time_zone),
        )
        return Response(
            "\ufeff" + body,  # the BOM makes spreadsheets read UTF-8
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="payez-history.csv"',
                "Cache-Control": "no-store",
            },
        )

    @router.get("/dashboard/payments/{payment_id}", response_class=HTMLResponse)
    def payment(request: Request, payment_id: int) -> HTMLResponse:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        entry = payment_detail(site.ctx, user_id, payment_id)
        return site.render(
            request,
            "payment.html",
            e=entry,
            for_request=request_reasons(site.ctx, [(entry.id, entry.memo)]).get(entry.id),
            money=money_formatter(visitor.language),
        )

    @router.get("/settings", response_class=HTMLResponse)
    def settings_page(request: Request, saved: str = "", password: str = "") -> HTMLResponse:
        user_id = visitor_of(request).require_user()
        return site.render(
            request,
            "settings.html",
            email_unverified=email_needs_verifying(site.ctx, user_id),
            password_changed=password == "changed",
            profile=profile_of(site.ctx, user_id),
            public_profile=public_profile_choice(site.ctx, user_id),
            saved=bool(saved),
            zones=time_zone_names(),
        )

    @router.post("/settings")
    def save_settings(
        request: Request,
        csrf_token: str = Form(""),
        language: str = Form(""),
        hide_amount: str = Form(""),
        notify_received: str = Form(""),
        time_zone: str | None = Form(None),
        email: Annotated[list[str] | None, Form()] = None,
    ) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        try:
            update_settings(
                site.ctx,
                user_id,
                language=language,
                hide_amount=hide_amount == "1",
                notify_received=notify_received == "1",
                time_zone=time_zone,
                emails_wanted=email or [],
            )
        except InvalidInput as exc:
            return site.render(
                request,
                "settings.html",
                400,
                profile=profile_of(site.ctx, user_id),
                public_profile=public_profile_choice(site.ctx, user_id),
                zones=time_zone_names(),
                error=exc.message(visitor.language),
            )
        # The language chosen here wins over the browser's from now on: the query sets it
        # for this browser, the saved setting for the others.
        return RedirectResponse(f"/settings?saved=1&lang={language}", status_code=303)

    return router
