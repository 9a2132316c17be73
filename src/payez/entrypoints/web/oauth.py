"""The web side of Payez as an OAuth client (``adapters/networks/mastodon_oauth``).

Both the claim flow and account linking send the browser to the network's authorize page with
the same redirect URI; the signed ``state`` says which flow it was and binds it to its
claim token or to the browser's login session.
"""

from __future__ import annotations

STATE_MAX_AGE = 15 * 60
