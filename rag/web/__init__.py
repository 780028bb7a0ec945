"""The HTTP API, the Gradio chat page and the ASGI server that serves both."""
