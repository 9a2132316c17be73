"""Times shown in a chosen zone, with the zone written where a deadline matters."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from payez.entrypoints.web.i18n import format_deadline, format_moment
from payez.sandbox.network.timeline import local_time
from payez.service.time_zones import (
    DEFAULT_TIME_ZONE,
    TimeZoneUnknown,
    check_time_zone,
    time_zone_names,
    zone_label,
    zone_of,
)

PARIS = ZoneInfo("Europe/Paris")
WINTER = datetime(2026, 1, 15, 2, 3, tzinfo=UTC)  # Paris is UTC+1
SUMMER = datetime(2026, 7, 15, 1, 3, tzinfo=UTC)  # Paris is UTC+2


def test_a_utc_instant_reads_in_paris_winter_and_summer_time() -> None:
    assert format_deadline(WINTER, "en", PARIS) == "15 Jan 2026, 03:03:00 (Paris)"
    assert format_deadline(SUMMER, "en", PARIS) == "15 Jul 2026, 03:03:00 (Paris)"
    assert format_deadline(WINTER, "fr", PARIS) == "15 janv. 2026, 03:03:00 (Paris)"


def test_the_same_instant_in_another_zone_says_so() -> None:
    new_york = ZoneInfo("America/New_York")
    assert format_deadline(WINTER, "en", new_york) == "14 Jan 2026, 21:03:00 (New York)"
    assert format_moment(WINTER, "en", new_york) == "14 Jan 2026, 21:03:00"
    tokyo = ZoneInfo("Asia/Tokyo")
    assert format_deadline(SUMMER, "fr", tokyo).endswith("10:03:00 (Tokyo)")


def test_the_default_is_paris() -> None:
    assert DEFAULT_TIME_ZONE == "Europe/Paris"
    assert format_moment(WINTER, "en") == "15 Jan 2026, 03:03:00"
    assert zone_of(None) == PARIS
    assert zone_of("Mars/Olympus_Mons") == PARIS  # a stored zone no longer known


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("Europe/Paris", "Paris"),
        ("America/Argentina/Buenos_Aires", "Buenos Aires"),
        ("UTC", "UTC"),
        ("Etc/UTC", "UTC"),
        ("Etc/GMT+5", "UTC\u221205:00"),  # POSIX names: GMT+5 is five hours behind
        ("Asia/Kolkata", "Kolkata"),
    ],
)
def test_zone_labels(name: str, label: str) -> None:
    assert zone_label(ZoneInfo(name), WINTER) == label


def test_only_known_zones_are_accepted() -> None:
    assert "Europe/Paris" in time_zone_names()
    assert "America/New_York" in time_zone_names()
    assert check_time_zone("Asia/Tokyo") == "Asia/Tokyo"
    for bad in ("Mars/Olympus_Mons", "", "europe/paris", "../../etc/passwd", "Europe/Paris\n"):
        with pytest.raises(TimeZoneUnknown) as refused:
            check_time_zone(bad)
        assert "Europe/Paris" in refused.value.message("fr")


def test_the_sandbox_timeline_writes_paris_time_and_says_so() -> None:
    assert local_time("2026-01-15T02:03:00.000Z") == "2026-01-15 03:03 (Paris)"
    assert local_time("2026-07-15T01:03:00.000Z") == "2026-07-15 03:03 (Paris)"
