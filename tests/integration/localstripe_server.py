"""localstripe, the stateful fake Stripe server from PyPI, run as a private subprocess.

Out of the box localstripe listens on every interface (``::``) on port 8420 and pickles its
store into ``/tmp/localstripe.pickle``, shared by every user of the machine. Run as a script,
this module starts it instead on ``127.0.0.1`` with a port the kernel picks, keeps its pickle
in a directory of our own, prints ``PORT <n>`` once it listens, and serves until killed.

One fidelity patch: when a documented Stripe test card is refused as it is saved, Stripe's
error carries a ``decline_code`` (``insufficient_funds`` for 4000000000009995,
``generic_decline`` for 4000000000000002); localstripe leaves it out, so it is added here.

The ``localstripe`` fixture (imported by the test modules that need it) starts one server per
test session, waits until it answers, and kills it at teardown.
"""

from __future__ import annotations

import os
import pickle
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

_DECLINE_CODES = {"4000000000009995": "insufficient_funds"}


@dataclass(frozen=True)
class LocalStripe:
    base_url: str
    api_key: str = "sk_test_payez"
    publishable_key: str = "pk_test_payez"

    def authenticate(self, payment_intent_id: str, *, approve: bool) -> None:
        """What Stripe.js does after the cardholder answers the 3-D Secure challenge."""
        intent = httpx.get(
            f"{self.base_url}/v1/payment_intents/{payment_intent_id}",
            auth=(self.api_key, ""),
        ).json()
        response = httpx.post(
            f"{self.base_url}/v1/payment_intents/{payment_intent_id}/_authenticate",
            data={
                "key": self.publishable_key,
                "client_secret": intent["client_secret"],
                "success": "true" if approve else "false",
            },
        )
        response.raise_for_status()

    def register_webhook(self, name: str, url: str, secret: str) -> None:
        response = httpx.post(
            f"{self.base_url}/_config/webhooks/{name}", data={"url": url, "secret": secret}
        )
        response.raise_for_status()


def _serve(data_dir: Path) -> None:  # pragma: no cover - runs in the subprocess
    from aiohttp import web
    from localstripe import resources, server

    pickle_path = data_dir / "localstripe.pickle"

    def dump_to_disk(self: dict[str, object]) -> None:
        with pickle_path.open("wb") as f:
            pickle.dump(dict(self), f, protocol=pickle.HIGHEST_PROTOCOL)

    resources.Store.dump_to_disk = dump_to_disk

    @web.middleware
    async def decline_codes(request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)  # type: ignore[no-any-return]
        except resources.UserError as exc:
            match = re.fullmatch(r"/v1/payment_methods/(\w+)/attach", request.path)
            if exc.code == 402 and match:
                method = resources.store.get("payment_method:" + match.group(1))
                number = getattr(method, "_card_number", "")
                exc.body["error"]["decline_code"] = _DECLINE_CODES.get(number, "generic_decline")
            raise

    # Innermost, so it sees the error before localstripe's own middleware renders it.
    server.app.middlewares.append(decline_codes)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    web.run_app(server.app, sock=sock, print=None, access_log=None)


def start_localstripe(
    data_dir: Path, *, timeout: float = 30.0
) -> tuple[subprocess.Popen[str], str]:
    """Start the server; return the process and its base URL once it answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TMPDIR": str(data_dir)}
    process = subprocess.Popen(
        [sys.executable, __file__, str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=(data_dir / "stderr.log").open("w"),
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("PORT "):
        process.kill()
        raise RuntimeError(f"localstripe did not start: {line!r}")
    base_url = f"http://127.0.0.1:{int(line.split()[1])}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(f"{base_url}/v1/customers", auth=("sk_test_payez", ""), timeout=2)
            return process, base_url
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("localstripe did not answer") from None
            time.sleep(0.1)


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    process, base_url = start_localstripe(tmp_path_factory.mktemp("localstripe"))
    try:
        yield LocalStripe(base_url)
    finally:
        process.kill()
        process.wait(timeout=10)


if __name__ == "__main__":  # pragma: no cover
    _serve(Path(sys.argv[1]))
