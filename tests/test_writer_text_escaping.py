"""A writer's text is text: titles, summaries, tags, section names and form wording never become
markup on any built page, and `kbgen check` says where an article would need a script.

The demo is built with the real `kbgen build` after adding an article, a folder, a nav
configuration and a request type whose wording holds HTML; the pages are then read with
html.parser, as a browser would, and the search is used in a real Chromium.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from conftest import LiveServer, copy_project, project_settings, run_kbgen

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"
TITLE = f"{IMG} Calls {SCRIPT} drop on transfer"
SUMMARY = f"Summary {IMG} with {SCRIPT}"
FOLDER = f"{IMG} Transfers"  # a folder name cannot hold "/": the nav configuration test has the <script>
ARTICLE = f"""---
title: "{TITLE}"
product: XCALLY
type: troubleshooting
summary: "{SUMMARY}"
tags: ["{IMG}", "{SCRIPT}"]
updated: 2026-01-02
---

Calls drop on transfer to an external number.

## Check the trunk

The transfer uses the outbound trunk.
"""
FORM_TITLE = f"It's \"{SCRIPT}\" {IMG}"  # both quotes: the page's front matter must still be valid YAML
FORM_TYPE = {
    "title": FORM_TITLE,
    "description": f"Description {IMG} {SCRIPT}",
    "fields": {
        "summary": {"type": "text", "label": f"Summary {IMG}", "required": True, "max_length": 200,
                    "placeholder": f"e.g. {SCRIPT}", "help": f"Help {IMG} {SCRIPT}"},
        "description": {"type": "textarea", "label": f"Description {SCRIPT}", "required": True},
        "area": {"type": "select", "label": f"Area {IMG}", "required": True,
                 "options": [{"value": "a", "label": f"Option {SCRIPT}"}, {"value": "b", "label": "Other"}]},
    },
}


class Page(HTMLParser):
    """What a browser makes of a page: its elements with their attributes, and its text."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.scripts: list[str] = []
        self.text: dict[str, list[str]] = {}  # innermost element -> its text pieces
        self.feed(source)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag not in ("img", "input", "meta", "link", "br", "hr", "source"):
            self.stack.append(tag)
        if tag == "script":
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "script":
            self.scripts[-1] += data
        for tag in set(self.stack) | {"*"}:
            self.text.setdefault(tag, []).append(data)

    def all_text(self, tag: str = "*") -> str:
        return re.sub(r"\s+", " ", "".join(self.text.get(tag, [])))

    def injected(self) -> list[str]:
        """Everything the payloads would have made live, were they markup."""
        found = [f"<{tag} {attrs}>" for tag, attrs in self.elements
                 if any(name.startswith("on") for name in attrs) or (tag == "img" and attrs.get("src") == "x")]
        found += [f"<script>{s}</script>" for s in self.scripts if "alert(1)" in s]
        return found


def pages_of(site: Path) -> dict[str, Page]:
    return {p.relative_to(site).as_posix(): Page(p.read_text(encoding="utf-8")) for p in sorted(site.rglob("*.html"))}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    project = copy_project(tmp_path_factory.mktemp("writer-text"))
    folder = project / "content" / "kb" / "xcally" / FOLDER
    folder.mkdir()
    (folder / "calls-drop-on-transfer.md").write_text(ARTICLE, encoding="utf-8")
    form_file = project / "forms" / "xcally.yml"
    form = yaml.safe_load(form_file.read_text(encoding="utf-8"))
    form["intro"] = f"Intro {IMG} {SCRIPT}"
    form["request_types"]["odd-wording"] = FORM_TYPE
    form_file.write_text(yaml.safe_dump(form, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = run_kbgen("build", cwd=project, env={"KBGEN_INDEX_DIR": ""})
    assert result.returncode == 0, result.stdout + result.stderr
    return project / "site"


@pytest.fixture(scope="module")
def pages(site) -> dict[str, Page]:
    return pages_of(site)


def article_page(pages: dict[str, Page]) -> tuple[str, Page]:
    return next((path, page) for path, page in pages.items() if path.endswith("calls-drop-on-transfer/index.html"))


def test_no_built_page_gets_an_element_or_attribute_from_a_writers_text(pages):
    assert len(pages) > 50
    assert {path: found for path, page in pages.items() if (found := page.injected())} == {}


def test_the_title_and_the_section_name_show_as_text_on_the_article_the_listing_and_every_pages_nav(pages):
    _, article = article_page(pages)
    assert article.all_text("title").strip() == f"{TITLE} - Support Portal"
    assert TITLE in article.all_text("h1")
    listing = pages["kb/xcally/index.html"].all_text("article")
    assert TITLE in listing and SUMMARY in listing
    for path in ("index.html", "login/index.html", "requests/index.html", "kb/xcally/index.html",
                 "support/index.html", "requests/ticket/index.html", "404.html"):
        nav = pages[path].all_text("nav")
        assert TITLE in nav, path
        assert FOLDER in nav, path  # the section MkDocs names after the folder


def test_form_wording_shows_as_text_on_the_picker_and_the_form_page(pages):
    form = pages["support/xcally/odd-wording/index.html"]
    text = form.all_text("article")
    for wording in (f"Description {IMG} {SCRIPT}", f"Summary {IMG}", f"Help {IMG} {SCRIPT}",
                    f"Description {SCRIPT}", f"Area {IMG}", f"Option {SCRIPT}"):
        assert wording in text, wording
    assert form.all_text("title").strip() == f"XCALLY: {FORM_TITLE} - Support Portal"
    assert form.all_text("h1").strip() == f"XCALLY: {FORM_TITLE}"
    assert {"placeholder": f"e.g. {SCRIPT}"}.items() <= next(
        attrs for tag, attrs in form.elements if tag == "input" and attrs.get("id") == "kbf-summary").items()
    picker = pages["support/xcally/index.html"].all_text("article")
    assert f"Intro {IMG} {SCRIPT}" in picker and FORM_TITLE in picker


def test_names_from_the_nav_configuration_are_text_too(tmp_path):
    project = copy_project(tmp_path / "nav")
    config = yaml.safe_load((project / "mkdocs.yml").read_text(encoding="utf-8"))
    (project / "content" / "guides").mkdir()
    (project / "content" / "guides" / "hold-music.md").write_text(
        (project / "content" / "kb" / "xcally" / "how-to" / "configure-music-on-hold.md").read_text())
    config["nav"] = [
        {"Home": "index.md"},
        {f"Guides {SCRIPT}": [{f"Hold music {IMG}": "guides/hold-music.md"},
                              {f"Vendor site {IMG}": "https://example.com/"}]},
    ]
    (project / "mkdocs.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    result = run_kbgen("build", cwd=project, env={"KBGEN_INDEX_DIR": ""})
    assert result.returncode == 0, result.stdout + result.stderr
    pages = pages_of(project / "site")
    assert {path: found for path, page in pages.items() if (found := page.injected())} == {}
    hold = pages["guides/hold-music/index.html"]
    nav = hold.all_text("nav")
    assert f"Guides {SCRIPT}" in nav and f"Hold music {IMG}" in nav and f"Vendor site {IMG}" in nav
    assert hold.all_text("title").strip() == f"Hold music {IMG} - Support Portal"


@pytest.mark.browser
def test_search_results_show_the_title_as_text(site, page):
    from playwright.sync_api import expect

    from kbgen.web.app import create_app

    project = site.parent
    settings = project_settings(project, f"sqlite:///{project / 'search.db'}")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    app = create_app(settings)
    try:
        with LiveServer(app) as server:
            page.goto(server.url + "/search/?q=calls+drop+on+transfer")
            found = page.locator("[data-kbgen-list] .kbgen-hit__title", has_text="drop on transfer")
            expect(found).to_have_text(TITLE)
            # The folder's section name is the result's breadcrumbs: text too.
            hit = page.locator("[data-kbgen-list] .kbgen-hit", has_text="drop on transfer")
            expect(hit.locator(".kbgen-hit__place")).to_have_text(f"Knowledge Base \u203a XCALLY \u203a {FOLDER}")
            page.fill("#kbgen-header-q", "calls drop transfer")
            live = page.locator(".kbgen-search--header .kbgen-hit__title", has_text="drop on transfer")
            expect(live).to_have_text(TITLE)
            option = page.locator(".kbgen-search--header .kbgen-hit", has_text="drop on transfer")
            expect(option.locator(".kbgen-hit__place")).to_contain_text(FOLDER)
            assert page.locator('img[src="x"]').count() == 0
            assert dialogs == []
    finally:
        app.state.engine.dispose()


# -- kbgen check ------------------------------------------------------------------------------


def check(project: Path, name: str, text: str):
    path = project / "content" / "kb" / "xcally" / "troubleshooting" / name
    path.write_text(text, encoding="utf-8")
    return run_kbgen("check", cwd=project)


BODY = """---
title: Calls drop on transfer
product: XCALLY
type: troubleshooting
summary: Calls drop when an agent transfers them.
---

Calls drop when an agent transfers them.

<script>alert("writer")</script>

<img src="trunk.png"
     alt="Trunk settings" onerror="alert(2)">

Open the [trunk page](javascript:alert(3)) or <a href="JaVa&#115;cript:alert(4)">this one</a>.

The setting `<script>` and `onload=` are only text in code, and so is this:

```html
<button onclick="transfer()">Transfer</button>
```
"""


def test_check_reports_scripts_in_an_article_body_with_file_and_line(tmp_path):
    project = copy_project(tmp_path / "check")
    result = check(project, "calls-drop.md", BODY)
    assert result.returncode != 0
    where = "content/kb/xcally/troubleshooting/calls-drop.md"
    lines = [line for line in result.stderr.splitlines() if line.startswith(where)]
    assert [line.split(": ", 1)[0] for line in lines] == [f"{where}:10", f"{where}:13", f"{where}:15", f"{where}:15"]
    assert "raw <script> in the article; remove it" in lines[0]
    assert "event handler attribute 'onerror='; remove it" in lines[1]
    assert all("javascript: URL" in line and "; link to a page or an https:// address instead" in line
               for line in lines[2:])
    assert "Content-Security-Policy" in lines[0]

    strict = run_kbgen("build", "--strict", cwd=project, env={"KBGEN_INDEX_DIR": ""})
    assert strict.returncode != 0 and f"{where}:10: raw <script>" in strict.stderr
    assert not (project / "site").exists()  # nothing was written


def test_check_reports_markup_in_a_title_and_accepts_key_names(tmp_path):
    project = copy_project(tmp_path / "title")
    result = check(project, "calls-drop.md", ARTICLE)
    where = "content/kb/xcally/troubleshooting/calls-drop.md"
    assert result.returncode != 0
    assert (f"{where}:2: title contains HTML markup '{IMG}', which pages show as text, never as markup; "
            "write plain text") in result.stderr
    assert f"{where}:5: summary contains HTML markup" in result.stderr

    plain = ARTICLE.replace(f'"{TITLE}"', '"Press <Enter> twice and calls drop"').replace(f'"{SUMMARY}"', "Plain.")
    result = check(project, "calls-drop.md", plain)
    assert result.returncode == 0, result.stderr


# -- without MkDocs -----------------------------------------------------------------------------


def test_front_matter_becomes_escaped_text_once():
    from markupsafe import Markup, escape

    from kbgen.site.writer_text import writer_text

    value = writer_text({"title": TITLE, "tags": [IMG, SCRIPT], "weight": 3})
    assert value == {"title": escape(TITLE), "tags": [escape(IMG), escape(SCRIPT)], "weight": 3}
    assert isinstance(value["title"], Markup)
    assert writer_text(value) == value  # a second pass (a preview rebuild) does not escape it again


def test_a_listing_page_shows_a_title_and_summary_as_text():
    from kbgen.site.pages.listing import Entry, portal_pages

    entries = [Entry("kb/xcally/t/calls/", TITLE, SUMMARY, "xcally", "troubleshooting")]
    product = next(p for p in portal_pages(entries, set()) if p.src_uri == "kb/xcally/index.md")
    page = Page(product.render("../../"))
    assert page.injected() == []
    assert TITLE in page.all_text("a") and SUMMARY in page.all_text("p")
    assert ("a", {"href": "../../kb/xcally/t/calls/"}) in page.elements
