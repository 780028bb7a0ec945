"""Application state beside the documents: saved conversations."""
