"""``payez parse`` (JSON lines in, one command per line out) and ``payez bench parse``."""

from __future__ import annotations

import json
import sys
from typing import Annotated, BinaryIO

import typer

from payez.bench.parse import results_json, run_parse_bench
from payez.domain.commands import command_to_json, parse
from payez.entrypoints.cli.common import app, bench_app

_BAD_INPUT: dict[str, object] = {"kind": "error", "code": "bad_input"}


def _read_line(line: bytes, service: str) -> dict[str, object]:
    try:
        post = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _BAD_INPUT
    if not isinstance(post, dict) or not isinstance(post.get("text"), str):
        return _BAD_INPUT
    return command_to_json(parse(post["text"], service))


def _encode(result: dict[str, object]) -> bytes:
    try:
        return (json.dumps(result, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in a memo: escape it rather than fail
        return (json.dumps(result) + "\n").encode("ascii")


def parse_lines(source: BinaryIO, sink: BinaryIO, service: str) -> None:
    # One flush per line: a program may drive ``payez parse`` line by line through a pipe.
    for line in source:
        sink.write(_encode(_read_line(line, service)))
        sink.flush()


@app.command("parse")
def parse_command(
    service: Annotated[
        str, typer.Option("--service", help="The service handle posts are addressed to.")
    ] = "payez",
) -> None:
    """Read posts as JSON lines ({"text": ...}) on stdin; print one command per line."""
    try:
        parse_lines(sys.stdin.buffer, sys.stdout.buffer, service)
    except OSError as exc:
        typer.echo(f"payez parse: cannot read standard input: {exc}", err=True)
        raise typer.Exit(1) from exc


@bench_app.command("parse")
def bench_parse(
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    posts: Annotated[int, typer.Option(help="Posts in the stream (1 % are commands).")] = 200_000,
    repeats: Annotated[int, typer.Option(help="Runs per measure; the best one counts.")] = 5,
) -> None:
    """Posts per second on a stream (99 % ordinary posts) and full commands per second."""
    result = run_parse_bench(posts=posts, repeats=repeats)
    if as_json:
        typer.echo(json.dumps(results_json(result)))
        return
    typer.echo(
        f"stream  {result.stream_posts_per_s:12.1f} posts/s ({result.posts} posts,"
        f" {result.commands_found} commands found)\n"
        f"commands {result.commands_per_s:11.1f} commands/s"
    )
