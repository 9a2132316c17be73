"""adapters/mail: SMTP."""
