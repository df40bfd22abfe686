"""The static /support/ pages: what customers see and what assistive technology and browsers rely on."""
from __future__ import annotations

import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kbgen.forms import PRIORITIES, PRIORITY_RULE, load_catalog
from kbgen.settings import Settings
from kbgen.site.catalog import PRODUCTS
from kbgen.site.pages.support import SUGGESTIONS_TITLE, support_pages

from conftest import copy_project, run_kbgen

REPO = Path(__file__).resolve().parent.parent
VOID = {"input", "br", "hr", "img", "meta", "link", "source", "wbr", "area", "base", "col", "embed", "track"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: "Node | None"):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node] = []
        self.text = ""

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs) -> list["Node"]:
        """Nodes with these attribute values; a value of None asks only that the attribute is present."""
        return [n for n in self.iter() if (tag is None or n.tag == tag)
                and all(k in n.attrs if v is None else n.attrs.get(k) == v for k, v in attrs.items())]

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def all_text(self) -> str:
        return self.text + "".join(c.all_text() for c in self.children)


class TreeBuilder(HTMLParser):
    """Enough of a DOM to check labels, ids and attributes; fails on mismatched tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#root", {}, None)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag):
        assert self.current.tag == tag, f"</{tag}> closes <{self.current.tag}>"
        self.current = self.current.parent

    def handle_data(self, data):
        self.current.text += data


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.current is builder.root, "unclosed tags"
    return builder.root


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(REPO / "forms")


def default_settings(folder: Path) -> Settings:
    """The settings of a service started with no KBGEN_* variable (a secret given, so nothing is written)."""
    return Settings.from_env(folder, env={"KBGEN_SECRET_KEY": "test-secret"})


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return default_settings(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def pages(catalog, settings):
    return {p.src_uri: p for p in support_pages(catalog, settings)}


def render(pages, src_uri: str) -> str:
    base = "../" * src_uri.count("/")
    return pages[src_uri].render(base)


def form_uris(pages):
    return [uri for uri in pages if uri.count("/") == 3]


def test_one_page_per_product_and_request_type(catalog, pages):
    expected = {"support/index.md"}
    for form in catalog.forms.values():
        expected.add(f"support/{form.product.slug}/index.md")
        expected.update(f"support/{form.product.slug}/{t}/index.md" for t in form.request_types)
    assert set(pages) == expected
    assert pages["support/xcally/bug-report/index.md"].title == "XCALLY: Bug report"
    assert not any(p.searchable for p in pages.values())


def test_support_home_offers_every_product_as_a_card(pages):
    tree = parse(render(pages, "support/index.md"))
    cards = tree.find_all("a", **{"class": "kbgen-card"})
    assert [c.attrs["href"] for c in cards] == [f"../support/{p.slug}/" for p in PRODUCTS]
    assert [c.find_all("h2")[0].all_text() for c in cards] == [p.name for p in PRODUCTS]


def test_product_page_lists_request_types_with_descriptions(pages, catalog):
    tree = parse(render(pages, "support/license/index.md"))
    cards = tree.find_all("a", **{"class": "kbgen-card"})
    assert [c.attrs["href"] for c in cards] == [f"../../support/license/{t}/" for t in
                                                catalog.forms["license"].request_types]
    move = cards[-1]
    assert move.find_all("h2")[0].all_text() == "Move to a new server"
    assert "Transfer a license to a new server" in move.find_all("p")[0].all_text()


def test_every_form_posts_multipart_to_the_intake_and_works_without_javascript(pages):
    for uri in form_uris(pages):
        _, product, rtype, _ = uri.split("/")
        tree = parse(render(pages, uri))
        [form] = tree.find_all("form")
        assert form.attrs["method"] == "post" and form.attrs["enctype"] == "multipart/form-data"
        assert form.attrs["action"] == "../../../api/tickets"
        hidden = {i.attrs["name"]: i.attrs["value"] for i in form.find_all("input", type="hidden")}
        assert hidden == {"product": product, "request_type": rtype, "idempotency_key": "", "related_to": ""}
        assert form.find_all("button", type="submit")


def test_every_form_shows_the_priorities_with_definitions_and_the_rule(pages, catalog):
    for uri in form_uris(pages):
        tree = parse(render(pages, uri))
        [select] = tree.find_all("select", name="priority")
        assert "required" in select.attrs
        assert [o.attrs["value"] for o in select.find_all("option")] == [p.slug for p in PRIORITIES]
        _, product, rtype, _ = uri.split("/")
        [chosen] = [o for o in select.find_all("option") if "selected" in o.attrs]
        assert chosen.attrs["value"] == catalog.request_type(product, rtype).default_priority
        [definitions] = tree.find_all("dl", id="kbf-priority-definitions")
        assert [dt.all_text() for dt in definitions.find_all("dt")] == [p.name for p in PRIORITIES]
        assert [dd.all_text() for dd in definitions.find_all("dd")] == [p.definition for p in PRIORITIES]
        assert PRIORITY_RULE in tree.all_text()
        for id_ in select.attrs["aria-describedby"].split():
            assert tree.find_all(id=id_)


def test_feature_requests_default_to_the_lowest_priority(pages):
    tree = parse(render(pages, "support/xcally/feature-request/index.md"))
    [chosen] = [o for o in tree.find_all("option") if "selected" in o.attrs]
    assert chosen.attrs["value"] == "lowest"


def test_html5_validation_attributes_come_from_the_definitions(pages, catalog):
    for uri in form_uris(pages):
        _, product, slug, _ = uri.split("/")
        rtype = catalog.request_type(product, slug)
        tree = parse(render(pages, uri))
        for field in rtype.fields.values():
            [control, *_] = tree.find_all(name=field.input_name)
            attrs = control.attrs
            always_required = field.required and field.show_if is None and field.type != "multi-select"
            assert ("required" in attrs) == always_required, (uri, field.name)
            if field.required and field.show_if is not None:
                assert attrs["data-required"] == "true"  # the script sets `required` only while it shows
            expected_type = {"email": "email", "url": "url", "date": "date", "attachments": "file",
                             "consent": "checkbox", "multi-select": "checkbox"}.get(field.type, "text")
            if control.tag == "input":
                assert attrs["type"] == expected_type, (uri, field.name)
            if field.max_length and field.type not in ("date",):
                assert attrs["maxlength"] == str(field.max_length)
            if field.min_length:
                assert attrs["minlength"] == str(field.min_length)
            if field.pattern:
                assert attrs["pattern"] == field.pattern and attrs["title"] == field.pattern_message
            if field.type == "version":
                assert attrs["pattern"] and attrs["title"] == "Write a version number like 3.41.2."
            if field.type == "select":
                values = [o.attrs["value"] for o in control.find_all("option")]
                assert values == [""] + [o.value for o in field.options]


def test_labels_help_and_error_slots_are_wired_for_screen_readers(pages):
    for uri in form_uris(pages):
        tree = parse(render(pages, uri))
        ids = [n.attrs["id"] for n in tree.iter() if "id" in n.attrs]
        assert len(ids) == len(set(ids)), f"duplicate ids in {uri}"
        labelled = {n.attrs["for"] for n in tree.find_all("label") if "for" in n.attrs}
        for control in tree.iter():
            if control.tag not in ("input", "select", "textarea") or control.attrs.get("type") == "hidden":
                continue
            inside_label = any(a.tag == "label" for a in control.ancestors())
            assert inside_label or control.attrs.get("id") in labelled, (uri, control.attrs)
        for node in tree.iter():
            for id_ in (node.attrs.get("aria-describedby") or "").split():
                assert id_ in ids, (uri, id_)
        slots = tree.find_all("p", **{"class": "kbgen-error"})
        assert slots and all(s.attrs["aria-live"] == "polite" and s.attrs["data-error-for"] for s in slots)
        names = {n.attrs.get("name") for n in tree.iter()}
        assert {s.attrs["data-error-for"] for s in slots} <= names
        [summary] = tree.find_all(**{"data-kbgen-error-summary": None})
        assert summary.attrs["role"] == "alert" and summary.attrs["tabindex"] == "-1" and "hidden" in summary.attrs


def test_xcally_form_shows_the_server_access_panel_and_asks_for_consent(pages, catalog):
    html = render(pages, "support/xcally/technical-issue/index.md")
    tree = parse(html)
    [panel] = tree.find_all("section", **{"class": "kbgen-consent-panel"})
    text = panel.all_text()
    for heading, body in catalog.consents["server-access"].items:
        assert heading in text and body in text
    assert "Version 2026-01" in text
    [box] = tree.find_all("input", name="fields.server_access_consent")
    assert box.attrs["type"] == "checkbox"
    [wrapper] = [a for a in box.ancestors() if a.attrs.get("data-field") == "server_access_consent"]
    assert wrapper.attrs["data-show-field"] == "server_access" and wrapper.attrs["data-show-values"] == '["yes"]'
    # Without the script every field shows, so the conditional ones say when they apply.
    assert "Only if the answer to “Does this request need access to your server?” is “Yes”." in wrapper.all_text()
    # Remote assistance always works on the server: the consent is simply required.
    [always] = parse(render(pages, "support/xcally/remote-assistance/index.md")).find_all(
        "input", name="fields.server_access_consent")
    assert "required" in always.attrs


def test_attachment_limits_are_shown(pages, settings):
    tree = parse(render(pages, "support/xcally/technical-issue/index.md"))
    [files] = tree.find_all("input", name="files.logs")
    assert files.attrs["type"] == "file" and "multiple" in files.attrs
    assert files.attrs["accept"] == ".log,.txt,.gz,.zip,.png,.jpg,.jpeg,.pdf"
    assert settings.max_attachment_bytes == 10 * 1024 * 1024  # the default the page shows below
    assert files.attrs["data-max-files"] == "3" and files.attrs["data-max-bytes"] == str(10 * 1024 * 1024)
    [help_text] = tree.find_all(id="kbf-logs-help")
    assert "Up to 3 files, 10 MB each. Allowed: .log, .txt" in help_text.all_text()


def test_attachment_size_shown_follows_the_service_limit(tmp_path):
    """`kbgen build` with the service's KBGEN_MAX_ATTACHMENT_BYTES / KBGEN_MAX_ATTACHMENTS shows those limits."""
    project = copy_project(tmp_path / "portal")
    env = {"KBGEN_MAX_ATTACHMENT_BYTES": str(2 * 1024 * 1024), "KBGEN_MAX_ATTACHMENTS": "2",
           "KBGEN_INDEX_DIR": str(tmp_path / "index")}
    result = run_kbgen("build", cwd=project, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    tree = parse_page((project / "site" / "support" / "xcally" / "technical-issue" / "index.html").read_text())
    [files] = tree.find_all("input", name="files.logs")
    assert files.attrs["data-max-bytes"] == str(2 * 1024 * 1024)
    # The form allows 3 files, the service 2 per request: the page promises what the service takes.
    assert files.attrs["data-max-files"] == "2"
    [help_text] = tree.find_all(id="kbf-logs-help")
    assert "Up to 2 files, 2 MB each." in help_text.all_text()


def parse_page(html: str) -> Node:
    """The body of a built page (MkDocs' shell around it is not well formed for TreeBuilder's strict check)."""
    start = html.index('<nav class="kbgen-breadcrumb"')
    end = html.index("</form>", start) + len("</form>")
    return parse(html[start:end])


def test_summary_has_the_article_suggestions_box_hidden_until_the_service_answers(pages):
    tree = parse(render(pages, "support/vidaoo/technical-issue/index.md"))
    [box] = tree.find_all("aside", **{"data-kbgen-suggestions": None})
    assert "hidden" in box.attrs and SUGGESTIONS_TITLE in box.all_text()
    assert any(a.attrs.get("data-field") == "summary" for a in box.ancestors())


def test_every_link_starts_from_the_site_root_given(pages):
    for uri, page in pages.items():
        tree = parse(page.render("../../../x/"))
        for node in tree.iter():
            for attr in ("href", "action", "data-base"):
                if attr in node.attrs:
                    assert node.attrs[attr].startswith("../../../x/"), (uri, attr, node.attrs[attr])


def test_everything_from_yaml_is_escaped(tmp_path):
    evil = "<script>alert(1)</script>"
    attr = '"><img src=x onerror=alert(1)>'
    forms = tmp_path / "forms"
    (forms / "consents").mkdir(parents=True)
    (forms / "consents" / "server-access.yml").write_text(textwrap.dedent(f"""\
        version: '{attr}'
        title: '{evil}'
        intro: '{evil}'
        items: [{{heading: '{evil}', text: '{attr}'}}]
        agreement: '{evil}'
        """))
    (forms / "xcally.yml").write_text(textwrap.dedent(f"""\
        intro: '{evil}'
        request_types:
          bug-report:
            title: '{evil}'
            description: '{attr}'
            fields:
              summary: {{type: text, label: '{evil}', help: '{attr}', placeholder: '{attr}', required: true}}
              description: {{type: textarea, label: '{attr}', placeholder: '{evil}'}}
              mode:
                type: select
                label: '{evil}'
                placeholder: '{evil}'
                options: [{{value: '{attr}', label: '{evil}'}}]
              more: {{type: multi-select, label: x, options: ['{attr}']}}
              version: {{type: text, label: V, pattern: '[0-9]+', pattern_message: '{attr}'}}
              detail: {{type: text, label: D, show_if: {{field: mode, equals: '{attr}'}}}}
              ok: {{type: consent, consent: server-access}}
              logs: {{type: attachments, label: '{evil}', help: '{attr}'}}
        """))
    catalog = load_catalog(forms)
    settings = default_settings(tmp_path)
    for page in support_pages(catalog, settings):
        html = page.render("../")
        assert "<script" not in html and "<img" not in html, page.src_uri
        parse(html)  # still well formed: nothing broke out of an attribute
    form_html = support_pages(catalog, settings)[-1].render("../")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in form_html
    tree = parse(form_html)
    [summary] = tree.find_all("input", name="fields.summary")
    assert summary.attrs["placeholder"] == attr  # the browser shows exactly what was written
