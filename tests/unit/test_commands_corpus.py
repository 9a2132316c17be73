"""Every worked example of the command language passes (tests/data/commands.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from payez.domain.commands import command_to_json, parse

CORPUS = Path(__file__).resolve().parents[1] / "data" / "commands.jsonl"
EXAMPLES = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]


def test_the_corpus_is_the_full_set() -> None:
    assert len(EXAMPLES) >= 55
    kinds = {example["expect"]["kind"] for example in EXAMPLES}
    assert kinds == {"send", "buy", "help", "link", "none", "error"}


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["text"][:40] for e in EXAMPLES])
def test_corpus_example(example: dict[str, object]) -> None:
    text = example["text"]
    assert isinstance(text, str)
    assert command_to_json(parse(text, "payez")) == example["expect"]
