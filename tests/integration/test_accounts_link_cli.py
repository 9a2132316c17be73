"""``payez accounts link``: an operator links a social account (an X account by its numeric id)
to a Payez account from the server; audited, refused with a reason, never half done."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from payez.adapters.db.tables.payments import social_links
from payez.entrypoints.cli import app
from tests.integration.pipeline_world import World


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    world = World.create(database_url)
    world.join("alice")
    world.join("bob")
    yield world
    world.ctx.engine.dispose()


def _run(database_url: str, *args: str) -> Any:
    # No PAYEZ_* variable of the machine leaks into the command.
    runner = CliRunner(env={k: None for k in os.environ if k.startswith("PAYEZ_")})
    return runner.invoke(app, [*args, "--database-url", database_url])


def _links(world: World) -> list[tuple[int, str, str, str]]:
    with world.ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                social_links.c.user_id,
                social_links.c.network,
                social_links.c.account_id,
                social_links.c.handle,
            ).where(social_links.c.network == "x")
        )
        return [(int(u), str(n), str(i), str(h)) for u, n, i, h in rows]


def _audit(world: World) -> list[tuple[Any, ...]]:
    with world.ctx.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT operator_user_id, action, target, details FROM audit_log "
                    "WHERE action = 'account.link' ORDER BY id"
                )
            )
        ]


def test_an_operator_links_an_x_account_by_its_numeric_id(world: World, database_url: str) -> None:
    link = ("accounts", "link", "alice", "--network", "x", "--account-id", "1234567890")
    done = _run(database_url, *link, "--handle", "@Alice_X")
    assert done.exit_code == 0, done.output
    assert "x account 1234567890 (@alice_x) linked" in done.output
    alice = world.users["alice"]
    assert _links(world) == [(alice, "x", "1234567890", "alice_x")]
    [(by, action, target, details)] = _audit(world)
    assert (by, action, target) == (None, "account.link", f"user:{alice}")
    assert json.loads(details) == {
        "network": "x",
        "account_id": "1234567890",
        "handle": "alice_x",
        "credited_cents": 0,
    }
    # The new handle finds the same account.
    shown = _run(database_url, "accounts", "show", "alice_x", "--json")
    assert shown.exit_code == 0 and json.loads(shown.output)["user_id"] == alice
    assert _run(database_url, "audit", "verify").exit_code == 0


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("nobody", "--network", "x", "--account-id", "1", "--handle", "n"), "user_unknown"),
        (("alice", "--network", "x", "--account-id", "alice", "--handle", "a"), "invalid"),
        (("alice", "--network", "myspace", "--account-id", "1", "--handle", "a"), "network"),
        (("alice", "--network", "x", "--account-id", "1", "--handle", " "), "handle"),
    ],
)
def test_refusals_say_why_and_change_nothing(
    world: World, database_url: str, args: tuple[str, ...], code: str
) -> None:
    refused = _run(database_url, "accounts", "link", *args)
    assert refused.exit_code == 2
    assert code in refused.output
    assert _links(world) == [] and _audit(world) == []


def test_an_account_linked_to_someone_else_is_refused(world: World, database_url: str) -> None:
    first = ("accounts", "link", "alice", "--network", "x", "--account-id", "42")
    assert _run(database_url, *first, "--handle", "alice_x").exit_code == 0
    second = ("accounts", "link", "bob", "--network", "x", "--account-id", "42")
    refused = _run(database_url, *second, "--handle", "bob_x")
    assert refused.exit_code == 2 and "account_already_linked" in refused.output
    assert _links(world) == [(world.users["alice"], "x", "42", "alice_x")]
    assert len(_audit(world)) == 1
