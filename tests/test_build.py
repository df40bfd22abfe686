"""`kbgen build`, `kbgen new` and the plugin on the demo portal and on an existing MkDocs site."""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

from click.testing import CliRunner
from markupsafe import escape

from conftest import REPO, run_kbgen
from kbgen.cli import cli
from kbgen.site.catalog import ARTICLE_TYPES, PRODUCTS, SECTIONS, SOFTWARE, product_by_slug, type_by_slug
from kbgen.site.content import load_articles
from kbgen.site.nav import portal_nav
from kbgen.templates import THEME_DIR


def html(project: Path, url: str) -> str:
    return (project / "site" / url / "index.html").read_text()


def test_demo_home_has_search_and_the_two_boxes(built_project):
    home = html(built_project, "")
    assert re.search(r'<form[^>]*data-kbgen-search[^>]*>', home)
    for text in ("SOFTWARE", "Knowledge Base", "Motion V3 Advanced Wiki", "Need to raise a request? Contact us",
                 "LICENSE", "License information", "Open a license request"):
        assert text in home


def test_product_pages_list_articles_from_front_matter(built_project):
    articles = load_articles(REPO / "content")
    for product in ("xcally", "xplany", "witiop", "vidaoo"):
        page = html(built_project, f"kb/{product}")
        mine = [a for a in articles if a.product == product and a.type in ("how-to", "troubleshooting")]
        assert mine
        for article in mine:
            assert str(escape(article.title)) in page or article.title in page, article.path
        others = [a for a in articles if a.product != product and a.type in ("how-to", "troubleshooting")]
        assert not any(f">{a.title}<" in page for a in others)
    wiki = html(built_project, "wiki")
    assert "Installation" in wiki and "Technical resources" in wiki
    assert all(a.title in wiki for a in articles if a.type == "installation")


def test_every_article_ends_with_contact_us_for_its_product(built_project):
    for article in load_articles(REPO / "content"):
        if not article.product:
            continue
        page = html(built_project, article.path[:-3])
        footer = page.rsplit("Need to raise a request?", 1)
        assert len(footer) == 2, article.path
        depth = article.path.count("/") + 1
        assert f'href="{"../" * depth}support/{article.product}/"' in footer[1], article.path


def test_new_article_is_valid_and_lands_in_its_section(tmp_path, monkeypatch):
    project = tmp_path
    (project / "content").mkdir()
    (project / "mkdocs.yml").write_text((REPO / "mkdocs.yml").read_text().replace("  custom_dir: theme\n", ""))
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, ["new", "Calls drop on transfer", "--product", "xcally",
                                      "--type", "troubleshooting", "--summary", "Why transfers end calls."])
    assert result.exit_code == 0, result.output
    path = project / "content" / "kb" / "xcally" / "troubleshooting" / "calls-drop-on-transfer.md"
    assert path.exists()
    assert CliRunner().invoke(cli, ["check"]).exit_code == 0
    again = CliRunner().invoke(cli, ["new", "Calls drop on transfer", "--product", "xcally", "--type", "troubleshooting"])
    assert again.exit_code != 0 and "already exists" in again.output
    bad = CliRunner().invoke(cli, ["new", "X", "--product", "Skype", "--type", "how-to"])
    assert bad.exit_code != 0 and "unknown product 'Skype'" in bad.output


def test_real_cli_builds_into_the_site_dir_given(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Existing site\n\nNo kbgen front matter here.\n")
    (tmp_path / "docs" / "guide.md").write_text("---\ntitle: Guide\npageid: 12\n---\n\nSee [home](index.md).\n")
    (tmp_path / "mkdocs.yml").write_text(textwrap.dedent("""\
        site_name: Existing
        theme: {name: material}
        plugins:
          - kbgen
        """))
    result = run_kbgen("build", "--strict", "-d", str(tmp_path / "public"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Existing site" in (tmp_path / "public" / "index.html").read_text()
    assert "Guide" in (tmp_path / "public" / "guide" / "index.html").read_text()
    assert not (tmp_path / "site").exists()


def test_check_on_the_bundled_demo_is_clean():
    result = run_kbgen("check", cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert re.search(r"OK: \d+ page", result.stdout)


def test_long_builds_show_progress(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(200):
        (docs / f"page-{n:03}.md").write_text(f"---\ntitle: Page {n}\n---\n\nText {n}.\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: Big\ntheme: {name: material}\nplugins:\n  - kbgen\n")
    result = run_kbgen("build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    progress = [(int(n), int(total)) for n, total in re.findall(r"kbgen: rendered (\d+)/(\d+) pages", result.stderr)]
    assert len(progress) >= 10
    done = [n for n, _ in progress]
    assert done == sorted(done) and progress[-1][0] == progress[-1][1] >= 200


def test_tabs_and_sections_use_portal_names_in_catalog_order(built_project):
    home = html(built_project, "")
    tabs = re.findall(r'class="md-tabs__link[^"]*"[^>]*>\s*([^<]+?)\s*<', home)
    assert tabs == ["Home", "Knowledge Base", "Advanced Wiki", "License", "Contact us", "My requests"]
    support = html(built_project, "support")
    sidebar = support.split('class="md-sidebar md-sidebar--primary"', 1)[1].split('class="md-content"', 1)[0]
    positions = [sidebar.index(f"{name}\n") for name in ("XCALLY", "XPLANY", "WitiOp", "Vidaoo", "License")]
    assert positions == sorted(positions)
    assert "Sign in" not in home.split('class="md-tabs"', 1)[1].split("</nav>", 1)[0]


def test_article_chips_show_the_catalogs_product_name_and_type_label(built_project):
    shown = set()
    for article in load_articles(REPO / "content"):
        if not (article.product and article.type):
            continue
        page = html(built_project, article.path[:-3])
        chips = re.findall(r'<span class="kbgen-chip[^"]*">([^<]*)</span>', page)
        expected = [product_by_slug(article.product).name, type_by_slug(article.type).label]
        assert chips == [str(escape(text)) for text in expected], article.path
        shown.add(chips[1])
    assert {"Technical resources", "License"} <= shown  # not "Reference", not "license"


def test_home_shows_the_catalogs_names_and_blurbs(built_project):
    home = html(built_project, "")
    names = [p.name for p in SOFTWARE]
    assert f"<p>{', '.join(names[:-1])} and {names[-1]}</p>" in home
    for section in SECTIONS:
        if section.blurb:
            assert f"<span>{escape(section.blurb)}</span>" in home, section.slug
    for slug in ("kb", "wiki"):
        assert f"<strong>{escape(next(s.name for s in SECTIONS if s.slug == slug))}</strong>" in home
    assert product_by_slug("license").tagline in home


def test_theme_templates_do_not_retype_the_catalog():
    """Names, taglines, leads and blurbs reach templates from kbgen/site/catalog.py, never typed again."""
    facts = {p.name for p in SOFTWARE} | {p.tagline for p in PRODUCTS} | {t.label for t in ARTICLE_TYPES if t.slug != "license"}
    facts |= {text for s in SECTIONS for text in (s.name, s.tab, s.lead, s.blurb) if " " in text}
    templates = [p for p in THEME_DIR.rglob("*.html") if "support" not in p.relative_to(THEME_DIR).parts]
    assert len(templates) > 10
    code = {p.relative_to(THEME_DIR).as_posix(): re.sub(r"\{#.*?#\}", "", p.read_text(encoding="utf-8"), flags=re.S)
            for p in templates}  # a template's comments may name what it shows
    retyped = {(name, fact) for name, text in code.items() for fact in facts if fact in text}
    assert retyped == set()


def test_no_mail_template_is_published(built_project):
    mail = {p.name for p in (THEME_DIR / "mail").iterdir()}
    assert any(name.endswith(".txt") for name in mail)  # MkDocs would copy these from a theme dir
    site = built_project / "site"
    assert not (site / "mail").exists()
    assert [p for p in site.rglob("*") if p.name in mail] == []


class Item:
    """A nav item as MkDocs makes them (a page with its file, or a section with children)."""

    def __init__(self, title, src=None, children=()):
        self.title, self.parent = title, None
        self.is_page, self.is_section = src is not None, src is None
        self.file = type("File", (), {"src_uri": src})() if src else None
        self.children = list(children) if src is None else None
        for child in self.children or []:
            child.parent = self


def test_nav_rules_order_and_name_sections_without_mkdocs():
    wiki = Item("Wiki", children=[Item("Technical", children=[Item("Logs", "wiki/technical/logs.md")]),
                                  Item("Installation", children=[Item("Install", "wiki/installation/install.md")]),
                                  Item("Wiki home", "wiki/index.md")])
    items = [Item("Requests", children=[Item("Request", "requests/ticket/index.md"), Item("Requests", "requests/index.md")]),
             wiki, Item("Sign in", "login/index.md"), Item("Kb", children=[Item("Kb home", "kb/index.md")]),
             Item("Home", "index.md"), Item("Only hidden", children=[Item("Search", "search/index.md")])]
    hidden = {"login/index.md", "requests/ticket/index.md", "search/index.md"}
    nav = portal_nav(items, hidden)
    assert [i.title for i in nav] == ["Home", "Knowledge Base", "Advanced Wiki", "My requests"]
    assert [i.title for i in nav[2].children] == ["Wiki home", "Installation", "Technical resources"]
    assert [i.file.src_uri for i in nav[3].children] == ["requests/index.md"]


def test_a_build_does_not_load_the_service_s_database_layer():
    """`kbgen build` runs in CI beside other jobs: the plugin, the build and the facts it shows load
    neither SQLAlchemy nor the web framework (they were a quarter of a corpus build's memory)."""
    import subprocess
    import sys

    code = ("import sys, kbgen.cli, kbgen.site.build, kbgen.site.plugin, kbgen.facts; kbgen.facts.export(); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'fastapi', 'starlette', 'argon2'}))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
