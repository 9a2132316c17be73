"""``payez bench parse``: how fast the parser reads a stream of posts, and commands in full.

The stream is what the service reads: 99 % of posts are ordinary text (mentioning other
accounts, mentioning the service without a command, or nobody) and 1 % are commands, in French
and English, most of them well formed, some with errors. Posts are generated from a seed, so
every run reads the same stream. Time is CPU time of this single thread (one core), best of a
few repeats, so that other work on the machine does not count against the parser.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from payez.domain.commands import Command, NoCommand, parse, parse_many
from payez.domain.money import Money

SERVICE = "payez"

_NAMES = ("alice", "bob_92", "Chloe", "dave", "eve.bsky.social", "mat@piaille.fr", "RestosDuCoeur")
_WORDS = (
    "merci pour hier soir, c'était génial",
    "on se retrouve au café vers 18 h ?",
    "quelle belle journée à Paris",
    "just setting up my account",
    "the match last night was incredible",
    "qui vient au concert samedi ?",
    "nouvelle vidéo en ligne, allez voir",
    "can't believe it's already Friday",
)
_SEND_FORMS = (
    "@{svc} envoie {fr} à @{who}",
    "@{svc} envoie {fr} à @{who} {memo}",
    "@{svc} paie @{who} {fr} {memo}",
    "@{svc} send {en} to @{who} {memo}",
    "@{svc} pay @{who} {en}",
    "@{svc}: donne {bare} euros à @{who}",
    "@{svc} #envoyer {bare}EUR @{who}",
    "@shop @{svc} j'achète {fr}",
    "@shop @{svc} buy",
    "@{svc} aide",
    "@{svc} envoie {fr} à @{who} et @carol",
    "@{svc} envoie 5$ à @{who}",
)


def _ordinary(rng: random.Random) -> str:
    words = rng.choice(_WORDS)
    who = rng.choice(_NAMES)
    roll = rng.random()
    if roll < 0.45:
        return words
    if roll < 0.62:
        return f"@{who} {words}"
    if roll < 0.80:
        return f"{words} avec @{who} et @{rng.choice(_NAMES)}"
    if roll < 0.90:
        return f"{words} grâce à @{SERVICE} !"
    return f"@{SERVICE} {words}"


def _command(rng: random.Random) -> str:
    cents = rng.choice((50, 500, 1000, 1250, 2000, 4999, 12_000))
    money = Money.eur(cents)
    return rng.choice(_SEND_FORMS).format(
        svc=SERVICE,
        who=rng.choice(_NAMES),
        fr=money.format("fr"),
        en=money.format("en"),
        bare=cents // 100,
        memo=rng.choice(("merci !", "le kebab", "for lunch", "")),
    )


def make_stream(posts: int, seed: int = 2014) -> tuple[list[str], list[str]]:
    """``(stream, commands)``: ``posts`` posts of which 1 % are commands, and those commands."""
    rng = random.Random(seed)
    stream, commands = [], []
    for index in range(posts):
        if index % 100 == 37:
            command = _command(rng)
            stream.append(command)
            commands.append(command)
        else:
            stream.append(_ordinary(rng))
    return stream, commands


def _best_cpu_seconds(work: Callable[[], object], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.thread_time()
        work()
        best = min(best, time.thread_time() - start)
    return max(best, 1e-9)


# The yardstick: one compiled expression that finds a send command's amount and recipient,
# with none of the parser's forms, checks or error reports.
_SCANNER = re.compile(
    r"@(\w+)\W+(?:envoie|paie|send|pay|donne)\s+(?:(\d+(?:[,.]\d\d)?)\s*€?\s*(?:à|to)?\s*@([\w.@]+)"
    r"|@([\w.@]+)\s+(\d+(?:[,.]\d\d)?))",
    re.IGNORECASE,
)


def _scan(text: str) -> tuple[str | None, ...] | None:
    found = _SCANNER.search(text)
    return None if found is None else found.groups()


@dataclass(frozen=True, slots=True)
class ParseBenchResult:
    stream_posts_per_s: float
    commands_per_s: float
    posts: int
    commands: int
    commands_found: int
    regex_commands_per_s: float = 0.0

    @property
    def ratio_to_regex(self) -> float:
        return round(self.commands_per_s / self.regex_commands_per_s, 3)


def run_parse_bench(posts: int = 200_000, repeats: int = 5, seed: int = 2014) -> ParseBenchResult:
    stream, commands = make_stream(posts, seed)
    results: list[Command] = parse_many(stream, SERVICE)
    # The stream API must read each post exactly as parse() does.
    if results != [parse(text, SERVICE) for text in stream]:
        raise AssertionError("parse_many disagrees with parse")
    found = sum(not isinstance(result, NoCommand) for result in results)
    stream_seconds = _best_cpu_seconds(lambda: parse_many(stream, SERVICE), repeats)
    batch = commands * max(1, 20_000 // max(1, len(commands)))
    command_seconds = _best_cpu_seconds(lambda: [parse(text, SERVICE) for text in batch], repeats)
    regex_seconds = _best_cpu_seconds(lambda: [_scan(text) for text in batch], repeats)
    return ParseBenchResult(
        stream_posts_per_s=round(len(stream) / stream_seconds, 1),
        commands_per_s=round(len(batch) / command_seconds, 1),
        posts=len(stream),
        commands=len(commands),
        commands_found=found,
        regex_commands_per_s=round(len(batch) / regex_seconds, 1),
    )


def results_json(result: ParseBenchResult) -> dict[str, object]:
    return {
        "results": [
            {
                "bench": "parse",
                "db": None,
                "stream_posts_per_s": result.stream_posts_per_s,
                "commands_per_s": result.commands_per_s,
                "regex_commands_per_s": result.regex_commands_per_s,
                "ratio_to_regex": result.ratio_to_regex,
            }
        ]
    }
