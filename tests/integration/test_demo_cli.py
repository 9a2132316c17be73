"""``payez demo seed`` and ``payez accounts show``, as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PAYEZ = [sys.executable, "-m", "payez.entrypoints.cli"]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PAYEZ, *args], env=env, capture_output=True, text=True, timeout=120)


def test_demo_seed_is_idempotent_and_accounts_show_reports_balances(
    database_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "PAYEZ_DATABASE_URL": database_url}
    first = run("demo", "seed", "--json", env=env)
    assert first.returncode == 0, first.stderr
    users = json.loads(first.stdout)["users"]
    assert set(users) == {"alice", "bob", "carol", "restos", "boutique", "dave"}
    assert all(len(u["password"]) >= 12 for u in users.values())
    again = run("demo", "seed", "--json", "--database-url", database_url, env=os.environ.copy())
    assert json.loads(again.stdout) == json.loads(first.stdout)
    shown = run("accounts", "show", "@bob", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    bob = json.loads(shown.stdout)
    assert (bob["handle"], bob["balance_cents"], bob["held_cents"]) == ("bob", 50_000, 0)
    unknown = run("accounts", "show", "nobody", "--json", env=env)
    assert unknown.returncode == 2
    assert "user_unknown" in unknown.stderr
    check = run("ledger", "check", env=env)
    assert check.returncode == 0, check.stdout + check.stderr
