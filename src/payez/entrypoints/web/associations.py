"""Associations and donors: public campaign pages, the association's own page (profile,
campaigns, yearly summary), and the donor's gifts with their tax receipts as PDF.

A receipt is served to its donor and to its association; anyone else gets "not found".
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from payez.adapters.receipts.pdf import render_receipt_pdf
from payez.domain.errors import InvalidInput
from payez.entrypoints.web.auth import visitor_of
from payez.entrypoints.web.chart_views import campaign_chart
from payez.entrypoints.web.dashboard import money_formatter
from payez.entrypoints.web.embeds import campaign_code
from payez.entrypoints.web.site import Site
from payez.service.campaign_timeline import timeline_of
from payez.service.campaigns import (
    association_profile,
    campaign_progress,
    campaigns_of,
    create_campaign,
    donor_settings,
    paris_today,
    public_association,
    save_association_profile,
    save_donor_settings,
    yearly_summary_csv,
)
from payez.service.tax_receipts import (
    donation_years,
    issue_receipt,
    receipt_for,
    receipts_of_association,
)

CHARTED_CAMPAIGNS = 5


def association_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def association_page(request: Request, status: int = 200, **values: Any) -> HTMLResponse:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        profile = association_profile(site.ctx, user_id)
        values.setdefault("form", {})
        campaigns = campaigns_of(site.ctx, user_id)
        # One query a chart: the newest campaigns only, the ones an association follows.
        charts = {
            p.campaign.id: campaign_chart(timeline_of(site.ctx, p.campaign), visitor.language)
            for p in campaigns[:CHARTED_CAMPAIGNS]
        }
        return site.render(
            request,
            "association_dashboard.html",
            status,
            profile=profile,
            campaigns=campaigns,
            campaign_charts=charts,
            # Until the association is verified its widgets would say "not found": none offered.
            embeds={
                p.campaign.id: campaign_code(site.ctx, p.campaign.id, p.campaign.title)
                for p in campaigns
            }
            if profile.verified
            else {},
            receipts=receipts_of_association(site.ctx, user_id),
            last_year=paris_today(site.ctx).year - 1,
            today=paris_today(site.ctx).isoformat(),
            money=money_formatter(visitor.language),
            **values,
        )

    @router.get("/association", response_class=HTMLResponse)
    def association_home(request: Request, saved: str = "") -> HTMLResponse:
        return association_page(request, saved=bool(saved))

    @router.post("/association/profile")
    def save_profile(
        request: Request,
        csrf_token: str = Form(""),
        address: str = Form(""),
        object: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        try:
            save_association_profile(site.ctx, user_id, address=address, object_=object)
        except InvalidInput as exc:
            return association_page(request, 400, error=exc.message(visitor.language))
        return RedirectResponse("/association?saved=1", status_code=303)

    @router.post("/association/campaigns")
    def new_campaign(
        request: Request,
        csrf_token: str = Form(""),
        title: str = Form(""),
        description: str = Form(""),
        goal: str = Form(""),
        starts_on: str = Form(""),
        ends_on: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        try:
            campaign_id = create_campaign(
                site.ctx,
                user_id,
                title=title,
                description=description,
                goal=goal,
                starts_on=starts_on,
                ends_on=ends_on,
            )
        except InvalidInput as exc:
            form = {
                "title": title[:200],
                "description": description[:2000],
                "goal": goal[:40],
                "starts_on": starts_on[:10],
                "ends_on": ends_on[:10],
            }
            return association_page(request, 400, error=exc.message(visitor.language), form=form)
        return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)

    @router.get("/association/summary.csv")
    def summary(request: Request, year: int) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        body = yearly_summary_csv(site.ctx, user_id, year, visitor.language)
        return Response(
            "\ufeff" + body,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="payez-donors-{year}.csv"',
                "Cache-Control": "no-store",
            },
        )

    @router.get("/associations/{handle}", response_class=HTMLResponse)
    def public_page(request: Request, handle: str) -> HTMLResponse:
        visitor = visitor_of(request)
        profile = public_association(site.ctx, handle)
        return site.render(
            request,
            "association.html",
            profile=profile,
            campaigns=campaigns_of(site.ctx, profile.user_id),
            service=site.ctx.service_handle,
            money=money_formatter(visitor.language),
        )

    @router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
    def campaign_page(request: Request, campaign_id: int) -> HTMLResponse:
        visitor = visitor_of(request)
        progress = campaign_progress(site.ctx, campaign_id)
        return site.render(
            request,
            "campaign.html",
            p=progress,
            campaign_chart=campaign_chart(
                timeline_of(site.ctx, progress.campaign), visitor.language
            ),
            profile=association_profile(site.ctx, progress.campaign.association_user_id),
            service=site.ctx.service_handle,
            money=money_formatter(visitor.language),
        )

    @router.get("/dashboard/donations", response_class=HTMLResponse)
    def donations(request: Request, saved: str = "") -> HTMLResponse:
        return donations_page(request, saved=bool(saved))

    def donations_page(request: Request, status: int = 200, **values: Any) -> HTMLResponse:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        return site.render(
            request,
            "donations.html",
            status,
            settings=donor_settings(site.ctx, user_id),
            years=donation_years(site.ctx, user_id),
            money=money_formatter(visitor.language),
            **values,
        )

    @router.post("/dashboard/donations/settings")
    def save_donations_settings(
        request: Request,
        csrf_token: str = Form(""),
        address: str = Form(""),
        show_name: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        try:
            save_donor_settings(site.ctx, user_id, address=address, show_name=show_name == "1")
        except InvalidInput as exc:
            return donations_page(request, 400, error=exc.message(visitor.language))
        return RedirectResponse("/dashboard/donations?saved=1", status_code=303)

    @router.post("/dashboard/donations/receipts")
    def request_receipt(
        request: Request,
        csrf_token: str = Form(""),
        association: int = Form(0),
        year: int = Form(0),
    ) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        try:
            receipt = issue_receipt(site.ctx, user_id, association, year)
        except InvalidInput as exc:
            return donations_page(request, 400, error=exc.message(visitor.language))
        return RedirectResponse(f"/receipts/{receipt.id}.pdf", status_code=303)

    @router.get("/receipts/{receipt_id}.pdf")
    def receipt_pdf(request: Request, receipt_id: int) -> Response:
        user_id = visitor_of(request).require_user()
        receipt = receipt_for(site.ctx, user_id, receipt_id)
        return Response(
            render_receipt_pdf(receipt),
            media_type="application/pdf",
            headers={
                "Content-Disposition": (
                    f'attachment; filename="recu-fiscal-{receipt.year}-{receipt.reference}.pdf"'
                ),
                "Cache-Control": "private, no-store",
            },
        )

    return router
