"""The sandbox: a local social network (Mastodon client API) and a test card processor."""
