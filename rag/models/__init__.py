"""Model back ends behind narrow interfaces: the LLM, the embedder, and packaged weights."""
