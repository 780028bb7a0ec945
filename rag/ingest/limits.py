"""What one file may cost, computed and checked in one place for every way a file comes in: an upload (API or
chat page), a folder ingest or sync, a re-ingest. One message per limit too, naming its setting, so every front
end names the same limit. Sizes are checked before work (the bytes, a zip's directory, a PDF page's size);
counts and time as the work goes (`Budget`), so a hostile file stops within its limit, not after its claim."""

from __future__ import annotations

import io
import math
import time
import zipfile

from rag.config import IngestSettings, env_name
from rag.ingest.loaded import LoadError

RATIO_FLOOR = 10_000_000  # parts inflating to less than this are never refused for their ratio: harmless


class OverLimit(LoadError):
    """A file over one of the ingest limits. `status` is the HTTP answer (413: too large, 422: too costly to
    read); the message names the limit and the setting that raises it."""

    status = 413
    code = "over_limit"


class FileTooLarge(OverLimit):
    """A file over `max_file_mb`."""

    code = "file_too_large"


class OverTime(OverLimit):
    """A file whose reading took longer than `max_seconds`: its content is not too large, but too costly."""

    status = 422
    code = "over_time_limit"


def _setting(field: str) -> str:
    return env_name(f"ingest.{field}")


def max_file_bytes(settings: IngestSettings) -> int:
    """The largest file accepted, in bytes (`max_file_mb`, in decimal megabytes)."""
    return int(settings.max_file_mb * 1e6)


def check_file_size(name: str, size: int, max_bytes: int) -> None:
    """Raise `FileTooLarge` naming the file and the limit when `size` is over `max_bytes`. A reader that stops
    one byte past the limit passes what it read: the message then need not say how large the file is."""
    if size > max_bytes:
        raise FileTooLarge(f"{name}: larger than the {max_bytes / 1e6:g} MB limit")


def check_zip(data: bytes, name: str, settings: IngestSettings) -> None:
    """An Office file is a zip: refuse it from its directory, before any part is inflated, when its parts
    inflate to more than `max_inflated_mb` or to more than `max_inflate_ratio` times their compressed size.
    The directory's sizes bind: Python's zipfile stops inflating a part at its declared size."""
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a zip: the format's own loader says so
    inflated = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if inflated > settings.max_inflated_mb * 1e6:
        raise OverLimit(f"{name}: its parts inflate to {inflated / 1e6:.0f} MB, over the "
                        f"{settings.max_inflated_mb:g} MB limit ({_setting('max_inflated_mb')})")
    if inflated > RATIO_FLOOR and inflated / packed > settings.max_inflate_ratio:
        raise OverLimit(f"{name}: its parts inflate {inflated / packed:.0f} times their compressed size, over the "
                        f"limit of {settings.max_inflate_ratio:g} ({_setting('max_inflate_ratio')}; a zip bomb?)")


def capped_scale(width_pt: float, height_pt: float, scale: float, max_pixels: int) -> float:
    """The scale to render a page of `width_pt` x `height_pt` points at: `scale`, or less when the image would
    hold more than `max_pixels` (a 612-byte PDF with a huge page rendered 773 MB). The page viewer and OCR alike
    render through this."""
    width_pt, height_pt = max(width_pt, 1.0), max(height_pt, 1.0)
    while math.ceil(width_pt * scale) * math.ceil(height_pt * scale) > max_pixels:  # the renderer rounds up
        scale *= min(0.99, math.sqrt(max_pixels / (width_pt * height_pt * scale * scale)))
    return scale


class Budget:
    """What reading one file may cost: `max_elements` XML elements, table cells, shapes, rows x columns or
    pages, and `max_seconds`. Loaders tick it as they go, so a file claiming a billion cells stops at the
    limit, and the work stops even when the client has gone."""

    def __init__(self, name: str, settings: IngestSettings) -> None:
        self.name, self.settings = name, settings
        self.deadline = time.monotonic() + settings.max_seconds
        self.used = 0

    def tick(self, n: int = 1, what: str = "elements") -> None:
        self.used += n
        if self.used > self.settings.max_elements:
            raise OverLimit(f"{self.name}: more than {self.settings.max_elements:,} {what} "
                            f"({_setting('max_elements')})")
        if self.used & 0x3FF < n or n > 0x3FF:  # the clock every thousand or so
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise OverTime(f"{self.name}: reading it took longer than the {self.settings.max_seconds:g} s limit "
                           f"({_setting('max_seconds')})")
