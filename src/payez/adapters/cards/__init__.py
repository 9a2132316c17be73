"""adapters/cards."""
