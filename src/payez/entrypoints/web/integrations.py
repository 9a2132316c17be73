"""Integrations, in the merchant's and the association's area: API keys (merchants) and
webhooks (both), with each delivery's attempts and a button to send an event again.

A new key or webhook secret is shown once, on the page that answers its creation; only its
hash (a key) or its sealed form (a secret) is kept. Accounts that are neither merchants nor
associations are told the page does not exist.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from payez.domain.errors import InvalidInput
from payez.entrypoints.web.auth import visitor_of
from payez.entrypoints.web.site import Site
from payez.service.api_keys import api_keys_of, create_api_key, revoke_api_key
from payez.service.webhook_endpoints import (
    add_endpoint,
    deliveries,
    endpoints,
    remove_endpoint,
    require_work_area,
    send_again,
)


def integration_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    ctx = site.ctx

    def page(request: Request, status: int = 200, **values: Any) -> HTMLResponse:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        kind = require_work_area(ctx, user_id)
        return site.render(
            request,
            "integrations.html",
            status,
            kind=kind,
            keys=api_keys_of(ctx, user_id) if kind == "merchant" else [],
            endpoints=endpoints(ctx, user_id),
            deliveries=deliveries(ctx, user_id),
            **values,
        )

    def checked(request: Request, csrf_token: str) -> int:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        return user_id

    @router.get("/integrations", response_class=HTMLResponse)
    def integrations(request: Request, done: str = "") -> HTMLResponse:
        return page(request, done=done[:20])

    @router.post("/integrations/keys")
    def new_key(
        request: Request,
        csrf_token: str = Form(""),
        label: str = Form(""),
        scope: str = Form(""),
    ) -> Response:
        user_id = checked(request, csrf_token)
        try:
            made = create_api_key(ctx, user_id, label[:200], scope[:10])
        except InvalidInput as exc:
            return page(request, 400, error=exc.message(visitor_of(request).language))
        return page(request, new_key=made)

    @router.post("/integrations/keys/{key_id}/revoke")
    def revoke(request: Request, key_id: int, csrf_token: str = Form("")) -> Response:
        user_id = checked(request, csrf_token)
        revoke_api_key(ctx, user_id, key_id)
        return RedirectResponse("/integrations?done=revoked", status_code=303)

    @router.post("/integrations/webhooks")
    def new_endpoint(request: Request, csrf_token: str = Form(""), url: str = Form("")) -> Response:
        user_id = checked(request, csrf_token)
        try:
            made = add_endpoint(ctx, user_id, url[:1000])
        except InvalidInput as exc:
            return page(request, 400, error=exc.message(visitor_of(request).language))
        return page(request, new_endpoint=made)

    @router.post("/integrations/webhooks/{endpoint_id}/remove")
    def remove(request: Request, endpoint_id: int, csrf_token: str = Form("")) -> Response:
        user_id = checked(request, csrf_token)
        remove_endpoint(ctx, user_id, endpoint_id)
        return RedirectResponse("/integrations?done=removed", status_code=303)

    @router.post("/integrations/deliveries/{delivery_id}/resend")
    def resend(request: Request, delivery_id: int, csrf_token: str = Form("")) -> Response:
        user_id = checked(request, csrf_token)
        send_again(ctx, user_id, delivery_id)
        return RedirectResponse("/integrations?done=resent", status_code=303)

    return router
