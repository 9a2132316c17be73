"""The velocity rules: which patterns raise a flag, at which thresholds, and how to turn one off."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from payez.domain.velocity import (
    RecentActivity,
    SenderActivity,
    VelocityRule,
    VelocityRules,
    velocity_flags,
)

RULES = VelocityRules(
    burst_count=10,
    burst_window=timedelta(minutes=10),
    new_recipients_per_day=5,
    near_limit_percent=90,
    near_limit_count=3,
)


def rules_of(activity: SenderActivity, rules: VelocityRules = RULES) -> list[VelocityRule]:
    return [f.rule for f in velocity_flags(rules, activity)]


def test_quiet_activity_raises_nothing() -> None:
    assert rules_of(SenderActivity(10, 5, 2)) == []


def test_each_rule_trips_just_past_its_threshold() -> None:
    assert rules_of(SenderActivity(in_burst_window=11)) == [VelocityRule.BURST]
    assert rules_of(SenderActivity(new_recipients_today=6)) == [VelocityRule.NEW_RECIPIENTS]
    assert rules_of(SenderActivity(near_limit_today=3)) == [VelocityRule.NEAR_LIMIT]
    assert rules_of(SenderActivity(11, 6, 3)) == [
        VelocityRule.BURST,
        VelocityRule.NEW_RECIPIENTS,
        VelocityRule.NEAR_LIMIT,
    ]


def test_the_detail_gives_the_figures() -> None:
    (flag,) = velocity_flags(RULES, SenderActivity(in_burst_window=12))
    assert flag.detail == "12 payments in 10 min"


def test_a_zero_threshold_turns_the_rule_off() -> None:
    off = VelocityRules(burst_count=0, new_recipients_per_day=0, near_limit_count=0)
    assert rules_of(SenderActivity(1000, 1000, 1000), off) == []


def test_near_limit_floor_is_integer_cents_rounded_up() -> None:
    assert RULES.near_limit_floor(25_000) == 22_500
    assert VelocityRules(near_limit_percent=95).near_limit_floor(1_001) == 951


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 10_000))
def test_more_activity_never_removes_a_flag(burst: int, new: int, near: int) -> None:
    fewer = set(rules_of(SenderActivity(burst, new, near)))
    more = set(rules_of(SenderActivity(burst + 1, new + 1, near + 1)))
    assert fewer <= more


def test_a_batch_counts_its_own_payments_into_the_recent_activity() -> None:
    # Read from the database: bob paid before (within the lookback), carol first paid today.
    activity = RecentActivity(
        known={(2, "bob"), (3, "carol")}, new_recipients_today=1, in_burst_window=4
    )
    limit = 25_000  # near the limit: 22,500 to 25,000 cents
    activity.add((2, "bob"), 100, RULES, limit)  # a known recipient stays known
    activity.add((None, "dave"), 22_500, RULES, limit)  # a newcomer, just under the limit
    activity.add((None, "dave"), 25_001, RULES, limit)  # paid again, now over the limit
    assert activity.counts() == SenderActivity(
        in_burst_window=7, new_recipients_today=2, near_limit_today=1
    )
