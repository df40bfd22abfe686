"""Versioned copies of a page (Motion V2 and V3, Asterisk 18 and Certified 18.9): one result per
page, a chip saying its version, the reader's version preferred, the others as links."""
from __future__ import annotations

import pytest

from kbgen.search.indexer import IndexBuilder, PageRecord
from kbgen.search.live import Indexes
from kbgen.search.query import SearchRequest, search
from kbgen.search.versions import Version, VersionsError, page_version, parse_versions

VERSIONS = parse_versions([{"label": "V3", "prefix": "wiki/v3/"}, {"label": "V2", "prefix": "wiki/v2"}])


def record(path: str, title: str, text: str, front_matter_version=None) -> PageRecord:
    version, key = page_version(path, title, front_matter_version, VERSIONS)
    return PageRecord(url=path.removesuffix(".md") + "/", path=path, title=title,
                      html=f"<h1>{title}</h1><p>{text}</p><h2 id='steps'>Steps</h2><p>{text}</p>",
                      product=None, type=None, version=version, version_key=key)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("versioned-index")
    builder = IndexBuilder(folder, versions=VERSIONS)
    for item in [
        record("wiki/v3/queues/penalties.md", "Queue member penalties", "Agents with a lower penalty get calls first."),
        record("wiki/v2/queues/penalties.md", "Queue member penalties", "Agents with a lower penalty ring first."),
        record("wiki/v3/queues/strategies.md", "Ring strategies", "How a queue rings its agents: penalty aside."),
        record("wiki/v2/queues/strategies.md", "Ring strategies", "How a queue rings its agents: penalty aside."),
        record("kb/penalty-faq.md", "Penalty questions", "Why agents with a penalty wait for calls."),
        # Pages naming their version only in their front matter: copies of one page by their title.
        record("notes/penalty-notes-2023.md", "Penalty notes", "Penalties for the older release.", "V2"),
        record("notes/penalty-notes.md", "Penalty notes", "Penalties for the newer release.", "v3"),
    ]:
        builder.add(item)
    builder.finish()
    return Indexes().get(folder)


def ask(index, q: str, **params):
    return search(index, SearchRequest.parse(q, **params))


def test_each_page_is_one_result_with_its_other_versions_as_links(index):
    found = ask(index, "queue penalties")
    urls = [hit.url.split("#")[0] for hit in found.results]
    assert len(urls) == len(set(urls))
    titles = [hit.title for hit in found.results]
    assert titles.count("Queue member penalties") == 1 and titles.count("Ring strategies") == 1
    assert found.total == 4  # four pages, whatever their copies
    top = found.results[0]
    assert top.title == "Queue member penalties"
    assert top.versions == [{"label": "V2", "url": "wiki/v2/queues/penalties/"}]
    notes = next(hit for hit in ask(index, "penalty notes").results if hit.title == "Penalty notes")
    assert notes.version == "V3" and notes.versions == [{"label": "V2", "url": "notes/penalty-notes-2023/"}]


def test_a_result_shows_its_version_and_an_unversioned_page_none(index):
    hits = {hit.title: hit for hit in ask(index, "penalty").results}
    assert hits["Queue member penalties"].version == "V3"  # the first declared version, with no reader's version
    assert hits["Penalty questions"].version is None and hits["Penalty questions"].versions == []
    assert ask(index, "penalty").to_dict()["results"][0]["version"] in {"V3", None}


def test_the_readers_version_is_preferred(index):
    top = ask(index, "queue member penalties", version="v2").results[0]  # any case
    assert top.url.startswith("wiki/v2/queues/penalties/") and top.version == "V2"
    assert [v["label"] for v in top.versions] == ["V3"]
    # A version the page has no copy in, or one the site never declared: the preferred order decides.
    assert ask(index, "queue member penalties", version="V9").results[0].version == "V3"


def test_facets_and_totals_count_pages_not_copies(index):
    found = ask(index, "strategies")
    assert found.total == 1 and len(found.results) == 1


def test_versions_are_declared_with_a_label_and_an_optional_prefix():
    assert parse_versions(["V3", {"label": "V2", "prefix": "/v2"}]) == (Version("V3", ""), Version("V2", "v2/"))
    assert page_version("v2/a.md", "A", None, parse_versions([{"label": "V2", "prefix": "v2/"}])) == ("V2", "path:a.md")
    assert page_version("a.md", "A", None, ()) == ("", "path:a.md")
    with pytest.raises(VersionsError, match="used twice"):
        parse_versions(["V3", "v3"])
    with pytest.raises(VersionsError, match="unknown key"):
        parse_versions([{"label": "V3", "path": "v3/"}])
    with pytest.raises(VersionsError, match="label"):
        parse_versions([{"prefix": "v3/"}])
