"""Webhook senders."""
