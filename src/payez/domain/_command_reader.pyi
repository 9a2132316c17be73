"""The compiled reader of payez.domain.commands (``_command_reader.c``)."""

from payez.domain.commands import _Reading

def read(text: str, user: str, server: str, other_symbols: str, /) -> _Reading | None: ...
