"""Where chunks live: the Chroma store, the BM25 index and its segments, and document windows by offsets."""
