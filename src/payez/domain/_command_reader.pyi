"""The compiled reader of payez.domain.commands (``_command_reader.c``)."""

def read(
    text: str, user: str, server: str, other_symbols: str, /
) -> (
    tuple[
        str,
        str,
        str | None,
        str | None,
        str | None,
        str | None,
        str | None,
        str | None,
        str | None,
        str | None,
        str | None,
        str | None,
        int,
        int,
    ]
    | None
): ...
