"""The one tree of Payez errors.

Every error a user or a client can see derives from :class:`PayezError` and carries:

- ``code``: a stable machine code (``snake_case``), never renamed once published;
- ``message_fr`` / ``message_en``: what a person reads, in French and in English.

The tree, by area (each area defines its leaves in the module that raises them)::

    PayezError
    ├── InvalidInput            bad input: nothing was written
    │   ├── MoneyError          money.py (amount_not_integer, currency_invalid, currency_mismatch)
    │   └── ...
    ├── LedgerError             ledger rules (insufficient_funds, account_unknown, ...)
    ├── PolicyError             limits and confirmation rules
    ├── NetworkError            social networks (rate_limited carries its reset time)
    └── ProcessorError          card processors

A subclass sets ``code`` and both messages as class attributes; an instance may override them
(for example to name the account that was unknown) through the constructor.
"""

from __future__ import annotations

from typing import ClassVar, Literal

Language = Literal["fr", "en"]


class PayezError(Exception):
    """Base of every error Payez reports to a person or a client."""

    code: ClassVar[str] = "payez_error"
    message_fr: ClassVar[str] = "Une erreur est survenue."
    message_en: ClassVar[str] = "Something went wrong."

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail
        super().__init__(f"{self.code}: {detail}" if detail else self.code)

    def message(self, language: Language = "en") -> str:
        """The user-facing message in ``language``."""
        return self.message_fr if language == "fr" else self.message_en


class InvalidInput(PayezError):
    """The input was refused as it stands; nothing was written."""

    code = "invalid_input"
    message_fr = "Cette demande n'est pas valide."
    message_en = "This request is not valid."


class NotFound(PayezError):
    code = "not_found"
    message_fr = "Introuvable."
    message_en = "Not found."


class Forbidden(PayezError):
    code = "forbidden"
    message_fr = "Vous n'avez pas le droit de faire cela."
    message_en = "You are not allowed to do that."


def all_error_classes() -> list[type[PayezError]]:
    """Every class of the tree that has been imported, the root first, each once (a class with
    two parents in the tree is reached twice)."""
    seen: list[type[PayezError]] = []
    stack: list[type[PayezError]] = [PayezError]
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.append(cls)
        stack.extend(reversed(cls.__subclasses__()))
    return seen
