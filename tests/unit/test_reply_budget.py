"""Reply budgets: windows read from settings, and the plan that spends them, needed replies
first, acknowledgements above a reserve, never more than a window allows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payez.config import SettingsError, load_settings
from payez.domain.reply_budget import (
    Defer,
    Downgrade,
    Priority,
    ReplyBudget,
    ReplyBudgetInvalid,
    Send,
    Spend,
    Window,
    parse_windows,
    plan,
    priority_of,
    remaining,
)
from payez.service.context import reply_budget_from

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
NEEDS, ACK = Priority.NEEDS_USER, Priority.ACKNOWLEDGEMENT


def test_windows_are_read_and_sorted_by_period() -> None:
    assert parse_windows("1667/24h, 100/15m") == (
        Window(100, timedelta(minutes=15)),
        Window(1667, timedelta(hours=24)),
    )
    assert parse_windows("300/3h") == (Window(300, timedelta(hours=3)),)
    assert parse_windows("5/s")[0].period == timedelta(seconds=1)
    assert parse_windows("  ") == ()
    assert [w.label for w in parse_windows("100/15m,1667/24h,10/90s")] == ["90s", "15m", "24h"]


@pytest.mark.parametrize("text", ["100", "100/", "-1/1h", "10/0h", "ten/1h", "10/1w", "10/1h;"])
def test_an_unreadable_window_is_refused(text: str) -> None:
    with pytest.raises(ReplyBudgetInvalid):
        parse_windows(text)


def test_a_window_that_cannot_afford_one_post_is_refused() -> None:
    with pytest.raises(ReplyBudgetInvalid, match="cannot afford"):
        parse_windows("2/1h", cost=3)


def test_settings_carry_each_networks_budget_and_refuse_a_bad_one() -> None:
    settings = load_settings({})
    assert reply_budget_from(settings, "mastodon") == ReplyBudget(
        (Window(300, timedelta(hours=3)),), 1, "spend"
    )
    bluesky = reply_budget_from(settings, "bluesky")
    assert bluesky.cost == 3 and [w.limit for w in bluesky.windows] == [5000, 35000]
    assert bluesky.private_messages == "separate"
    no_chat = load_settings({"PAYEZ_BLUESKY_CHAT_SERVICE": ""})
    assert reply_budget_from(no_chat, "bluesky").private_messages == "none"
    assert reply_budget_from(settings, "x").private_messages == "separate"
    assert reply_budget_from(settings, "sandbox").unlimited
    assert reply_budget_from(settings, "memory").unlimited
    with pytest.raises(SettingsError, match="PAYEZ_X_REPLY_BUDGET"):
        load_settings({"PAYEZ_X_REPLY_BUDGET": "lots"})
    with pytest.raises(SettingsError, match="PAYEZ_BLUESKY_REPLY_BUDGET"):
        load_settings({"PAYEZ_BLUESKY_REPLY_BUDGET": "2/1h"})
    with pytest.raises(SettingsError, match="RESERVE"):
        load_settings({"PAYEZ_REPLY_BUDGET_RESERVE_PERCENT": "95"})


def test_acknowledgements_are_the_good_news_only() -> None:
    assert priority_of("settled") is ACK and priority_of("received") is ACK
    for outcome in ("confirmation_required", "claim_pending", "amount_over_limit", "help", None):
        assert priority_of(outcome) is NEEDS


def test_an_unlimited_budget_sends_everything() -> None:
    assert plan(ReplyBudget(), [], NOW, [ACK, NEEDS], reserve_percent=20) == [Send(), Send()]


def test_needed_replies_go_first_and_acknowledgements_stop_at_the_reserve() -> None:
    budget = ReplyBudget((Window(10, HOUR),))
    priorities = [ACK] * 9 + [NEEDS] * 3
    verdicts = plan(budget, [], NOW, priorities, reserve_percent=20)
    assert verdicts[9:] == [Send()] * 3  # the needed ones, although last in the batch
    # 7 points left after them, 2 kept in reserve: 5 acknowledgements sent, 4 told in the app.
    assert verdicts[:5] == [Send()] * 5
    assert verdicts[5:9] == [Downgrade()] * 4


def test_a_needed_reply_waits_until_the_oldest_spend_leaves_the_window() -> None:
    budget = ReplyBudget((Window(2, HOUR),))
    spends = [Spend(NOW - timedelta(minutes=50), 1), Spend(NOW - timedelta(minutes=30), 1)]
    assert plan(budget, spends, NOW, [NEEDS, ACK], reserve_percent=0) == [
        Defer(NOW + timedelta(minutes=10)),
        Downgrade(),
    ]


def test_the_tightest_window_binds() -> None:
    budget = ReplyBudget((Window(3, timedelta(minutes=15)), Window(100, timedelta(hours=24))))
    spends = [Spend(NOW - timedelta(minutes=m), 1) for m in (14, 10, 5)]
    assert remaining(budget, spends, NOW) == {budget.windows[0]: 0, budget.windows[1]: 97}
    assert plan(budget, spends, NOW, [NEEDS], reserve_percent=0) == [
        Defer(NOW + timedelta(minutes=1))
    ]


def test_a_post_costs_its_points() -> None:
    budget = ReplyBudget((Window(10, HOUR),), cost=3)
    verdicts = plan(budget, [], NOW, [NEEDS] * 4, reserve_percent=0)
    assert verdicts[:3] == [Send()] * 3
    assert isinstance(verdicts[3], Defer)


@given(
    limit=st.integers(1, 20),
    cost=st.integers(1, 3),
    reserve=st.integers(0, 90),
    ages=st.lists(st.integers(0, 7_200), max_size=30),
    priorities=st.lists(st.sampled_from([NEEDS, ACK]), max_size=40),
)
def test_a_plan_never_overspends_nor_sends_an_acknowledgement_before_a_needed_reply(
    limit: int, cost: int, reserve: int, ages: list[int], priorities: list[Priority]
) -> None:
    window = Window(max(limit, cost), HOUR)
    budget = ReplyBudget((window,), cost=cost)
    spends = [Spend(NOW - timedelta(seconds=a), cost) for a in ages]
    verdicts = plan(budget, spends, NOW, priorities, reserve_percent=reserve)
    assert len(verdicts) == len(priorities)
    sent = sum(cost for v in verdicts if isinstance(v, Send))
    already = sum(s.cost for s in spends if s.at > NOW - HOUR)
    assert sent <= max(0, window.limit - already)
    needed_waiting = any(
        isinstance(v, Defer) for v, p in zip(verdicts, priorities, strict=True) if p is NEEDS
    )
    acks_sent = any(
        isinstance(v, Send) for v, p in zip(verdicts, priorities, strict=True) if p is ACK
    )
    assert not (needed_waiting and acks_sent)
    for verdict, priority in zip(verdicts, priorities, strict=True):
        assert not isinstance(verdict, Downgrade) or priority is ACK  # needed replies wait
        if isinstance(verdict, Defer):
            assert NOW < verdict.until <= NOW + HOUR
