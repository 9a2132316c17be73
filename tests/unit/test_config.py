"""Settings are read from the environment in one place, typed, and safe in production."""

from __future__ import annotations

import pytest

from payez.config import DEFAULT_DATABASE_URL, SettingsError, load_settings

SECRET = "x" * 40


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
        {"PAYEZ_ENVIRONMENT": "production"},  # the development secret
        {"PAYEZ_ENVIRONMENT": "production", "PAYEZ_SECRET_KEY": SECRET, "PAYEZ_CONFIRM": "never"},
        {
            "PAYEZ_ENVIRONMENT": "production",
            "PAYEZ_SECRET_KEY": SECRET,
            "PAYEZ_UNVERIFIED_MAY": "send",
        },
    ],
)
def test_bad_or_unsafe_settings_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        load_settings(environ)


def test_production_accepts_a_real_secret() -> None:
    settings = load_settings({"PAYEZ_ENVIRONMENT": "production", "PAYEZ_SECRET_KEY": SECRET})
    assert settings.environment == "production"
    assert settings.unverified_kinds == frozenset({"donation", "purchase"})


def test_links_follow_the_port_unless_a_public_address_is_given() -> None:
    assert load_settings({}).base_url == "http://127.0.0.1:8000"
    assert load_settings({"PAYEZ_PORT": "18321"}).base_url == "http://127.0.0.1:18321"
    assert load_settings({}, port=18322).base_url == "http://127.0.0.1:18322"
    public = {"PAYEZ_PORT": "18321", "PAYEZ_BASE_URL": "https://pay.example.org"}
    assert load_settings(public).base_url == "https://pay.example.org"
