"""Accounts in a real browser (Debian's chromium through Playwright): two members log in to the chat page and
each sees their own collections, not the other's; a wrong password is refused; an admin shares a collection on
the admin panel and the member it is shared with sees it on their next visit."""

from __future__ import annotations

import re

import pytest

from rag.backends.fakes import ScriptedLLM
from rag.components import Components
from rag.config import Settings
from rag.services import collections
from tests.conftest import HashEmbedder
from tests.e2e.browser import CHROMIUM, launch_chromium
from tests.e2e.conftest import serve
from tests.e2e.test_browser import TIMEOUT, choose

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    from rag.web.server import create_app

    store = tmp_path_factory.mktemp("accounts") / "store"
    comps = Components(Settings(_env_file=None, store={"persist_dir": store, "collection": "main",
                                                       "seeds_dir": store / "none"}),
                       embedder=HashEmbedder(), llm=ScriptedLLM())
    comps.users.add("root", "admin", "root pass")
    ann, bob = comps.users.add("ann", "member", "ann pass"), comps.users.add("bob", "member", "bob pass")
    collections.create(comps, "ann-notes", ann)
    collections.create(comps, "bob-notes", bob)
    url, server, thread = serve(create_app(comps))
    with sync_playwright() as p:
        browser = launch_chromium(p)
        yield url, browser
        browser.close()
    server.should_exit = True
    thread.join(timeout=10)


def _log_in(browser, url: str, user: str, password: str):
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(url + "/")
    page.locator("input[type=text]").first.fill(user)
    page.locator("input[type=password]").first.fill(password)
    page.get_by_role("button", name="Login").click()
    return page


def _collections(page) -> list[str]:
    """The collection picker's options, once the page's load has filled it."""
    page.wait_for_selector("#rag-question textarea")
    page.locator("#rag-collection input").click()
    options = page.get_by_role("option")
    options.first.wait_for()
    names = sorted(t.replace("✓", "").strip() for t in options.all_inner_texts())  # the chosen one is ticked
    page.keyboard.press("Escape")
    return names


def test_two_users_see_their_own_collections(site) -> None:
    url, browser = site
    ann = _log_in(browser, url, "ann", "ann pass")
    assert _collections(ann) == ["ann-notes", "main"]
    assert not ann.locator("#rag-admin").is_visible()
    bob = _log_in(browser, url, "bob", "bob pass")
    assert _collections(bob) == ["bob-notes", "main"]
    wrong = _log_in(browser, url, "bob", "ann pass")
    wrong.get_by_text(re.compile("Incorrect", re.I)).first.wait_for()
    assert wrong.locator("#rag-question").count() == 0
    for page in (ann, bob, wrong):
        page.context.close()


def test_an_admin_shares_a_collection_on_the_admin_panel(site) -> None:
    url, browser = site
    root = _log_in(browser, url, "root", "root pass")
    assert _collections(root) == ["ann-notes", "bob-notes", "main"]
    root.locator("#rag-admin").get_by_text("Admin").first.click()
    choose(root, "rag-admin-collection", "ann-notes")
    root.locator("#rag-admin-sharing").get_by_text("private").wait_for()
    root.fill("#rag-admin-share-user textarea", "bob")
    root.click("#rag-admin-share")
    root.locator("#rag-admin-status").get_by_text("ann-notes: shared with bob (owner: ann)").wait_for()
    root.context.close()
    bob = _log_in(browser, url, "bob", "bob pass")
    assert _collections(bob) == ["ann-notes", "bob-notes", "main"]
    bob.context.close()
