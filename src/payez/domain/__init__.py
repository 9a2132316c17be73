"""The pure core: no I/O, no framework imports. Everything here is deterministic and testable."""
