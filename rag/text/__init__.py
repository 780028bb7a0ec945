"""The bottom layer: words, sentences, tokens and text normalisation, shared by ingest, retrieval and answers."""
