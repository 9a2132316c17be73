"""``payez parse`` as a program: JSON lines in, one JSON object per line out, in order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "data" / "commands.jsonl"


def _payez() -> list[str]:
    script = Path(sys.executable).parent / "payez"
    return [str(script)]


def run(args: list[str], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*_payez(), *args], input=stdin, capture_output=True, timeout=120, check=False
    )


def test_good_lines_bad_json_and_missing_text_in_order() -> None:
    lines = [
        json.dumps({"text": "@payez envoie 12,50 € à @alice merci !", "id": 1}),
        "this is not json",
        json.dumps({"post": "no text key"}),
        json.dumps({"text": 42}),
        json.dumps(["@payez aide"]),
        "",
        json.dumps({"text": "@payez aide"}, ensure_ascii=False),
        '{"text": "@shop @payez j\\u2019ach\\u00e8te 20\\u20ac"}',
        json.dumps({"text": "Merci @payez !"}),
        json.dumps({"text": "@payez envoie à @bob"}),
        '{"text": "unterminated',
    ]
    stdin = ("\n".join(lines) + "\n").encode("utf-8") + b'\xff\xfe{"text": 1}\n'
    result = run(["parse"], stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    bad = {"kind": "error", "code": "bad_input"}
    assert out == [
        {
            "kind": "send",
            "amount_cents": 1250,
            "currency": "EUR",
            "recipient": "alice",
            "memo": "merci !",
        },
        bad,
        bad,
        bad,
        bad,
        bad,
        {"kind": "help"},
        {"kind": "buy", "amount_cents": 2000, "currency": "EUR"},
        {"kind": "none"},
        {"kind": "error", "code": "amount_missing"},
        bad,
        bad,
    ]


def test_service_option_and_last_line_without_newline() -> None:
    stdin = b'{"text": "@TweetezPayez send 5 to @bob #TweetezPayez"}\n{"text": "@payez aide"}'
    result = run(["parse", "--service", "TweetezPayez"], stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert out == [
        {"kind": "send", "amount_cents": 500, "currency": "EUR", "recipient": "bob", "memo": None},
        {"kind": "none"},
    ]


def test_the_whole_corpus_through_the_program() -> None:
    examples = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    stdin = "".join(json.dumps({"text": e["text"]}) + "\n" for e in examples).encode("utf-8")
    result = run(["parse"], stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert out == [e["expect"] for e in examples]


def test_memo_keeps_its_characters_and_lone_surrogates_do_not_break_the_run() -> None:
    stdin = (
        '{"text": "@payez envoie 5€ à @bob ciné 🍿"}\n'
        '{"text": "@payez envoie 5€ à @bob \\ud800"}\n'
        '{"text": "@payez aide"}\n'
    ).encode()
    result = run(["parse"], stdin)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode("utf-8").splitlines()
    assert "ciné 🍿" in lines[0]
    assert json.loads(lines[1])["memo"] == "\ud800"
    assert json.loads(lines[2]) == {"kind": "help"}


def test_empty_input_prints_nothing() -> None:
    result = run(["parse"], b"")
    assert result.returncode == 0
    assert result.stdout == b""


def test_bench_parse_prints_the_promised_json() -> None:
    result = run(["bench", "parse", "--json", "--posts", "2000", "--repeats", "1"], b"")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    (entry,) = payload["results"]
    assert entry["bench"] == "parse"
    assert entry["stream_posts_per_s"] > 0
    assert entry["commands_per_s"] > 0


def test_unreadable_standard_input_fails() -> None:
    # The write end of a pipe as standard input: every read fails (EBADF).
    read_end, write_end = os.pipe()
    try:
        result = subprocess.run(
            [*_payez(), "parse"], stdin=write_end, capture_output=True, timeout=120, check=False
        )
    finally:
        os.close(read_end)
        os.close(write_end)
    assert result.returncode == 1
    assert b"cannot read standard input" in result.stderr
