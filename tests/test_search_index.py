"""The search index on disk: building, swapping in atomically, incremental updates."""
from __future__ import annotations

import threading
from pathlib import Path

import markdown
import pytest

from kbgen.content import parse_article
from kbgen.search import store
from kbgen.search.indexer import IndexBuilder, PageRecord, update_pages
from kbgen.search.query import Indexes, SearchRequest, search
from kbgen.search.sections import split_sections
from kbgen.search.synonyms import SynonymsError

REPO = Path(__file__).resolve().parent.parent
CONTENT = REPO / "content"


def record(path: str, text: str) -> PageRecord:
    """A page as the plugin hands it over: rendered body HTML with heading anchors, front matter fields."""
    article = parse_article(path, text)
    html = markdown.markdown(article.body, extensions=["toc", "attr_list", "admonition", "tables", "fenced_code"])
    url = path[:-3].removesuffix("index") + ("/" if not path.endswith("index.md") else "")
    tags = article.meta.get("tags") or []
    return PageRecord(url=url, path=path, title=article.title, html=html, product=article.product,
                      type=article.type, tags=[str(t) for t in tags], summary=str(article.meta.get("summary") or ""))


def demo_records() -> list[PageRecord]:
    return [record(p.relative_to(CONTENT).as_posix(), p.read_text(encoding="utf-8"))
            for p in sorted(CONTENT.rglob("*.md"))]


def build(index_dir: Path, records: list[PageRecord], synonyms: Path | None = None, background: bool = True) -> None:
    builder = IndexBuilder(index_dir, synonyms, background=background)
    for r in records:
        builder.add(r)
    builder.finish()


def urls(index_dir: Path, q: str, **params) -> list[str]:
    found = search(Indexes().get(index_dir), SearchRequest.parse(q, **params))
    return [hit.url.split("#")[0] for hit in found.results]


@pytest.fixture(scope="module")
def records() -> list[PageRecord]:
    return demo_records()


def test_sections_split_at_h2_and_h3_with_anchors_and_plain_text():
    html = markdown.markdown("Intro with `res_pjsip`.\n\n## Open the *RTP* range\n\nUDP 10000-20000.\n\n"
                             "### Edge firewall\n\nForward it.\n\n```\n<script>alert(1)</script>\n```\n",
                             extensions=["toc", "fenced_code"])
    sections = split_sections(html)
    assert [(s.anchor, s.heading) for s in sections] == [
        ("", ""), ("open-the-rtp-range", "Open the RTP range"), ("edge-firewall", "Edge firewall")]
    assert sections[0].text == "Intro with res_pjsip."
    assert sections[2].text == "Forward it. <script>alert(1)</script>"  # code is text to search, not markup


def test_full_build_in_background_processes_is_searchable(tmp_path, records):
    index_dir = tmp_path / "index"
    build(index_dir, records, CONTENT / "synonyms.yml")
    live = store.current(index_dir)
    assert live is not None and live.parent == index_dir
    assert urls(index_dir, "music on hold queue")[0] == "kb/xcally/how-to/configure-music-on-hold/"
    assert not list(index_dir.glob("tmp-*")), "the build's working folder became the live version"


def test_aborted_build_leaves_the_live_index_untouched(tmp_path, records):
    index_dir = tmp_path / "index"
    build(index_dir, records[:5], background=False)
    live = store.current(index_dir)
    builder = IndexBuilder(index_dir)
    builder.add(records[5])
    builder.abort()
    assert store.current(index_dir) == live
    assert not list(index_dir.glob("tmp-*"))


def test_a_bad_synonyms_file_fails_early_naming_the_line(tmp_path):
    synonyms = tmp_path / "synonyms.yml"
    synonyms.write_text("- [hold music, music on hold]\n- [moh]\n")
    with pytest.raises(SynonymsError, match=r"synonyms.yml:2: a group needs at least two"):
        IndexBuilder(tmp_path / "index", synonyms)
    synonyms.write_text("- [hold music, the]\n")
    with pytest.raises(SynonymsError, match=r"synonyms.yml:1: 'the' has no searchable word"):
        IndexBuilder(tmp_path / "index", synonyms)
    assert store.current(tmp_path / "index") is None


def test_update_pages_replaces_one_page_without_a_full_reindex(tmp_path, records):
    index_dir = tmp_path / "index"
    build(index_dir, records, background=False)
    before = store.current(index_dir)
    target = next(r for r in records if r.path.endswith("configure-music-on-hold.md"))
    edited = PageRecord(**{**target.__dict__, "title": "Configure the zanzibar melody for a voice queue",
                           "html": "<p>Upload a zanzibar melody file.</p>"})
    update_pages(index_dir, [edited])
    assert store.current(index_dir) != before, "the update was swapped in as a new version"
    assert urls(index_dir, "zanzibar melody") == ["kb/xcally/how-to/configure-music-on-hold/"]
    assert urls(index_dir, "ringback sox") == []  # words only the old text had
    assert urls(index_dir, "one-way audio")[0] == "kb/xcally/troubleshooting/one-way-audio/"  # others untouched

    update_pages(index_dir, [], removed_paths=[target.path])
    assert urls(index_dir, "zanzibar melody") == []


def test_update_pages_creates_the_index_when_there_is_none(tmp_path, records):
    update_pages(tmp_path / "index", records[:3])
    assert store.current(tmp_path / "index") is not None


def test_queries_keep_answering_while_a_new_index_is_built_and_swapped_in(tmp_path, records):
    index_dir = tmp_path / "index"
    build(index_dir, records, background=False)
    indexes = Indexes()  # one service's view of the index dir
    errors: list[BaseException] = []
    answered: list[int] = []
    stop = threading.Event()

    def customer() -> None:
        while not stop.is_set():
            try:
                found = search(indexes.get(index_dir), SearchRequest.parse("one-way audio"))
                answered.append(found.total)
            except BaseException as exc:  # noqa: BLE001 - collected and reported by the test
                errors.append(exc)
                return

    threads = [threading.Thread(target=customer) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        versions = set()
        for _ in range(3):
            build(index_dir, records)
            versions.add(store.current(index_dir))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors, errors[0]
    assert len(versions) == 3
    assert answered and all(total > 0 for total in answered), "every query during the rebuilds found the page"
    assert len([p for p in index_dir.glob("v-*")]) <= 1 + store.KEEP_OLD, "old versions are cleaned up"
