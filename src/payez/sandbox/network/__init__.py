"""The sandbox social network: a small Mastodon-compatible server in the Payez database."""

from payez.sandbox.network.accounts import create_sandbox_user
from payez.sandbox.network.app import MOUNT_PATH, create_sandbox_app

__all__ = ["MOUNT_PATH", "create_sandbox_app", "create_sandbox_user"]
