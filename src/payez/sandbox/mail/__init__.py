"""The sandbox mailbox: where emails go when no SMTP server is configured, read at /sandbox/mail."""

from payez.sandbox.mail.mailbox import SandboxMailbox

__all__ = ["SandboxMailbox"]
