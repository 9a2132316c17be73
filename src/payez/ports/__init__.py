"""Ports: the ``typing.Protocol`` interfaces that adapters implement."""
