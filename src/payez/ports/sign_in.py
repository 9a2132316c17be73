"""Signing in with a social network (OAuth): how Payez learns which account a person owns.

Claims and account linking send the browser to the network's authorize page, then exchange
the code it returns for who signed in. The Mastodon-speaking networks and X each implement
:class:`SignInClient`; failures are :class:`payez.ports.network.NetworkError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from payez.ports.network import AuthenticationFailed, NetworkAccount

# Abstract grants, named as Mastodon names them; each client maps them to its network's own.
READ_SCOPES: tuple[str, ...] = ("read",)
PUBLISH_SCOPES: tuple[str, ...] = ("read", "write:statuses")


class SignedInElsewhere(AuthenticationFailed):
    """The account signed in, but lives on a server Payez cannot trust to say so."""

    code = "sign_in_elsewhere"
    message_fr = (
        "Ce compte est hébergé sur un serveur que Payez ne connaît pas : reliez-le plutôt avec"
        " un code, depuis la page d'accueil de votre compte."
    )
    message_en = (
        "This account lives on a server Payez does not know: link it with a code instead,"
        " from your account's getting-started page."
    )


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The account the network says signed in, and the access token it granted Payez."""

    account: NetworkAccount
    access_token: str


class SignInClient(Protocol):
    @property
    def network(self) -> str: ...

    def authorize_url(self, state: str, scopes: tuple[str, ...] = READ_SCOPES) -> str:
        """Where to send the browser; the network sends it back with a code and ``state``."""
        ...

    def signed_in(
        self, code: str, scopes: tuple[str, ...] = READ_SCOPES, state: str = ""
    ) -> SignedIn:
        """Exchange the code (asked with ``scopes``, under ``state``) and ask who signed in."""
        ...
