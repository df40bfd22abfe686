"""`kbgen build`, `kbgen new` and the plugin on the demo portal and on an existing MkDocs site."""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

from click.testing import CliRunner

from conftest import REPO, run_kbgen
from kbgen.cli import cli
from kbgen.site.content import load_articles


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
            assert article.title.replace("'", "&#x27;") in page or article.title in page, article.path
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
