"""The Gradio chat page. Thin on purpose: it calls the chain and the stores and renders what they return."""

from rag.web.ui.app import CSS, HEAD, build_ui, theme
from rag.web.ui.render import text as _text

__all__ = ["CSS", "HEAD", "build_ui", "theme", "_text"]
