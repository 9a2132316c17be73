"""My data: download it all, unlink a network account, close the account (/settings/privacy)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from payez.domain.errors import InvalidInput, NotFound
from payez.entrypoints.web.auth import end_session, visitor_of
from payez.entrypoints.web.i18n import texts
from payez.entrypoints.web.site import Site
from payez.service.close_account import (
    ClosureBalanceNotZero,
    ClosureSomethingPending,
    close_account,
)
from payez.service.export_my_data import export_my_data
from payez.service.unlink_social_account import my_links, unlink_social_account

PRIVACY_PATH = "/settings/privacy"


def privacy_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(request: Request, status: int = 200, **values: Any) -> HTMLResponse:
        user_id = visitor_of(request).require_user()
        return site.render(
            request, "privacy.html", status, links=my_links(site.ctx, user_id), **values
        )

    @router.get(PRIVACY_PATH, response_class=HTMLResponse)
    def privacy(request: Request, done: str = "") -> HTMLResponse:
        t = texts(visitor_of(request).language)
        return page(request, notice=t["privacy_unlinked"] if done == "unlink" else None)

    # A POST, not a GET: a page of another site cannot make the browser fetch the archive.
    @router.post(PRIVACY_PATH + "/export")
    def export(request: Request, csrf_token: str = Form("")) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        return Response(
            export_my_data(site.ctx, user_id),
            media_type="application/zip",
            headers={
                "Content-Disposition": 'attachment; filename="payez-my-data.zip"',
                "Cache-Control": "no-store",
            },
        )

    @router.post(PRIVACY_PATH + "/unlink")
    def unlink(
        request: Request,
        csrf_token: str = Form(""),
        network: str = Form(""),
        account_id: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        try:
            unlink_social_account(site.ctx, user_id, network, account_id)
        except NotFound as exc:
            return page(request, 404, error=exc.message(visitor.language))
        return RedirectResponse(PRIVACY_PATH + "?done=unlink", status_code=303)

    @router.post(PRIVACY_PATH + "/close")
    def close(request: Request, csrf_token: str = Form(""), password: str = Form("")) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        try:
            close_account(site.ctx, user_id, password)
        except InvalidInput as exc:
            return page(request, 400, close_error=exc.message(visitor.language))
        except (ClosureBalanceNotZero, ClosureSomethingPending) as exc:
            return page(
                request,
                409,
                close_error=exc.message(visitor.language),
                balance_left=isinstance(exc, ClosureBalanceNotZero),
            )
        t = texts(visitor.language)
        response = site.render(
            request, "message.html", title=t["privacy_closed_title"], body=t["privacy_closed_body"]
        )
        end_session(response, visitor)
        return response

    return router
