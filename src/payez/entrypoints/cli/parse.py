"""``payez parse`` (owned by the command-language work)."""

from __future__ import annotations
