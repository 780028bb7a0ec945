"""Use cases, once for every front end: the HTTP API, the chat page and the CLI differ only in how they take a
request and show its result."""
