"""``payez bench load`` for a few seconds on PostgreSQL: every kind of traffic is served with
no error and no 5xx, every command post is decided, every payment that asked for a PSD2
confirmation got it from its sender's TOTP code, signed card webhooks are applied once (their
redelivery is a duplicate), the ledger checks, and the report has the latency percentiles of
each kind of request and the server's memory figures.

The ten-minute run (``payez bench load``) is the measure; this one proves the harness, and the
service under it, on every build."""

from __future__ import annotations

from payez.bench.load import run_load_bench

KINDS = {
    "post_command",
    "dashboard",
    "history_csv",
    "settings",
    "api_payments",
    "api_balance",
    "payment_page",
    "webhook_unsigned",
    "webhook_signed",
    "webhook_again",
    "post_confirmable",
    "confirm_page",
    "confirm",
}


def test_mixed_traffic_on_postgres_has_no_error(postgres_url: str) -> None:
    rows = run_load_bench(
        "postgres", postgres_url, seconds=15, posts_per_s=10, browsers=4, users=30
    )
    by_kind = {row["kind"]: row for row in rows}
    assert set(by_kind) == KINDS | {"summary"}
    summary = by_kind["summary"]
    assert summary["errors"] == 0, summary["error_samples"]
    assert summary["command_posts"] >= 50
    assert summary["decided"] == summary["command_posts"]
    assert summary["confirmations_asked"] >= 1
    assert summary["confirmed"] == summary["confirmations_asked"]
    assert summary["awaiting_confirmation_left"] == 0
    assert summary["rss_early_mb"] > 0 and summary["rss_late_mb"] > 0
    for kind in KINDS:
        row = by_kind[kind]
        assert row["requests"] > 0 and 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
