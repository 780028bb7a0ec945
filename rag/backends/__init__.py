"""The models behind narrow interfaces: the LLM (llama.cpp or OpenAI-compatible), the embedder, the packaged
weights, and the fakes the fast tests use."""
