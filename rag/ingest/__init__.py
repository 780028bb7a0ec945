"""Loading, normalising, chunking and storing documents."""
