"""entrypoints/web."""
