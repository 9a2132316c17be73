"""adapters/payouts."""
