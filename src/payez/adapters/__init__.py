"""Adapters: the implementations of the ports (database, networks, processors, payout rails)."""
