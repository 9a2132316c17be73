"""The time zones times are shown in: a user's choice among the IANA zones, Paris by default.

Payez is a French service, so a visitor with no account, and the sandbox (which has no Payez
user), read Paris time. A time that matters as a deadline is written with its zone's label,
"03:03 (Paris)": the city part of the IANA name, or a UTC offset for zones named after none.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from payez.domain.errors import InvalidInput

DEFAULT_TIME_ZONE = "Europe/Paris"
TIME_ZONE_MAX_LENGTH = 64


class TimeZoneUnknown(InvalidInput):
    code = "time_zone_unknown"
    message_fr = (
        "Fuseau horaire inconnu : choisissez-en un dans la liste (par exemple Europe/Paris)."
    )
    message_en = "Unknown time zone: choose one from the list (for example Europe/Paris)."


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone this machine knows, sorted."""
    return tuple(sorted(n for n in available_timezones() if len(n) <= TIME_ZONE_MAX_LENGTH))


def check_time_zone(name: str) -> str:
    if name not in time_zone_names():
        raise TimeZoneUnknown(name[:TIME_ZONE_MAX_LENGTH])
    return name


def zone_of(name: str | None) -> ZoneInfo:
    """The zone called ``name``; the default one when it is missing or no longer known."""
    return ZoneInfo(name if name in time_zone_names() else DEFAULT_TIME_ZONE)


def _offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "\u2212"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def zone_label(zone: ZoneInfo, moment: datetime) -> str:
    """``Paris`` for Europe/Paris, ``Buenos Aires`` for America/Argentina/Buenos_Aires; a UTC
    offset (as of ``moment``) for UTC and for zones named after no place (``Etc/GMT+5``)."""
    area, _, place = zone.key.rpartition("/")
    if area and area != "Etc":
        return place.replace("_", " ")
    return _offset(moment.astimezone(zone).utcoffset() or timedelta(0))
