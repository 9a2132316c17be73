from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payez.domain.mentions import extract_mentions, handle_matches, normalise_handle


@pytest.mark.parametrize(
    ("text", "mentions"),
    [
        ("", []),
        ("bonjour", []),
        ("@alice", ["alice"]),
        ("@Alice_92 salut", ["alice_92"]),
        ("merci @alice, @bob et @carol !", ["alice", "bob", "carol"]),
        ("@alice@mastodon.social hello", ["alice@mastodon.social"]),
        ("cc @Alice@Piaille.FR.", ["alice@piaille.fr"]),
        ("@alice.bsky.social", ["alice.bsky.social"]),
        ("@alice-b.example.com!", ["alice-b.example.com"]),
        ("(@alice)", ["alice"]),
        ("«@alice»", ["alice"]),
        ("“@alice”", ["alice"]),
        ("@alice’s cat", ["alice"]),
        ("@alice: hi", ["alice"]),
        ("@alice.", ["alice"]),
        ("@alice...", ["alice"]),
        ("@alice-", ["alice"]),
        ("\u00a0@alice\u202f!", ["alice"]),
        ("\u3000@alice\u2009@bob", ["alice", "bob"]),
        ("＠alice", ["alice"]),
        ("bob@example.com", []),
        ("https://mastodon.social/@alice", []),
        ("@@alice", []),
        ("@bobé", []),
        ("@", []),
        ("@ alice", []),
        ("@alice @alice", ["alice", "alice"]),
    ],
)
def test_extract_mentions(text: str, mentions: list[str]) -> None:
    assert extract_mentions(text) == mentions


@pytest.mark.parametrize(
    ("handle", "normalised"),
    [
        ("@Alice", "alice"),
        ("alice", "alice"),
        ("  @Alice@Mastodon.Social ", "alice@mastodon.social"),
        ("＠Bob", "bob"),
        ("@Alice.Bsky.Social", "alice.bsky.social"),
    ],
)
def test_normalise_handle(handle: str, normalised: str) -> None:
    assert normalise_handle(handle) == normalised


def test_handle_matches_the_fediverse_short_form_of_the_same_server_only() -> None:
    assert handle_matches("@Payez", "payez")
    assert handle_matches("@payez", "payez@piaille.fr")
    assert handle_matches("payez@PIAILLE.fr", "@payez@piaille.fr")
    assert not handle_matches("payez@other.fr", "payez@piaille.fr")
    assert not handle_matches("payez@piaille.fr", "payez")
    assert not handle_matches("payezfan", "payez")


@given(st.text())
def test_mentions_are_normalised_and_never_raise(text: str) -> None:
    for mention in extract_mentions(text):
        assert mention == normalise_handle(mention)
        assert mention and not mention.startswith("@")
        assert mention[-1] not in ".-"
