"""How the JSON API is authenticated, written into its OpenAPI spec so tools can read it.

Two schemes: the browser's session cookie (the member's own account, ``/api/v1/me...``, and
the merchant area's pages calling the merchants' API), and a merchant's API key sent as a bearer
token (``/api/v1/merchant/...`` only). The routes check both themselves (``merchant_of``,
``visitor_of``); this only describes what they check.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from payez.entrypoints.web.auth import SESSION_COOKIE

MERCHANT_PREFIX = "/api/v1/merchant"
API_PREFIX = "/api/v1"
SCHEMES: dict[str, dict[str, Any]] = {
    "merchantKey": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "pzk_<id>_<secret>",
        "description": "A key made on the Integrations page; read or write scope.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The web app's session; writes also need the X-CSRF-Token header.",
    },
}


def security_of(path: str) -> list[dict[str, list[str]]] | None:
    """Which schemes an operation on ``path`` accepts; None when it is not the JSON API."""
    if path.startswith(MERCHANT_PREFIX):
        return [{"merchantKey": []}, {"session": []}]
    if path.startswith(API_PREFIX):
        return [{"session": []}]
    return None


def document_authentication(app: FastAPI) -> None:
    """Make ``app.openapi()`` name the schemes and each operation's."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        components = schema.setdefault("components", {})
        if "securitySchemes" not in components:
            components["securitySchemes"] = SCHEMES
            for path, operations in schema.get("paths", {}).items():
                security = security_of(path)
                if security is None:
                    continue
                for operation in operations.values():
                    operation["security"] = security
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
