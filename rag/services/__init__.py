"""Use cases, once for every front end: the HTTP API, the chat page and the CLI differ only in how they take a
request and show its result (upload, delete, re-ingest, collections, asking, conversations). Each function
takes the components and plain values."""
