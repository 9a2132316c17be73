"""``python -m payez.entrypoints.cli``: the same as the ``payez`` command."""

from payez.entrypoints.cli import main

main()
