"""The words of the web pages, in French and English, and the choice between them.

The texts live in gettext catalogs, ``translations/<lang>/LC_MESSAGES/messages.po``, read with
Babel when the app starts (no compile step: the catalogs are small). Message ids are stable
keys (``signup_title``), so a template says ``{{ t.signup_title }}`` and both catalogs must
define every key (``tests/integration/test_web_i18n.py`` checks it).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.messages.pofile import read_po

from payez.domain.errors import Language
from payez.service.time_zones import DEFAULT_TIME_ZONE, zone_label

LANGUAGES: tuple[Language, ...] = ("fr", "en")
BABEL_LOCALES: dict[Language, str] = {"fr": "fr_FR", "en": "en_GB"}
# Payez is a French service: times are shown in Paris time, whatever the server's zone,
# unless the user chose another zone in their settings.
DISPLAY_ZONE = ZoneInfo(DEFAULT_TIME_ZONE)


@cache
def catalog(language: Language) -> dict[str, str]:
    """Every message of ``language``, by key."""
    path = resources.files("payez.entrypoints.web") / "translations" / language / "LC_MESSAGES"
    with (path / "messages.po").open("rb") as handle:
        po = read_po(handle, locale=BABEL_LOCALES[language])
    return {str(m.id): str(m.string) for m in po if m.id and m.string}


def texts(language: Language) -> dict[str, str]:
    return catalog(language)


def choose_language(accept_language: str | None, chosen: str | None = None) -> Language:
    """The visitor's choice if any, else the first of French or English the browser prefers."""
    if chosen in LANGUAGES:
        return "fr" if chosen == "fr" else "en"
    ranked: list[tuple[Decimal, str]] = []
    for part in (accept_language or "")[:512].split(","):
        tag, _, params = part.strip().partition(";")
        quality = Decimal(1)
        if params.strip().startswith("q="):
            try:
                quality = Decimal(params.strip()[2:])
            except InvalidOperation:
                quality = Decimal(0)
        ranked.append((quality, tag.strip().lower()[:2]))
    for _quality, tag in sorted(ranked, key=lambda item: -item[0]):
        if tag in LANGUAGES:
            return "fr" if tag == "fr" else "en"
    return "fr"


def format_moment(moment: datetime, language: Language, zone: ZoneInfo = DISPLAY_ZONE) -> str:
    """``moment`` (an aware instant) as read on a clock in ``zone``."""
    return format_datetime(moment, "medium", tzinfo=zone, locale=BABEL_LOCALES[language])


def format_deadline(moment: datetime, language: Language, zone: ZoneInfo = DISPLAY_ZONE) -> str:
    """A time someone must act by, with its zone written: ``2 déc. 2026, 03:03:00 (Paris)``."""
    return f"{format_moment(moment, language, zone)} ({zone_label(zone, moment)})"
