"""Payez as an OAuth client of Mastodon-speaking networks: who signed in, and with what grant.

Both the claim flow and account linking send the browser to the network's authorize page and
exchange the code it returns here. Reading who signed in needs only ``read``; a merchant who
lets Payez publish their listings grants ``write:statuses`` too, and the access token of that
grant is handed back so that it can be kept (sealed) for publishing as them.
"""

from __future__ import annotations

from dataclasses import dataclass

from mastodon import Mastodon

from payez.adapters.networks.http_session import ServiceSession
from payez.ports.network import NetworkAccount, normalise_handle
from payez.ports.sign_in import PUBLISH_SCOPES, READ_SCOPES, SignedIn

__all__ = ["PUBLISH_SCOPES", "READ_SCOPES", "OAuthClient", "SignedIn"]


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """Payez registered as an OAuth application of a Mastodon-speaking network."""

    network: str
    api_base_url: str
    client_id: str
    client_secret: str
    redirect_uri: str

    def _api(self) -> Mastodon:
        return Mastodon(
            client_id=self.client_id,
            client_secret=self.client_secret,
            api_base_url=self.api_base_url,
            version_check_mode="none",
            request_timeout=15,
            session=ServiceSession(),
        )

    def authorize_url(self, state: str, scopes: tuple[str, ...] = READ_SCOPES) -> str:
        url = self._api().auth_request_url(
            redirect_uris=self.redirect_uri, scopes=list(scopes), state=state
        )
        return str(url)

    def signed_in(
        self, code: str, scopes: tuple[str, ...] = READ_SCOPES, state: str = ""
    ) -> SignedIn:
        """Exchange the authorization code (asked with ``scopes``) and ask who signed in.

        The account's ``uri`` is its immutable id; ``acct`` only its current handle.
        """
        api = self._api()
        token = api.log_in(code=code, redirect_uri=self.redirect_uri, scopes=list(scopes))
        me = api.account_verify_credentials()
        account = NetworkAccount(id=str(me["uri"]), handle=normalise_handle(str(me["acct"])))
        return SignedIn(account=account, access_token=str(token))

    def proven_account(self, code: str) -> NetworkAccount:
        """Who signed in (a ``read`` grant, whose token is not kept)."""
        return self.signed_in(code).account
