"""Our parts offered to other frameworks (llama-index)."""
