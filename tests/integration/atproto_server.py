"""The AT Protocol reference network, for the Bluesky tests: a PLC directory, a PDS and the
Bluesky AppView from npm's ``@atproto/dev-env`` (pinned in ``tests/atproto``; ``make atproto``
installs it), on Node 22, with its own PostgreSQL database and the machine's Redis.

One network serves a whole test session; each test makes its own accounts. Tests fail, never
skip, when the network cannot start.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from atproto import Client
from sqlalchemy.engine import make_url

from tests.integration.tcp_proxy import TcpProxy

ATPROTO_DIR = Path(__file__).resolve().parents[1] / "atproto"
NODE = ATPROTO_DIR / "node_modules" / ".bin" / "node"
PASSWORD = "correct-horse-battery"
_START_TIMEOUT = 180.0


@dataclass
class Account:
    handle: str
    did: str
    access_jwt: str
    client: Client


@dataclass
class AtprotoNetwork:
    pds_url: str
    appview_url: str
    control_url: str
    plc_url: str
    accounts: dict[str, Account] = field(default_factory=dict)

    def process(self) -> None:
        """Wait until the AppView has indexed all the PDS holds (what a test wrote is read)."""
        httpx.post(f"{self.control_url}/process", timeout=60).raise_for_status()

    def create_account(self, handle: str) -> Account:
        client = Client(base_url=f"{self.pds_url}/xrpc")
        created = client.com.atproto.server.create_account(
            {"handle": handle, "email": f"{uuid.uuid4().hex}@example.test", "password": PASSWORD}
        )
        client.login(handle, PASSWORD, fetch_bsky_profile=False)
        account = Account(handle, created.did, created.access_jwt, client)
        self.accounts[handle] = account
        return account

    def rename(self, handle: str, new_handle: str) -> Account:
        account = self.accounts.pop(handle)
        account.client.com.atproto.identity.update_handle({"handle": new_handle})
        renamed = Account(new_handle, account.did, account.access_jwt, account.client)
        self.accounts[new_handle] = renamed
        return renamed


def _admin_url() -> str:
    return os.environ.get(
        "PAYEZ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )


@contextlib.contextmanager
def running_atproto_network() -> Iterator[AtprotoNetwork]:
    if not NODE.exists():
        pytest.fail(f"the AT Protocol test network is not installed: run `make atproto` ({NODE})")
    database = f"payez_atproto_{uuid.uuid4().hex[:10]}"
    admin = _admin_url()
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    env = {
        **os.environ,
        "DB_POSTGRES_URL": make_url(admin).set(database=database).render_as_string(False),
        "REDIS_HOST": os.environ.get("PAYEZ_TEST_REDIS_HOST", "127.0.0.1:6379"),
        "LOG_ENABLED": "false",
        "NODE_NO_WARNINGS": "1",
    }
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"{database}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(NODE), "network.mjs"],
            cwd=ATPROTO_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
    try:
        yield _wait_for_addresses(process, log_path)
    finally:
        _stop(process)
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        log_path.unlink(missing_ok=True)


def _wait_for_addresses(process: subprocess.Popen[bytes], log_path: Path) -> AtprotoNetwork:
    assert process.stdout is not None
    deadline = time.monotonic() + _START_TIMEOUT
    line = b""
    while time.monotonic() < deadline and process.poll() is None:
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        if ready:
            line = process.stdout.readline()
            if line.startswith(b"{"):
                break
    if not line.startswith(b"{"):
        tail = log_path.read_text(errors="replace")[-3000:]
        pytest.fail(f"the AT Protocol test network did not start:\n{tail}")
    addresses = json.loads(line)
    # Drain its output so a chatty server never blocks on a full pipe.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return AtprotoNetwork(
        pds_url=addresses["pds"].replace("localhost", "127.0.0.1"),
        appview_url=addresses["appview"].replace("localhost", "127.0.0.1"),
        control_url=addresses["control"],
        plc_url=addresses["plc"].replace("localhost", "127.0.0.1"),
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class BlueskyWorld:
    """One test's accounts on the shared network, with names of their own (``alice-3f2a.test``),
    and a proxy in front of the PDS that the adapter talks through, so a test can cut it off."""

    def __init__(self, network: AtprotoNetwork) -> None:
        self.network = network
        self.suffix = uuid.uuid4().hex[:6]
        self.by_name: dict[str, Account] = {}
        self.proxy = TcpProxy(network.pds_url)
        self.proxy.start()

    def handle(self, name: str) -> str:
        """``name``'s handle: ``alice-3f2a.test``, or the one it was renamed to."""
        known = self.by_name.get(name.lower())
        return known.handle if known is not None else f"{name}-{self.suffix}.test"

    def account(self, name: str) -> Account:
        known = self.by_name.get(name)
        if known is None:
            known = self.by_name[name] = self.network.create_account(self.handle(name))
        return known

    def rename(self, name: str, new_name: str) -> str:
        """Give ``name``'s account the handle ``new_name-3f2a.test``; its DID stays."""
        self.by_name[name] = self.network.rename(
            self.handle(name), f"{new_name}-{self.suffix}.test"
        )
        return self.by_name[name].handle

    def close(self) -> None:
        self.proxy.close()

    # -- what people do on Bluesky, as its app does it -----------------------------------------

    def written(self, text: str) -> str:
        """``text`` with each ``@name`` of a test account spelt as its handle."""
        return _MENTION.sub(lambda m: f"@{self.handle(m[1])}" if self._known(m[1]) else m[0], text)

    def _known(self, name: str) -> bool:
        return name in self.by_name

    def post(
        self,
        name: str,
        text: str,
        *,
        in_reply_to: str | None = None,
        quote_of: str | None = None,
        created_at: str | None = None,
    ) -> str:
        """Post ``text`` as ``name``, its mentions of test accounts as mention facets (byte
        offsets, as the app computes them); returns the post's AT URI."""
        author = self.account(name)
        body = self.written(text)
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": body,
            "createdAt": created_at or _now(),
        }
        facets = self._facets(body)
        if facets:
            record["facets"] = facets
        if in_reply_to is not None:
            parent = self.strong_ref(in_reply_to)
            parent_record = self.record(in_reply_to)
            root = (parent_record.get("reply") or {}).get("root") or parent
            record["reply"] = {"root": root, "parent": parent}
        if quote_of is not None:
            record["embed"] = {
                "$type": "app.bsky.embed.record",
                "record": self.strong_ref(quote_of),
            }
        return self._create(author, "app.bsky.feed.post", record)

    def _facets(self, text: str) -> list[dict[str, Any]]:
        encoded = text.encode()
        facets = []
        for match in re.finditer(r"@([a-z0-9.-]+\.test)", text):
            account = self.network.accounts.get(match[1])
            if account is None:
                continue
            start = len(text[: match.start()].encode())
            end = start + len(match[0].encode())
            assert encoded[start:end] == match[0].encode()
            facets.append(
                {
                    "index": {"byteStart": start, "byteEnd": end},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": account.did}],
                }
            )
        return facets

    def _create(self, author: Account, collection: str, record: dict[str, Any]) -> str:
        created = author.client.com.atproto.repo.create_record(
            {"repo": author.did, "collection": collection, "record": record}
        )
        return str(created.uri)

    def _parts(self, uri: str) -> tuple[str, str, str]:
        did, collection, rkey = uri.removeprefix("at://").split("/")
        return did, collection, rkey

    def _owner(self, uri: str) -> Account:
        did = self._parts(uri)[0]
        return next(a for a in self.network.accounts.values() if a.did == did)

    def replies_by(self, name: str, uri: str) -> list[dict[str, Any]]:
        """The posts of ``name`` in reply to ``uri``, read from their own repository."""
        author = self.account(name)
        answer = author.client.com.atproto.repo.list_records(
            {"repo": author.did, "collection": "app.bsky.feed.post", "limit": 100}
        )
        found = []
        for item in answer.records:
            value = item.value
            record = value if isinstance(value, dict) else value.model_dump(by_alias=True)
            if ((record.get("reply") or {}).get("parent") or {}).get("uri") == uri:
                found.append(record)
        return found

    def strong_ref(self, uri: str) -> dict[str, str]:
        did, collection, rkey = self._parts(uri)
        answer = self._owner(uri).client.com.atproto.repo.get_record(
            {"repo": did, "collection": collection, "rkey": rkey}
        )
        return {"uri": str(answer.uri), "cid": str(answer.cid)}

    def record(self, uri: str) -> dict[str, Any]:
        did, collection, rkey = self._parts(uri)
        answer = self._owner(uri).client.com.atproto.repo.get_record(
            {"repo": did, "collection": collection, "rkey": rkey}
        )
        value = answer.value
        return dict(value) if isinstance(value, dict) else value.model_dump(by_alias=True)

    def rewrite(self, uri: str, text: str) -> None:
        """Replace the post's record (``putRecord``): what a client could do, as Bluesky's app
        has no edits."""
        did, collection, rkey = self._parts(uri)
        record = self.record(uri)
        record["text"] = self.written(text)
        record["facets"] = self._facets(record["text"])
        self._owner(uri).client.com.atproto.repo.put_record(
            {"repo": did, "collection": collection, "rkey": rkey, "record": record}
        )

    def delete(self, uri: str) -> None:
        did, collection, rkey = self._parts(uri)
        self._owner(uri).client.com.atproto.repo.delete_record(
            {"repo": did, "collection": collection, "rkey": rkey}
        )

    def repost(self, name: str, uri: str) -> str:
        record = {
            "$type": "app.bsky.feed.repost",
            "subject": self.strong_ref(uri),
            "createdAt": _now(),
        }
        return self._create(self.account(name), "app.bsky.feed.repost", record)


_MENTION = re.compile(r"@([a-z0-9_]+)(?![a-z0-9_.-])")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
