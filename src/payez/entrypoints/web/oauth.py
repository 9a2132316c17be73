"""Payez as an OAuth client of Mastodon-speaking networks: who is the signed-in account?

Both the claim flow and account linking send the browser to the network's authorize page with
the same redirect URI; the signed ``state`` says which flow it was and binds it to its
claim token or to the browser's login session.
"""

from __future__ import annotations

from dataclasses import dataclass

from mastodon import Mastodon

from payez.ports.network import NetworkAccount, normalise_handle

STATE_MAX_AGE = 15 * 60


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
        )

    def authorize_url(self, state: str) -> str:
        url = self._api().auth_request_url(
            redirect_uris=self.redirect_uri, scopes=["read"], state=state
        )
        return str(url)

    def proven_account(self, code: str) -> NetworkAccount:
        """Exchange the authorization code and ask the network who signed in.

        The account's ``uri`` is its immutable id; ``acct`` only its current handle.
        """
        api = self._api()
        api.log_in(code=code, redirect_uri=self.redirect_uri, scopes=["read"])
        me = api.account_verify_credentials()
        return NetworkAccount(id=str(me["uri"]), handle=normalise_handle(str(me["acct"])))
