"""Thin entrypoints: the web app, the worker and the ``payez`` command line."""
