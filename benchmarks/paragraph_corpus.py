"""squad-dev-13 as one document per paragraph: each file its article's title line and one paragraph.

The issue's multi-hop set is 991 Wikipedia paragraphs, not 13 long articles. Split this way (856 documents),
the same gold questions measure a collection where every chunk starts with a title and no passage runs on
into the next paragraph. Usage:

    python -m benchmarks.paragraph_corpus OUT_DIR
    rag eval benchmarks/gold/squad13-twohop-heldout.jsonl --docs OUT_DIR --split test
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.common import SQUAD_DOCS, file_paragraphs


def split_articles(src: Path, out: Path) -> int:
    """Write `<article>__pNNN.txt` files (title line, blank line, paragraph); returns how many."""
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for article in sorted(src.glob("*.txt")):
        title, *paragraphs = file_paragraphs(article)
        for i, paragraph in enumerate(paragraphs):
            (out / f"{article.stem}__p{i:03d}.txt").write_text(f"{title}\n\n{paragraph}\n", encoding="utf-8")
            written += 1
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path, help="folder for the paragraph documents")
    ap.add_argument("--src", type=Path, default=SQUAD_DOCS, help="the articles (default: squad-dev-13)")
    args = ap.parse_args()
    print(f"{split_articles(args.src, args.out)} paragraph documents in {args.out}")


if __name__ == "__main__":
    main()
