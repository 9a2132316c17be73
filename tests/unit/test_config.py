"""Settings are read from the environment in one place, typed, and safe in production."""

from __future__ import annotations

import pytest

from payez.config import (
    DEFAULT_DATABASE_URL,
    SettingsError,
    SmtpServer,
    load_settings,
    parse_smtp_url,
)

SECRET = "x" * 40
PRODUCTION = {
    "PAYEZ_ENVIRONMENT": "production",
    "PAYEZ_SECRET_KEY": SECRET,
    "PAYEZ_SMTP_URL": "smtps://payez:hunter2@mail.example.org",
}


def test_defaults_and_environment_overrides() -> None:
    assert load_settings({}).database_url == DEFAULT_DATABASE_URL
    settings = load_settings({"PAYEZ_PORT": "9000", "PAYEZ_CONFIRM": "always"})
    assert (settings.port, settings.confirm) == (9000, "always")


@pytest.mark.parametrize(
    "environ",
    [
        {"PAYEZ_PORT": "eighty"},
        {"PAYEZ_CONFIRM": "sometimes"},
        {"PAYEZ_UNVERIFIED_MAY": "donation,steal"},
        {**PRODUCTION, "PAYEZ_SECRET_KEY": "dev-secret-change-me"},
        {**PRODUCTION, "PAYEZ_CONFIRM": "never"},
        {**PRODUCTION, "PAYEZ_UNVERIFIED_MAY": "send"},
        {**PRODUCTION, "PAYEZ_SMTP_URL": ""},  # emails could not go out
        {**PRODUCTION, "PAYEZ_SMTP_URL": "smtp+insecure://mail.example.org"},
        {"PAYEZ_MAIL_FROM": "Payez <nobody>"},
        # Each would end the frame-ancestors directive and write another.
        {"PAYEZ_EMBED_FRAME_ANCESTORS": "https://a.example; script-src *"},
        {"PAYEZ_EMBED_FRAME_ANCESTORS": "https://a.example/page"},
        {"PAYEZ_EMBED_FRAME_ANCESTORS": "javascript:"},
        {"PAYEZ_EMBED_FRAME_ANCESTORS": " "},
    ],
)
def test_bad_or_unsafe_settings_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        load_settings(environ)


def test_the_sites_that_may_frame_the_widgets_are_any_by_default_or_a_list() -> None:
    assert load_settings({}).embed_ancestors == ("*",)
    listed = "https://restos.example https://*.shop.example:8443 'self'"
    settings = load_settings({"PAYEZ_EMBED_FRAME_ANCESTORS": listed})
    assert settings.embed_ancestors == tuple(listed.split())


def test_production_accepts_a_real_secret() -> None:
    settings = load_settings(PRODUCTION)
    assert settings.environment == "production"
    assert settings.unverified_kinds == frozenset({"donation", "purchase"})


def test_links_follow_the_port_unless_a_public_address_is_given() -> None:
    assert load_settings({}).base_url == "http://127.0.0.1:8000"
    assert load_settings({"PAYEZ_PORT": "18321"}).base_url == "http://127.0.0.1:18321"
    assert load_settings({}, port=18322).base_url == "http://127.0.0.1:18322"
    public = {"PAYEZ_PORT": "18321", "PAYEZ_BASE_URL": "https://pay.example.org"}
    assert load_settings(public).base_url == "https://pay.example.org"


def test_a_local_relay_may_take_plain_text_in_production() -> None:
    settings = load_settings({**PRODUCTION, "PAYEZ_SMTP_URL": "smtp+insecure://127.0.0.1:25"})
    assert settings.smtp_server == SmtpServer("127.0.0.1", 25, "none")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtps://mail.example.org", SmtpServer("mail.example.org", 465, "tls")),
        (
            "smtp://pay%40ez:p%3Ass@Mail.Example.org:2525",
            SmtpServer("mail.example.org", 2525, "starttls", "pay@ez", "p:ss"),
        ),
        ("smtp+insecure://localhost:1025", SmtpServer("localhost", 1025, "none")),
        ("smtp://[::1]", SmtpServer("::1", 587, "starttls")),
    ],
)
def test_smtp_urls_name_the_server_and_how_to_secure_it(url: str, expected: SmtpServer) -> None:
    assert load_settings({"PAYEZ_SMTP_URL": url}).smtp_server == expected


def test_loopback_hosts_are_recognised() -> None:
    assert parse_smtp_url("smtp://127.0.0.2").loopback
    assert parse_smtp_url("smtp://[::1]").loopback
    assert parse_smtp_url("smtp://LOCALHOST").loopback
    assert not parse_smtp_url("smtp://mail.example.org").loopback
    assert not parse_smtp_url("smtp://10.0.0.1").loopback


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://user:hunter2@mail.example.org", "must start with"),
        ("mail.example.org:587", "must start with"),
        ("smtp://user:hunter2@", "no host"),
        ("smtp://user:hunter2@mail.example.org:port", "not a valid URL"),
        ("smtp://user:hunter2@mail.example.org:70000", "not a valid URL"),
        ("smtp://user:hunter2@mail.example.org:0", "port 0"),
        ("smtp://user:hunter2@mail.example.org/inbox", "no path"),
        ("smtp://:hunter2@mail.example.org", "no user name"),
    ],
)
def test_a_bad_smtp_url_is_a_clear_error_that_never_quotes_the_password(
    url: str, says: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({"PAYEZ_SMTP_URL": url})
    assert says in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_the_smtp_password_stays_out_of_reprs_and_logs() -> None:
    settings = load_settings({"PAYEZ_SMTP_URL": "smtp://payez:hunter2@mail.example.org"})
    server = settings.smtp_server
    assert server is not None and server.password == "hunter2"
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in repr(server)
    assert server.masked_url == "smtp://payez:***@mail.example.org:587"


def test_the_from_address_is_read_from_its_display_form() -> None:
    assert load_settings({}).mail_from_address == "no-reply@payez.localhost"
    custom = load_settings({"PAYEZ_MAIL_FROM": "Payez <bonjour@payez.example>"})
    assert custom.mail_from_address == "bonjour@payez.example"


X_ENVIRONMENT = {
    "PAYEZ_X_CONSUMER_KEY": "ck",
    "PAYEZ_X_CONSUMER_SECRET": "cs-secret",
    "PAYEZ_X_ACCESS_TOKEN": "at",
    "PAYEZ_X_ACCESS_TOKEN_SECRET": "ats-secret",
    "PAYEZ_X_BEARER_TOKEN": "bearer-secret",
    "PAYEZ_X_CLIENT_ID": "client",
}


def test_x_is_configured_from_its_variables_and_keeps_its_secrets_out_of_reprs() -> None:
    assert not load_settings({}).x_configured
    assert load_settings({}).x_api_url == "https://api.x.com"
    settings = load_settings({**X_ENVIRONMENT, "PAYEZ_X_API_URL": "http://127.0.0.1:9"})
    assert settings.x_configured
    assert (settings.x_consumer_key, settings.x_access_token) == ("ck", "at")
    assert (settings.x_client_id, settings.x_api_url) == ("client", "http://127.0.0.1:9")
    for secret in ("cs-secret", "ats-secret", "bearer-secret"):
        assert secret not in repr(settings)


@pytest.mark.parametrize(
    "environ",
    [
        {k: v for k, v in X_ENVIRONMENT.items() if k != "PAYEZ_X_ACCESS_TOKEN_SECRET"},
        {"PAYEZ_X_CONSUMER_KEY": "ck"},
        {"PAYEZ_X_CLIENT_ID": "client"},
        {**X_ENVIRONMENT, "PAYEZ_X_API_URL": "api.x.com"},
    ],
)
def test_a_half_configured_x_is_refused(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="X"):
        load_settings(environ)


BLUESKY_ENVIRONMENT = {
    "PAYEZ_BLUESKY_HANDLE": "payez.bsky.social",
    "PAYEZ_BLUESKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop",
}


def test_bluesky_is_configured_from_its_variables_and_keeps_its_password_out_of_reprs() -> None:
    defaults = load_settings({})
    assert not defaults.bluesky_configured
    assert defaults.bluesky_service == "https://bsky.social"
    assert defaults.bluesky_firehose == "wss://bsky.network"
    settings = load_settings(
        {
            **BLUESKY_ENVIRONMENT,
            "PAYEZ_BLUESKY_SERVICE": "http://127.0.0.1:2583",
            "PAYEZ_BLUESKY_FIREHOSE": "",
            "PAYEZ_BLUESKY_POLL_SECONDS": "5",
        }
    )
    assert settings.bluesky_configured
    assert settings.bluesky_service == "http://127.0.0.1:2583"
    assert settings.bluesky_firehose == "" and settings.bluesky_poll_seconds == 5
    assert "abcd-efgh-ijkl-mnop" not in repr(settings)


@pytest.mark.parametrize(
    ("environ", "complaint"),
    [
        ({"PAYEZ_BLUESKY_HANDLE": "payez.bsky.social"}, "half configured"),
        ({"PAYEZ_BLUESKY_APP_PASSWORD": "secret"}, "half configured"),
        ({**BLUESKY_ENVIRONMENT, "PAYEZ_BLUESKY_SERVICE": "bsky.social"}, "SERVICE"),
        ({**BLUESKY_ENVIRONMENT, "PAYEZ_BLUESKY_FIREHOSE": "https://relay"}, "FIREHOSE"),
        ({**BLUESKY_ENVIRONMENT, "PAYEZ_BLUESKY_POLL_SECONDS": "0"}, "POLL_SECONDS"),
    ],
)
def test_a_half_configured_bluesky_is_refused(environ: dict[str, str], complaint: str) -> None:
    with pytest.raises(SettingsError, match=complaint):
        load_settings(environ)


def test_no_secret_shows_in_the_settings_repr() -> None:
    """Settings may end up in a log line or a traceback: every secret is left out."""
    secrets = {
        "PAYEZ_SECRET_KEY": "s" * 40,
        "PAYEZ_DATABASE_URL": "postgresql://payez:db-password-1@db/payez",
        "PAYEZ_STRIPE_SECRET_KEY": "sk_test_secret2",
        "PAYEZ_STRIPE_WEBHOOK_SECRET": "whsec_secret3",
        "PAYEZ_MASTODON_ACCESS_TOKEN": "mastodon-token-4",
        "PAYEZ_MASTODON_CLIENT_SECRET": "mastodon-secret-5",
        "PAYEZ_X_CONSUMER_KEY": "ck",
        "PAYEZ_X_CONSUMER_SECRET": "x-secret-6",
        "PAYEZ_X_ACCESS_TOKEN": "x-token-7",
        "PAYEZ_X_ACCESS_TOKEN_SECRET": "x-secret-8",
        "PAYEZ_X_BEARER_TOKEN": "x-bearer-9",
        "PAYEZ_BLUESKY_HANDLE": "payez.example",
        "PAYEZ_BLUESKY_APP_PASSWORD": "bsky-password-10",
        "PAYEZ_SMTP_URL": "smtps://mailer:smtp-password-11@mail.example",
    }
    shown = repr(load_settings(secrets))
    for name, value in secrets.items():
        if name not in ("PAYEZ_X_CONSUMER_KEY", "PAYEZ_BLUESKY_HANDLE"):
            assert value not in shown, name
            assert value.split(":")[-1].split("@")[0] not in shown, name


def test_the_live_dashboards_pace_is_read_and_checked() -> None:
    settings = load_settings({"PAYEZ_LIVE_POLL_MS": "250", "PAYEZ_LIVE_HEARTBEAT_SECONDS": "20"})
    assert (settings.live_poll_ms, settings.live_heartbeat_seconds) == (250, 20)
    assert settings.live_stream_seconds == 900
    with pytest.raises(SettingsError, match="POLL_MS"):
        load_settings({"PAYEZ_LIVE_POLL_MS": "10"})
    with pytest.raises(SettingsError, match="STREAM_SECONDS"):
        load_settings({"PAYEZ_LIVE_STREAM_SECONDS": "0"})


def test_web_processes_are_counted_and_need_postgresql() -> None:
    postgres = "postgresql://payez@db.example/payez"
    assert load_settings({}).web_processes == 1
    assert (
        load_settings({"PAYEZ_DATABASE_URL": postgres, "PAYEZ_WEB_PROCESSES": "4"}).web_processes
        == 4
    )
    with pytest.raises(SettingsError, match="between 1 and 64"):
        load_settings({"PAYEZ_DATABASE_URL": postgres, "PAYEZ_WEB_PROCESSES": "0"})
    # SQLite takes one writer at a time: several processes would only wait on each other.
    with pytest.raises(SettingsError, match="needs PostgreSQL"):
        load_settings({"PAYEZ_WEB_PROCESSES": "2"})
