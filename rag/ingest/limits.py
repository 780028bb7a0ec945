"""The file size limit, computed and checked in one place for every way a file comes in: an upload (API or
chat page), a folder ingest or sync, a re-ingest. One message too, so every front end names the same limit."""

from __future__ import annotations

from rag.config import IngestSettings
from rag.ingest.loaded import LoadError


class FileTooLarge(LoadError):
    """A file over `max_file_mb`; the API answers 413 for it, other loading errors are 400."""


def max_file_bytes(settings: IngestSettings) -> int:
    """The largest file accepted, in bytes (`max_file_mb`, in decimal megabytes)."""
    return int(settings.max_file_mb * 1e6)


def check_file_size(name: str, size: int, max_bytes: int) -> None:
    """Raise `FileTooLarge` naming the file and the limit when `size` is over `max_bytes`. A reader that stops
    one byte past the limit passes what it read: the message then need not say how large the file is."""
    if size > max_bytes:
        raise FileTooLarge(f"{name}: larger than the {max_bytes / 1e6:g} MB limit")
