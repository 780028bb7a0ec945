"""Use cases, once: what the HTTP API and the chat page both do (upload, delete, re-ingest, collections), so
the two front ends accept, refuse and answer alike. Each function takes the components and plain values."""
