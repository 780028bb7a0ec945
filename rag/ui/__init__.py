"""The Gradio chat page. Thin on purpose: it calls the chain and the stores and renders what they return."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls to outside hosts

from rag.ui.app import CSS, HEAD, build_ui, theme  # noqa: E402
from rag.ui.render import text as _text  # noqa: E402

__all__ = ["CSS", "HEAD", "build_ui", "theme", "_text"]
