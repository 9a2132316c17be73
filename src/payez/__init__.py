"""Payez: pay by post."""

__version__ = "0.1.0"
