"""From a query to ranked passages: dense, BM25 and hybrid first stages, and the sentence re-ranker."""
