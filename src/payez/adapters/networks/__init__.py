"""adapters/networks."""
