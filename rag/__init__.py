"""Offline question answering over a document collection, with verified citations."""

__version__ = "0.1.0"
