"""The chat page's layout and wiring: collections and conversations on the left, the chat in the middle, the
source viewer and the documents panel on the right. What each control does lives in `ui.panels`."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from rag.components import Components
from rag.ingest.loaders import SUPPORTED_SUFFIXES
from rag.services import access
from rag.state.errors import ConversationNotFound
from rag.types import Caller
from rag.web.ui import admin, feedback, panels
from rag.web.ui.chat import respond as ask

CSS = """
.rag-source summary { cursor: pointer; }
.rag-source mark, #rag-viewer mark { background: #fde68a; padding: 0 1px; }
.rag-unsupported { text-decoration: underline wavy #f59e0b; }
.rag-source .passage { white-space: pre-wrap; font-size: 0.9em; border-left: 3px solid #d1d5db;
                       padding-left: 8px; margin: 4px 0 8px 0; }
.rag-viewer-text { white-space: pre-wrap; max-height: 420px; overflow-y: auto; font-size: 0.9em;
                   border: 1px solid #e5e7eb; padding: 8px; border-radius: 6px; }
.rag-docs { width: 100%; font-size: 0.85em; border-collapse: collapse; }
.rag-docs td, .rag-docs th { padding: 2px 4px; border-bottom: 1px solid #e5e7eb; text-align: left; }
"""

# Citation links carry their request in their fragment (`#rag-open=...`); a click hands it to the hidden
# request box and presses the hidden button, so the viewer is filled by Python (which also works behind the
# login, unlike a fetch of the bearer-guarded API).
HEAD = """<script>
document.addEventListener('click', (event) => {
  const link = event.target.closest && event.target.closest('a.rag-open');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const box = document.querySelector('#rag-open-req textarea, #rag-open-req input');
  if (!box) return;
  box.value = decodeURIComponent((link.getAttribute('href') || '').split('#rag-open=')[1] || '');
  box.dispatchEvent(new Event('input', {bubbles: true}));
  setTimeout(() => document.querySelector('#rag-open-btn').click(), 60);
}, true);
</script>"""

SCROLL_TO_QUOTE = ("() => { const m = document.getElementById('rag-quote'); "
                   "if (m) m.scrollIntoView({block: 'center'}); }")


PROGRESS = gr.Progress()  # Gradio injects a per-request tracker through a parameter with this default


def theme() -> gr.themes.Base:
    """System fonts only: the default theme would fetch web fonts from an outside host."""
    return gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                             font_mono=["ui-monospace", "monospace"])


def example_questions(seeds_dir: Path, n: int = 5) -> list[str]:
    gold = Path(seeds_dir) / "gold.jsonl"
    if not gold.is_file():
        return []
    rows = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows if not r.get("unanswerable")][:n]


def build_ui(comps: Components) -> gr.Blocks:
    """The page. Every handler takes the caller from its request's login (`gr.Request.username`): what it
    shows and changes is what that user may read and change (`rag.services.access`), as in the API."""
    settings = comps.settings

    def who(request: gr.Request | None) -> Caller:
        return access.caller_for_login(comps, getattr(request, "username", None))

    def respond(message: str, chat: list[dict], history: list[dict], collection: str, conv_id: str,
                request: gr.Request) -> Iterator[tuple]:
        yield from ask(comps, message, chat, history, collection, conv_id, who(request))

    def show_documents(collection: str, request: gr.Request) -> tuple:
        caller = who(request)
        table, choices = panels.documents(comps, collection, caller)
        return table, gr.Dropdown(choices=choices, value=None), panels.header(comps, collection, caller)

    def upload(files: list[Any] | None, collection: str, request: gr.Request, progress: gr.Progress = PROGRESS,
               ) -> tuple:
        paths = [Path(f if isinstance(f, str) else f.name) for f in files or []]
        return (panels.upload_files(comps, collection, paths, progress, who(request)), None,
                *show_documents(collection, request))

    def collections_update(value: str | None, caller: Caller) -> gr.Dropdown:
        return gr.Dropdown(choices=access.visible_collections(comps, caller), value=value)

    # Nothing private is built into the page: Gradio serves its config (the components' choices and values) to
    # whoever loads it, before any login. Collections, conversations and documents are filled as the page
    # loads, for a logged-in user, and are current then (not as they were when the server started).
    with gr.Blocks(title="Cited answers") as demo:
        title = gr.Markdown("### Ask your documents\nEvery answer cites the passages it came from.")
        history = gr.State([])
        conv_id = gr.State("")
        # The choices are filled when a (logged-in) page loads, never at build: nothing private is in the page
        # before login. A value is checked where it is used (an unknown collection or id is refused there).
        with gr.Row():
            with gr.Column(scale=1, min_width=220):
                collection = gr.Dropdown(choices=[], value=None, label="Collection", elem_id="rag-collection",
                                         interactive=True, allow_custom_value=True)
                with gr.Row():
                    new_name = gr.Textbox(placeholder="new collection name", show_label=False, scale=3,
                                          elem_id="rag-new-collection")
                    create = gr.Button("Create", size="sm", scale=1, elem_id="rag-create-collection")
                drop = gr.Button("Delete collection…", size="sm", variant="stop", elem_id="rag-drop-collection")
                with gr.Row(visible=False) as drop_confirm:
                    gr.Markdown("Delete this collection and all its documents?")
                    drop_yes = gr.Button("Yes, delete", size="sm", variant="stop", elem_id="rag-drop-yes")
                    drop_no = gr.Button("Cancel", size="sm")
                coll_status = gr.Markdown(elem_id="rag-collection-status")
                gr.Markdown("**Conversations**")
                convs = gr.Dropdown(choices=[], value=None, label="Reopen", elem_id="rag-conversations",
                                    interactive=True, allow_custom_value=True)
                clear = gr.Button("New conversation", size="sm", elem_id="rag-new-conversation")
                with gr.Row():
                    conv_title = gr.Textbox(placeholder="rename to…", show_label=False, scale=3,
                                            elem_id="rag-conv-title")
                    rename = gr.Button("Rename", size="sm", scale=1, elem_id="rag-rename")
                with gr.Row():
                    conv_delete = gr.Button("Delete", size="sm", variant="stop", elem_id="rag-conv-delete")
                    conv_export = gr.Button("Export .md", size="sm", elem_id="rag-conv-export")
                export_file = gr.File(label="Export", visible=False, elem_id="rag-export-file")
            with gr.Column(scale=3):
                chat = gr.Chatbot(height=560, label="Chat", sanitize_html=True, elem_id="rag-chat")
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask a question about the documents…", show_label=False,
                                     scale=5, max_length=settings.answer.max_question_chars, elem_id="rag-question")
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="rag-ask")
                with gr.Row(visible=False, elem_id="rag-feedback") as fb_row:
                    fb_comment = gr.Textbox(placeholder="comment (optional)", show_label=False, scale=3,
                                            max_length=2000, elem_id="rag-feedback-comment")
                    fb_correction = gr.Textbox(placeholder="the correct answer, if you know it", show_label=False,
                                               scale=3, max_length=2000, elem_id="rag-feedback-correction")
                    fb_send = gr.Button("Send feedback", size="sm", scale=1, elem_id="rag-feedback-send")
                fb_status = gr.Markdown(elem_id="rag-feedback-status")
                fb_answer, fb_rating = gr.State(""), gr.State("")
                examples = example_questions(settings.store.seeds_dir)
                if examples:
                    gr.Examples(examples=[[q] for q in examples], inputs=[box], label="Try")
            with gr.Column(scale=2, min_width=300):
                viewer = gr.HTML("<small>Click a source or a marker like [1] to open it here.</small>",
                                 elem_id="rag-viewer", label="Source")
                page_image = gr.Image(label="Page", visible=False, interactive=False, elem_id="rag-page",
                                      height=420)
                open_req = gr.Textbox(visible="hidden", elem_id="rag-open-req")
                open_btn = gr.Button("open", visible="hidden", elem_id="rag-open-btn")
                gr.Markdown("**Documents**")
                docs_table = gr.HTML("", elem_id="rag-documents")
                files = gr.File(label="Add documents (" + " ".join(sorted(SUPPORTED_SUFFIXES)) + ")",
                                file_count="multiple", file_types=sorted(SUPPORTED_SUFFIXES), elem_id="rag-upload")
                doc_pick = gr.Dropdown(choices=[], value=None, label="Document", elem_id="rag-doc-pick",
                                       interactive=True, allow_custom_value=True)
                with gr.Row():
                    reingest = gr.Button("Re-ingest", size="sm", elem_id="rag-reingest")
                    delete = gr.Button("Delete…", size="sm", variant="stop", elem_id="rag-doc-delete")
                with gr.Row(visible=False) as delete_confirm:
                    delete_text = gr.Markdown()
                    delete_yes = gr.Button("Yes, delete", size="sm", variant="stop", elem_id="rag-doc-delete-yes")
                    delete_no = gr.Button("Cancel", size="sm")
                status = gr.Markdown(elem_id="rag-doc-status")

        with gr.Accordion("Admin", open=False, visible=False, elem_id="rag-admin") as admin_panel:
            with gr.Row():
                with gr.Column():
                    gr.Markdown("**Users**")
                    users_table = gr.Markdown(elem_id="rag-admin-users")
                    with gr.Row():
                        user_name = gr.Textbox(label="User name", elem_id="rag-admin-user")
                        user_role = gr.Dropdown(choices=["member", "admin"], value="member", label="Role",
                                                elem_id="rag-admin-role")
                        user_password = gr.Textbox(label="Password", type="password", elem_id="rag-admin-password")
                    with gr.Row():
                        user_add = gr.Button("Add user", size="sm", elem_id="rag-admin-add")
                        user_reset = gr.Button("Set password", size="sm", elem_id="rag-admin-reset")
                        user_key = gr.Button("New API key", size="sm", elem_id="rag-admin-key")
                        user_drop = gr.Button("Delete user", size="sm", variant="stop", elem_id="rag-admin-drop")
                with gr.Column():
                    gr.Markdown("**Sharing**")
                    share_coll = gr.Dropdown(choices=[], value=None, label="Collection", interactive=True,
                                             allow_custom_value=True, elem_id="rag-admin-collection")
                    share_now = gr.Markdown(elem_id="rag-admin-sharing")
                    with gr.Row():
                        share_user = gr.Textbox(label="User", elem_id="rag-admin-share-user")
                        share_with = gr.Button("Share with", size="sm", elem_id="rag-admin-share")
                        share_without = gr.Button("Unshare", size="sm", elem_id="rag-admin-unshare")
                    with gr.Row():
                        make_public = gr.Button("Make public", size="sm", elem_id="rag-admin-public")
                        make_private = gr.Button("Make private", size="sm", elem_id="rag-admin-private")
            admin_status = gr.Markdown(elem_id="rag-admin-status")

        doc_outputs = [docs_table, doc_pick, title]
        chat_inputs = [box, chat, history, collection, conv_id]
        chat_outputs = [chat, history, box, conv_id, convs]
        box.submit(respond, chat_inputs, chat_outputs)
        send.click(respond, chat_inputs, chat_outputs)

        # feedback: a thumb under an answer is stored at once; a comment and a correction may follow
        def rate(data: gr.LikeData, request: gr.Request) -> tuple:
            return feedback.rate(comps, data.value, data.liked, who(request))

        def send_feedback(answer: str, rating: str, comment: str, correction: str, request: gr.Request) -> tuple:
            return feedback.send(comps, answer, rating, comment, correction, who(request))

        chat.like(rate, None, [fb_row, fb_answer, fb_rating, fb_status])
        fb_send.click(send_feedback, [fb_answer, fb_rating, fb_comment, fb_correction],
                      [fb_row, fb_comment, fb_correction, fb_status])

        # the source viewer
        def open_source(request_json: str, collection: str, request: gr.Request) -> tuple:
            page, image = panels.open_source(comps, request_json, collection, who(request))
            return page, gr.Image(value=image, visible=image is not None)

        open_btn.click(open_source, [open_req, collection], [viewer, page_image]).then(
            None, None, None, js=SCROLL_TO_QUOTE)

        # documents
        def ask_delete(doc_id: str) -> tuple:
            return (gr.update(visible=bool(doc_id)), f"Delete **{doc_id}** from the collection?" if doc_id else "",
                    "" if doc_id else "Pick a document first.")

        def delete_document(collection: str, doc_id: str, request: gr.Request) -> tuple:
            return (panels.delete_document(comps, collection, doc_id, who(request)), gr.update(visible=False),
                    *show_documents(collection, request))

        def reingest_document(collection: str, doc_id: str, request: gr.Request) -> tuple:
            said = panels.reingest_document(comps, collection, doc_id, who(request)) if doc_id else \
                "Pick a document first."
            return (said, *show_documents(collection, request))

        files.upload(upload, [files, collection], [status, files, *doc_outputs])
        delete.click(ask_delete, [doc_pick], [delete_confirm, delete_text, status])
        delete_no.click(lambda: gr.update(visible=False), None, [delete_confirm])
        delete_yes.click(delete_document, [collection, doc_pick], [status, delete_confirm, *doc_outputs])
        reingest.click(reingest_document, [collection, doc_pick], [status, *doc_outputs])

        # collections: choosing one starts a new conversation in it
        def select_collection(collection: str, request: gr.Request) -> tuple:
            return (*show_documents(collection, request), [], [], "")

        select_outputs = [*doc_outputs, chat, history, conv_id]
        collection.input(select_collection, [collection], select_outputs)

        def create_collection(name: str, collection: str, request: gr.Request) -> tuple:
            caller = who(request)
            chosen, msg = panels.create_collection(comps, name, caller)
            return collections_update(chosen or collection, caller), msg, "" if chosen else name

        for trigger in (create.click, new_name.submit):
            trigger(create_collection, [new_name, collection], [collection, coll_status, new_name]).then(
                select_collection, [collection], select_outputs)

        def delete_collection(collection: str, request: gr.Request) -> tuple:
            caller = who(request)
            return (panels.delete_collection(comps, collection, caller), gr.update(visible=False),
                    collections_update(comps.name, caller))

        drop.click(lambda: gr.update(visible=True), None, [drop_confirm])
        drop_no.click(lambda: gr.update(visible=False), None, [drop_confirm])
        drop_yes.click(delete_collection, [collection], [coll_status, drop_confirm, collection]).then(
            select_collection, [collection], select_outputs)

        # conversations
        clear.click(lambda: ([], [], "", "", gr.Dropdown(value=None)), None, [chat, history, box, conv_id, convs])

        def reopen(cid: str, request: gr.Request) -> tuple:
            if not cid:
                return (gr.skip(),) * 4
            caller = who(request)
            chat_, history_, coll = panels.reopen(comps, cid, caller)
            return chat_, history_, collections_update(coll, caller), cid

        convs.input(reopen, [convs], [chat, history, collection, conv_id]).then(
            show_documents, [collection], doc_outputs)

        def rename_conversation(cid: str, new_title: str, request: gr.Request) -> tuple:
            caller = who(request)
            if cid and new_title.strip():
                try:
                    comps.conversations.rename(cid, new_title, owner=caller.id)
                except ConversationNotFound:
                    cid = ""
            return gr.Dropdown(choices=panels.conversation_choices(comps, caller), value=cid or None), ""

        rename.click(rename_conversation, [conv_id, conv_title], [convs, conv_title])

        def delete_conversation(cid: str, request: gr.Request) -> tuple:
            caller = who(request)
            if cid:
                with contextlib.suppress(ConversationNotFound):  # deleted elsewhere, or not this user's
                    comps.conversations.delete(cid, owner=caller.id)
            return [], [], "", gr.Dropdown(choices=panels.conversation_choices(comps, caller), value=None)

        conv_delete.click(delete_conversation, [conv_id], [chat, history, conv_id, convs])

        def export(cid: str, request: gr.Request) -> gr.File:
            path = panels.export(comps, cid, who(request)) if cid else None
            return gr.File(value=path, visible=path is not None)

        conv_export.click(export, [conv_id], [export_file])

        # the admin panel: every handler checks the caller again (the panel is only hidden from members)
        def admin_view(collection: str | None, request: gr.Request) -> tuple:
            return admin.view(comps, who(request), collection)

        admin_outputs = [admin_status, users_table, share_coll, share_now]
        for button, action in ((user_add, "add"), (user_reset, "password"), (user_key, "key"),
                               (user_drop, "delete")):
            def user_action(name: str, role: str, password: str, share_collection: str | None,
                            request: gr.Request, action: str = action) -> tuple:
                said = admin.user_action(comps, who(request), action, name, role, password)
                return (said, *admin.view(comps, who(request), share_collection)[1:], "")

            button.click(user_action, [user_name, user_role, user_password, share_coll],
                         [*admin_outputs, user_password])
        for button, action in ((share_with, "share"), (share_without, "unshare"), (make_public, "public"),
                               (make_private, "private")):
            def sharing_action(share_collection: str | None, name: str, request: gr.Request,
                               action: str = action) -> tuple:
                said = admin.sharing_action(comps, who(request), action, share_collection, name)
                return (said, *admin.view(comps, who(request), share_collection)[1:])

            button.click(sharing_action, [share_coll, share_user], admin_outputs)
        share_coll.input(admin_view, [share_coll], admin_outputs)

        # the header says "warming up" while the models load; polled until the warm-up ends, then left alone
        warm_timer = gr.Timer(1.0, active=comps.warmup.warming)

        def warm_tick(collection: str, request: gr.Request) -> tuple:
            return panels.header(comps, collection, who(request)), gr.Timer(active=comps.warmup.warming)

        warm_timer.tick(warm_tick, [collection], [title, warm_timer], show_progress="hidden")

        def loaded(request: gr.Request) -> tuple:
            """Everything private, for the page being opened: collections, conversations, documents (the
            default collection, or the first this user may read), and the admin panel for an admin."""
            caller = who(request)
            names = access.visible_collections(comps, caller)
            first = comps.name if comps.name in names else (names[0] if names else None)
            docs = show_documents(first, request) if first else ("", gr.Dropdown(choices=[], value=None),
                                                                 "### Ask your documents")
            is_admin = caller.is_admin and comps.users.accounts()
            return (gr.Dropdown(choices=panels.conversation_choices(comps, caller), value=None),
                    gr.Dropdown(choices=names, value=first), *docs, gr.Accordion(visible=is_admin),
                    *(admin.view(comps, caller, first) if is_admin else (gr.skip(),) * 4))

        demo.load(loaded, None, [convs, collection, *doc_outputs, admin_panel, *admin_outputs])
    # past this many questions waiting, the page says the server is busy (as the API's 429 does)
    demo.queue(max_size=settings.server.max_waiting)
    return demo
