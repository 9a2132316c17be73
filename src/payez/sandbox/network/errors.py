"""Errors the sandbox API answers with, in Mastodon's shape (``{"error": "..."}``)."""

from __future__ import annotations

from payez.domain.errors import Forbidden, InvalidInput, NotFound, PayezError


class SandboxUnauthorized(PayezError):
    code = "sandbox_unauthorized"
    message_fr = "Jeton d'accès manquant ou invalide."
    message_en = "The access token is invalid."


class SandboxNotFound(NotFound):
    code = "sandbox_record_not_found"
    message_fr = "Enregistrement introuvable."
    message_en = "Record not found."


class SandboxForbidden(Forbidden):
    code = "sandbox_forbidden"
    message_fr = "Cette action n'est pas autorisée."
    message_en = "This action is not allowed."


class SandboxInvalid(InvalidInput):
    code = "sandbox_validation_failed"
    message_fr = "Échec de la validation."
    message_en = "Validation failed."


class SandboxInvalidGrant(InvalidInput):
    code = "sandbox_invalid_grant"
    message_fr = "Identifiants ou code d'autorisation invalides."
    message_en = "The provided authorization grant is invalid, expired or revoked."


def http_status(error: PayezError) -> int:
    if isinstance(error, SandboxUnauthorized):
        return 401
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, SandboxInvalidGrant):
        return 400
    return 422


def error_body(error: PayezError) -> dict[str, str]:
    message = error.message_en if not error.detail else f"{error.message_en}: {error.detail}"
    body = {"error": message}
    if isinstance(error, SandboxInvalidGrant):
        body = {"error": "invalid_grant", "error_description": message}
    return body
