"""Hearth: a private, offline desktop assistant for your own documents."""

__version__ = "0.1.0"
