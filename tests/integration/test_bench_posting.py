"""The e2e benchmark's posters, against the sandbox: each post creates one status, and a
refused post stops the run with the sandbox's answer."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from payez.bench.posting import Post, PostRefused, post_at_rate
from payez.sandbox.network import MOUNT_PATH
from tests.integration.sandbox_server import running_sandbox


def test_each_post_creates_one_status_and_is_timed(sqlite_url: str) -> None:
    with running_sandbox(sqlite_url) as sandbox:
        token = sandbox.token("alice")
        address = urlsplit(sandbox.server.url)
        assert address.hostname is not None and address.port is not None
        texts = [f"@payez envoie {n} € à @bob" for n in range(1, 6)]
        created = post_at_rate(
            address.hostname,
            address.port,
            f"{MOUNT_PATH}/api/v1/statuses",
            [Post(token, text) for text in texts],
            rate=50,
        )
        assert len(created) == 5
        alice = sandbox.client("alice")
        posted = {str(status.id) for status in alice.account_statuses(alice.me().id)}
        assert posted == {str(status_id) for status_id in created}
        sent_at = sorted(created.values())
        assert sent_at[-1] - sent_at[0] >= 4 / 50 * 0.9  # spread at the rate asked


def test_a_refused_post_stops_the_run_with_the_answer(sqlite_url: str) -> None:
    with running_sandbox(sqlite_url) as sandbox:
        address = urlsplit(sandbox.server.url)
        assert address.hostname is not None and address.port is not None
        with pytest.raises(PostRefused, match="401"):
            post_at_rate(
                address.hostname,
                address.port,
                f"{MOUNT_PATH}/api/v1/statuses",
                [Post("not-a-token", "@payez envoie 1 € à @bob")],
                rate=10,
            )
