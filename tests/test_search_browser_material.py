"""A plain Material docs site that only adds `- kbgen` to its plugins (no portal theme, no
front matter): it gets kbgen's search bar in place of Material's, in a real Chromium, with
versioned pages shown once, in the reader's version, with a chip, and each result's place in the nav."""
from __future__ import annotations

import re
import textwrap

import pytest

from conftest import LiveServer, axe_problems, project_settings, run_kbgen
from kbgen.web.app import create_app

pytestmark = pytest.mark.browser

MKDOCS_YML = """\
site_name: Plain docs
theme:
  name: material
  features: [navigation.indexes, search.suggest, search.highlight]
plugins:
  - kbgen:
      versions:
        - {label: "V3", prefix: v3/}
        - {label: "V2", prefix: v2/}
markdown_extensions: [toc]
"""

PAGES = {
    "index.md": "# Plain docs\n\nWelcome to the product manual.\n",
    "setup/install.md": "# Installing the server\n\nDownload the package and run the installer.\n\n"
                        "## Firewall ports\n\nOpen port 5060 for signalling.\n",
    "v3/api/dial.md": "# Dial\n\nThe Dial application places a call to one or more endpoints (version 3).\n",
    "v2/api/dial.md": "# Dial\n\nThe Dial application places a call to an endpoint (version 2).\n",
    # Two pages with one title: their sections (MkDocs names them after the folders) tell them apart.
    "backups/index.md": "# Overview\n\nNightly copies of the configuration and the recordings.\n",
    "monitoring/index.md": "# Overview\n\nNightly health checks of the trunks.\n",
}


@pytest.fixture(scope="module")
def docs_site(tmp_path_factory):
    project = tmp_path_factory.mktemp("plain-material")
    (project / "mkdocs.yml").write_text(MKDOCS_YML)
    for path, text in PAGES.items():
        (project / "docs" / path).parent.mkdir(parents=True, exist_ok=True)
        (project / "docs" / path).write_text(textwrap.dedent(text))
    result = run_kbgen("build", cwd=project, env={"KBGEN_INDEX_DIR": "", "KBGEN_SITE_DIR": ""})
    assert result.returncode == 0, result.stdout + result.stderr
    database = tmp_path_factory.mktemp("plain-material-db") / "kbgen.db"
    with LiveServer(create_app(project_settings(project, f"sqlite:///{database}"))) as server:
        yield server


def test_the_bar_is_there_without_the_portal_theme_and_material_search_is_not(page, docs_site):
    page.goto(docs_site.url + "/setup/install/")
    assert page.locator("#kbgen-header-q").is_visible()
    assert page.locator("[data-md-component=search]").count() == 0  # no second, dead search box


def test_typing_shows_results_and_enter_opens_the_page(page, docs_site):
    page.goto(docs_site.url + "/")
    page.keyboard.press("/")
    page.keyboard.type("firewall ports", delay=15)
    option = page.locator("form.kbgen-search--header .kbgen-hit:not(.kbgen-hit--all)").first
    option.wait_for()
    assert "Installing the server" in option.inner_text()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/setup/install/\?h=firewall\+ports#firewall-ports$"))
    # Material's search.highlight, which the site turns on: the searched words are marked on the page.
    marks = page.locator("article mark.kbgen-highlight")
    marks.first.wait_for()
    assert marks.all_inner_texts() == ["Firewall", "ports"]  # "port 5060" does not start with "ports"


def test_a_versioned_page_is_one_result_with_a_chip_in_the_readers_version(page, docs_site):
    page.goto(docs_site.url + "/setup/install/")  # not a versioned page: the first declared version
    page.locator("#kbgen-header-q").press_sequentially("dial application", delay=15)
    hits = page.locator("form.kbgen-search--header .kbgen-hit:not(.kbgen-hit--all)")
    hits.first.wait_for()
    assert hits.count() == 1
    assert hits.first.locator(".kbgen-hit__version").inner_text() == "V3"
    assert "Also in V2" in hits.first.inner_text()

    page.goto(docs_site.url + "/v2/api/dial/")  # a reader of V2 gets V2's copy
    page.locator("#kbgen-header-q").press_sequentially("dial application", delay=15)
    hit = page.locator("form.kbgen-search--header .kbgen-hit:not(.kbgen-hit--all)").first
    hit.wait_for()
    assert hit.locator(".kbgen-hit__version").inner_text() == "V2"
    assert hit.get_attribute("data-href").endswith("/v2/api/dial/?h=dial+application")

    page.goto(docs_site.url + "/search/?q=dial")
    item = page.locator("[data-kbgen-list] .kbgen-hit").first
    item.wait_for()
    assert item.locator(".kbgen-hit__version").inner_text() == "V3"
    assert item.locator("a.kbgen-hit__title").get_attribute("href").endswith("/v3/api/dial/?h=dial")
    other = item.locator(".kbgen-hit__versions a")
    assert other.inner_text() == "V2" and other.get_attribute("href").endswith("/v2/api/dial/?h=dial")


def test_results_with_one_title_say_where_each_is(page, docs_site):
    page.goto(docs_site.url + "/setup/install/")
    page.locator("#kbgen-header-q").press_sequentially("nightly overview", delay=15)
    hits = page.locator("form.kbgen-search--header .kbgen-hit:not(.kbgen-hit--all)")
    hits.nth(1).wait_for()
    assert [hits.nth(n).locator(".kbgen-hit__title").inner_text() for n in range(2)] == ["Overview", "Overview"]
    assert sorted(hits.nth(n).locator(".kbgen-hit__place").inner_text() for n in range(2)) == ["Backups", "Monitoring"]
    assert axe_problems(page) == []  # the open list of results on a plain Material page

    page.goto(docs_site.url + "/search/?q=dial+application")
    assert page.locator("[data-kbgen-list] .kbgen-hit .kbgen-hit__place").first.inner_text() == "V3 \u203a Api"
    assert axe_problems(page) == []


def test_the_words_to_mark_are_only_text_and_a_site_without_the_feature_marks_nothing(page, docs_site, tmp_path):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(docs_site.url + "/setup/install/?h=" + "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E%20install%20(a%2B" * 3)
    marks = page.locator("article mark.kbgen-highlight")
    marks.first.wait_for()
    assert marks.all_inner_texts() == ["Installing", "installer"]
    assert page.locator('article img[src="x"]').count() == 0 and dialogs == []

    project = tmp_path / "plain"
    (project / "docs").mkdir(parents=True)
    (project / "mkdocs.yml").write_text(MKDOCS_YML.replace(", search.highlight", ""))
    (project / "docs" / "index.md").write_text(PAGES["setup/install.md"])
    result = run_kbgen("build", cwd=project, env={"KBGEN_INDEX_DIR": "", "KBGEN_SITE_DIR": ""})
    assert result.returncode == 0, result.stdout + result.stderr
    with LiveServer(create_app(project_settings(project, f"sqlite:///{tmp_path / 'db.sqlite'}"))) as server:
        page.goto(server.url + "/?h=install")
        page.locator("#kbgen-header-q").press_sequentially("firewall", delay=15)
        hit = page.locator("form.kbgen-search--header .kbgen-hit:not(.kbgen-hit--all)").first
        hit.wait_for()
        assert "?h=" not in hit.get_attribute("data-href")
        assert page.locator("article mark.kbgen-highlight").count() == 0


def test_searching_costs_little_to_download(page, docs_site):
    page.goto(docs_site.url + "/setup/install/")
    page.wait_for_load_state("load")
    sizes: list[int] = []
    page.on("requestfinished", lambda request: sizes.append(request.sizes()["responseBodySize"]))
    page.locator("#kbgen-header-q").press_sequentially("install", delay=15)
    page.locator("form.kbgen-search--header .kbgen-hit").first.wait_for()
    assert sizes and sum(sizes) < 50_000  # answers to the search, not an index downloaded into the browser
