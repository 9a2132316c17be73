"""Benchmarks behind ``payez bench``: speed targets are measured here, never in timed tests."""
