"""Typed settings, read from the environment in this one place.

Every setting has a ``PAYEZ_`` environment variable; :func:`load_settings` is the only reader
of ``os.environ`` in the package. Money settings are integer cents.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from payez.domain.errors import InvalidInput
from payez.domain.reply_budget import ReplyBudgetInvalid, parse_windows

Environment = Literal["development", "production"]
ConfirmMode = Literal["psd2", "always", "never"]

DEFAULT_DATABASE_URL = "sqlite:///payez.db"
DEVELOPMENT_SECRET = "dev-secret-change-me"  # refused in production below


class SettingsError(InvalidInput):
    code = "settings_invalid"
    message_fr = "Configuration invalide."
    message_en = "Invalid configuration."


@dataclass(frozen=True, slots=True)
class Settings:
    # May carry a password: kept out of the repr, as every secret below.
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)
    environment: Environment = "development"
    secret_key: str = field(default=DEVELOPMENT_SECRET, repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = "http://127.0.0.1:8000"
    service_handle: str = "payez"
    # Policy (integer cents and counts).
    max_person_payment_cents: int = 25_000
    max_association_payment_cents: int = 50_000
    min_payment_cents: int = 50
    daily_cap_cents: int = 100_000
    monthly_cap_cents: int = 250_000
    confirm: ConfirmMode = "psd2"
    psd2_single_cents: int = 3_000
    psd2_cumulative_cents: int = 10_000
    psd2_cumulative_count: int = 5
    claim_window_days: int = 7
    claim_reminder_hours: int = 24
    stale_post_minutes: int = 10
    confirmation_ttl_minutes: int = 15
    # Payment kinds a sender without the identity check may still make (comma-separated).
    unverified_may: str = "donation,purchase"
    # Velocity rules: flags for an operator's review, never refusals; 0 turns a rule off.
    velocity_burst_count: int = 10
    velocity_burst_minutes: int = 10
    velocity_new_recipients_per_day: int = 5
    velocity_near_limit_percent: int = 90
    velocity_near_limit_count: int = 3
    # Payment orders one sender may post in an hour; past it they are refused (0: no limit).
    sender_orders_per_hour: int = 100
    # Throughput knobs (docs/performance.md): posts decided per transaction by the inbox
    # processor, and database connections each process keeps (PostgreSQL).
    inbox_batch_size: int = 200
    database_pool_size: int = 10
    # Processes `payez serve` answers requests with, one core each (PostgreSQL only: SQLite
    # takes one writer at a time).
    web_processes: int = 1
    # Where the back-office writes the payout files it exports.
    payout_export_dir: str = "payout-exports"
    # Card processor: "sandbox" or "stripe".
    card_processor: str = "sandbox"
    stripe_secret_key: str = field(default="", repr=False)
    stripe_publishable_key: str = ""
    stripe_webhook_secret: str = field(default="", repr=False)
    stripe_api_base: str = ""
    # Where browsers load Stripe.js from (tests point it at a local fake).
    stripe_js_url: str = "https://js.stripe.com/v3/"
    # SEPA payouts leave from this account of ours (the default is a sandbox test IBAN).
    payout_debtor_name: str = "Payez SAS"
    payout_debtor_iban: str = "FR7630006000011234567890189"
    payout_debtor_bic: str = "AGRIFRPPXXX"
    # Networks.
    mastodon_base_url: str = ""
    mastodon_access_token: str = field(default="", repr=False)
    # Payez's OAuth application on that server, for claims and account linking.
    mastodon_client_id: str = ""
    mastodon_client_secret: str = field(default="", repr=False)
    # X (API v2): the service account's OAuth 1.0a user context (it reads its mentions, replies
    # and sends direct messages as itself), the app's bearer token (reads, optional), the
    # OAuth 2.0 client id for linking accounts (PKCE), and where the API is.
    x_consumer_key: str = ""
    x_consumer_secret: str = field(default="", repr=False)
    x_access_token: str = field(default="", repr=False)
    x_access_token_secret: str = field(default="", repr=False)
    x_bearer_token: str = field(default="", repr=False)
    x_client_id: str = ""
    x_api_url: str = "https://api.x.com"
    x_authorize_url: str = "https://x.com/i/oauth2/authorize"
    # Bluesky (AT Protocol): the service account's PDS, handle and app password; the repository
    # event stream it listens to (the relay; empty: read the notifications only, every
    # bluesky_poll_seconds); the chat service private messages go through (empty: none).
    bluesky_service: str = "https://bsky.social"
    bluesky_handle: str = ""
    bluesky_app_password: str = field(default="", repr=False)
    bluesky_firehose: str = "wss://bsky.network"
    bluesky_chat_service: str = "did:web:api.bsky.chat#bsky_chat"
    bluesky_poll_seconds: int = 30
    # Where did:plc documents are read: a person linking by AT Protocol OAuth is trusted once
    # their DID's document says their PDS is served by the authorization server they used.
    bluesky_plc_url: str = "https://plc.directory"
    # Reply budgets (docs/pipeline.md): what the service account may post on each network, as
    # "LIMIT/PERIOD" windows separated by commas (periods in s, m, h or d; empty: no limit).
    # X: the Basic tier's 100 posts a day per user; Bluesky: points, 3 a post; Mastodon: the
    # server's default 300 statuses in 3 hours. Acknowledgements keep this share of every
    # window for the replies that need the user (links, refusals).
    x_reply_budget: str = "100/24h"
    bluesky_reply_budget: str = "5000/1h,35000/24h"
    mastodon_reply_budget: str = "300/3h"
    sandbox_reply_budget: str = ""
    reply_budget_reserve_percent: int = 20
    # Web app: sessions and login rate limiting.
    session_days: int = 14
    login_window_minutes: int = 15
    login_max_failures: int = 5  # per email within the window
    login_max_failures_per_ip: int = 20  # per address within the window (shared NATs)
    # Login attempts (email, address) are personal data: kept this long, then deleted.
    login_attempts_days: int = 30
    # Live dashboard (server-sent events, entrypoints/web/dashboard_events.py): how often an
    # open stream looks for news, how long it may stay silent before a heartbeat keeps
    # proxies from closing it, and how long it lives before the browser reconnects (which
    # checks the login again).
    live_poll_ms: int = 1000
    live_heartbeat_seconds: int = 15
    live_stream_seconds: int = 900
    # Emailed account links (verification, password reset): how many requests are answered
    # per address and per client address within the window; past that, nothing is sent.
    email_link_window_minutes: int = 60
    email_link_max_per_address: int = 3
    email_link_max_per_ip: int = 20
    # Email: the SMTP server (``smtp_server`` reads the URL; empty: the sandbox mailbox) and
    # the From address. The URL may carry a password: kept out of the repr.
    smtp_url: str = field(default="", repr=False)
    mail_from: str = "Payez <no-reply@payez.localhost>"
    # ``/metrics`` tells volumes and balances-in-flight: with a token set, a scraper must send
    # it as a Bearer token; in production without one, ``/metrics`` is not served.
    metrics_token: str = field(default="", repr=False)
    # The sites that may show Payez's widgets (``/embed/...``) in a frame: CSP frame-ancestors
    # sources separated by spaces. "*" (the default): any site, as a widget shows only public
    # facts and changes nothing; or origins such as "https://restos.example https://*.shop.fr".
    embed_frame_ancestors: str = "*"
    extra: Mapping[str, str] = field(default_factory=dict)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def check_production_safety(self) -> None:
        """Production refuses development secrets and the no-confirmation mode."""
        if self.environment != "production":
            return
        if self.secret_key == DEVELOPMENT_SECRET or len(self.secret_key) < 32:
            raise SettingsError("PAYEZ_SECRET_KEY must be a random secret of 32+ characters")
        if self.confirm == "never":
            raise SettingsError("PAYEZ_CONFIRM=never is refused in production")
        if "send" in self.unverified_kinds:
            raise SettingsError("PAYEZ_UNVERIFIED_MAY cannot include send in production")
        server = self.smtp_server
        if server is None:
            raise SettingsError("PAYEZ_SMTP_URL is required in production (emails must go out)")
        if server.security == "none" and not server.loopback:
            raise SettingsError("PAYEZ_SMTP_URL: smtp+insecure:// is refused in production")

    @property
    def bluesky_configured(self) -> bool:
        """True when the service account's handle and app password are set (then Payez
        listens to Bluesky); one without the other is refused by :func:`load_settings`."""
        return bool(self.bluesky_handle and self.bluesky_app_password)

    @property
    def x_configured(self) -> bool:
        """True when the service account's X credentials are all set (then Payez listens to
        X); a partial set is refused by :func:`load_settings`."""
        return all(getattr(self, name) for name in _X_USER_CONTEXT)

    @property
    def smtp_server(self) -> SmtpServer | None:
        """The SMTP server ``smtp_url`` names, or None for the sandbox mailbox."""
        return parse_smtp_url(self.smtp_url) if self.smtp_url else None

    @property
    def mail_from_address(self) -> str:
        """The bare address of ``mail_from`` (``no-reply@payez.localhost``)."""
        address = parseaddr(self.mail_from)[1]
        if "@" not in address or address.startswith("@") or address.endswith("@"):
            raise SettingsError(f"PAYEZ_MAIL_FROM is not an email address: {self.mail_from!r}")
        return address

    @property
    def embed_ancestors(self) -> tuple[str, ...]:
        """``embed_frame_ancestors``, checked: nothing that could end the CSP directive."""
        sources = tuple(self.embed_frame_ancestors.split())
        for source in sources:
            if source not in ("*", "'self'", "'none'") and not _EMBED_ORIGIN.fullmatch(source):
                raise SettingsError(
                    f"PAYEZ_EMBED_FRAME_ANCESTORS: {source[:60]!r} is not *, 'self', 'none' "
                    "nor an origin such as https://example.org"
                )
        if not sources:
            raise SettingsError("PAYEZ_EMBED_FRAME_ANCESTORS is empty: write 'none' to refuse all")
        return sources

    @property
    def unverified_kinds(self) -> frozenset[str]:
        kinds = frozenset(k.strip() for k in self.unverified_may.split(",") if k.strip())
        unknown = kinds - {"send", "donation", "purchase"}
        if unknown:
            raise SettingsError(f"PAYEZ_UNVERIFIED_MAY: unknown kinds {sorted(unknown)}")
        return kinds


# An http(s) origin, its host possibly a wildcard of subdomains (``https://*.example.org``).
_EMBED_ORIGIN = re.compile(r"https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?")


SmtpSecurity = Literal["tls", "starttls", "none"]
_SMTP_SCHEMES: dict[str, tuple[SmtpSecurity, int]] = {
    "smtps": ("tls", 465),
    "smtp": ("starttls", 587),
    "smtp+insecure": ("none", 25),
}


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where emails go: ``smtps://`` TLS from the first byte; ``smtp://`` STARTTLS, required
    unless the host is a loopback address (the traffic never leaves the machine);
    ``smtp+insecure://`` plain text, for a local mail catcher."""

    host: str
    port: int
    security: SmtpSecurity
    username: str = ""
    password: str = field(default="", repr=False)

    @property
    def loopback(self) -> bool:
        if self.host.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def masked_url(self) -> str:
        """The URL to show in logs and errors: the password is never written."""
        scheme = next(s for s, (security, _) in _SMTP_SCHEMES.items() if security == self.security)
        user = (
            f"{self.username}:***@"
            if self.password
            else f"{self.username}@"
            if self.username
            else ""
        )
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{user}{host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp://user:pass@host:port`` and its kin (see :class:`SmtpServer`); anything else is
    a :class:`SettingsError` that never quotes the password."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise SettingsError("PAYEZ_SMTP_URL is not a valid URL (check the port)") from None
    scheme = parts.scheme.lower()
    if scheme not in _SMTP_SCHEMES:
        raise SettingsError("PAYEZ_SMTP_URL must start with smtps://, smtp:// or smtp+insecure://")
    if port == 0:
        raise SettingsError("PAYEZ_SMTP_URL: port 0 is not a port")
    if not parts.hostname:
        raise SettingsError("PAYEZ_SMTP_URL has no host: smtp://user:password@host:port")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SettingsError("PAYEZ_SMTP_URL takes no path, query or fragment")
    if parts.password is not None and not parts.username:
        raise SettingsError("PAYEZ_SMTP_URL has a password but no user name")
    security, default_port = _SMTP_SCHEMES[scheme]
    return SmtpServer(
        host=parts.hostname,
        port=port or default_port,
        security=security,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


_X_USER_CONTEXT = ("x_consumer_key", "x_consumer_secret", "x_access_token", "x_access_token_secret")


def _check_x(settings: Settings) -> None:
    given = [name for name in _X_USER_CONTEXT if getattr(settings, name)]
    if given and len(given) < len(_X_USER_CONTEXT):
        missing = ", ".join(f"PAYEZ_{n.upper()}" for n in _X_USER_CONTEXT if n not in given)
        raise SettingsError(f"X is half configured: {missing} missing")
    if settings.x_client_id and not settings.x_configured:
        raise SettingsError("PAYEZ_X_CLIENT_ID needs the service account's X credentials too")
    scheme = urlsplit(settings.x_api_url).scheme
    if scheme not in ("https", "http") or not urlsplit(settings.x_api_url).hostname:
        raise SettingsError("PAYEZ_X_API_URL must be an http(s) address")


def _check_bluesky(settings: Settings) -> None:
    if bool(settings.bluesky_handle) != bool(settings.bluesky_app_password):
        raise SettingsError(
            "Bluesky is half configured: PAYEZ_BLUESKY_HANDLE and PAYEZ_BLUESKY_APP_PASSWORD "
            "go together"
        )
    service = urlsplit(settings.bluesky_service)
    if service.scheme not in ("https", "http") or not service.hostname:
        raise SettingsError("PAYEZ_BLUESKY_SERVICE must be an http(s) address")
    stream = urlsplit(settings.bluesky_firehose)
    if settings.bluesky_firehose and (stream.scheme not in ("wss", "ws") or not stream.hostname):
        raise SettingsError("PAYEZ_BLUESKY_FIREHOSE must be a ws(s) address, or empty")
    plc = urlsplit(settings.bluesky_plc_url)
    if plc.scheme not in ("https", "http") or not plc.hostname:
        raise SettingsError("PAYEZ_BLUESKY_PLC_URL must be an http(s) address")
    if settings.bluesky_poll_seconds < 1:
        raise SettingsError("PAYEZ_BLUESKY_POLL_SECONDS must be at least 1")


def _check_live(settings: Settings) -> None:
    # Below 50 ms, every open dashboard would turn into a steady load on the database.
    if settings.live_poll_ms < 50:
        raise SettingsError("PAYEZ_LIVE_POLL_MS must be at least 50")
    if settings.live_heartbeat_seconds < 1 or settings.live_stream_seconds < 1:
        raise SettingsError("PAYEZ_LIVE_HEARTBEAT_SECONDS and PAYEZ_LIVE_STREAM_SECONDS: 1+")


def _check_web_processes(settings: Settings) -> None:
    if not 1 <= settings.web_processes <= 64:
        raise SettingsError("PAYEZ_WEB_PROCESSES must be between 1 and 64")
    if settings.web_processes > 1 and sqlite_path(settings.database_url) is not None:
        raise SettingsError("PAYEZ_WEB_PROCESSES above 1 needs PostgreSQL")


# Points one post spends on each network's budget (Bluesky counts a created record as 3).
POST_COST: Mapping[str, int] = {"bluesky": 3}


def _check_reply_budgets(settings: Settings) -> None:
    for network in ("x", "bluesky", "mastodon", "sandbox"):
        text = getattr(settings, f"{network}_reply_budget")
        try:
            parse_windows(text, cost=POST_COST.get(network, 1))
        except ReplyBudgetInvalid as exc:
            raise SettingsError(f"PAYEZ_{network.upper()}_REPLY_BUDGET: {exc.detail}") from None
    if not 0 <= settings.reply_budget_reserve_percent <= 90:
        raise SettingsError("PAYEZ_REPLY_BUDGET_RESERVE_PERCENT must be between 0 and 90")


def _coerce(name: str, raw: str, default: object) -> object:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    return raw


_CHOICES: dict[str, tuple[str, ...]] = {
    "environment": ("development", "production"),
    "confirm": ("psd2", "always", "never"),
    "card_processor": ("sandbox", "stripe"),
}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``environ`` (default: the process environment), then ``overrides``."""
    env = os.environ if environ is None else environ
    defaults = Settings()
    values: dict[str, object] = {}
    for f in fields(Settings):
        if f.name == "extra":
            continue
        key = f"PAYEZ_{f.name.upper()}"
        if key in env:
            values[f.name] = _coerce(key, env[key], getattr(defaults, f.name))
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "base_url" not in values:
        # Links and the worker's calls to the sandbox go where this server listens, unless a
        # public address is given: PAYEZ_PORT alone must not leave them on the default port.
        host = values.get("host", defaults.host)
        values["base_url"] = f"http://{host}:{values.get('port', defaults.port)}"
    for name, choices in _CHOICES.items():
        if name in values and values[name] not in choices:
            raise SettingsError(f"PAYEZ_{name.upper()} must be one of {', '.join(choices)}")
    settings = replace(defaults, **values)  # type: ignore[arg-type]
    settings.unverified_kinds  # noqa: B018 - validates the list early, whatever the environment
    settings.smtp_server  # noqa: B018 - likewise the SMTP URL
    settings.mail_from_address  # noqa: B018 - and the From address
    settings.embed_ancestors  # noqa: B018 - and the sites that may frame the widgets
    _check_x(settings)
    _check_bluesky(settings)
    _check_reply_budgets(settings)
    _check_live(settings)
    _check_web_processes(settings)
    settings.check_production_safety()
    return settings


def sqlite_path(url: str) -> Path | None:
    """The file behind a ``sqlite:///`` URL, or None for other databases."""
    prefix = "sqlite:///"
    return Path(url[len(prefix) :]) if url.startswith(prefix) else None
