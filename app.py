"""`python app.py` starts the chat UI with settings from the environment (RAG_*) and `.env`."""

from rag.components import offline_environment

if __name__ == "__main__":
    offline_environment()
    from rag.cli import _components
    from rag.logs import configure
    from rag.web.server import launch

    comps = _components()
    configure(comps.settings)
    launch(comps, host=comps.settings.server.host, port=comps.settings.server.port)
