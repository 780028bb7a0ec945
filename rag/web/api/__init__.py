"""The HTTP API: thin routers over the answer chain, the ingestor and the store."""
