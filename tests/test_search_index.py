"""The search index on disk: building, swapping in atomically, incremental updates."""
from __future__ import annotations

import threading
from pathlib import Path

import markdown
import pytest

from kbgen.site.content import parse_article
from kbgen.search import store
from kbgen.search.indexer import IndexBuilder, PageRecord, update_pages
from kbgen.search.live import Indexes
from kbgen.search.query import SearchRequest, search
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


def build(index_dir: Path, records: list[PageRecord], synonyms: Path | None = None) -> None:
    builder = IndexBuilder(index_dir, synonyms)
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


def test_a_full_build_is_swapped_in_and_searchable(tmp_path, records):
    index_dir = tmp_path / "index"
    build(index_dir, records, CONTENT / "synonyms.yml")
    live = store.current(index_dir)
    assert live is not None and live.parent == index_dir
    assert urls(index_dir, "music on hold queue")[0] == "kb/xcally/how-to/configure-music-on-hold/"
    assert not list(index_dir.glob("tmp-*")), "the build's working folder became the live version"


def test_aborted_build_leaves_the_live_index_untouched(tmp_path, records):
    index_dir = tmp_path / "index"
    build(index_dir, records[:5])
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
    build(index_dir, records)
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
    build(index_dir, records)
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


def test_kbgen_preview_updates_an_edited_page_in_the_index(tmp_path):
    """The writer's loop: `kbgen preview` runs, an article is saved, the search finds the new words."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    from conftest import copy_project, free_port

    project = copy_project(tmp_path / "portal")
    index_dir = project / ".kbgen" / "index"
    port = free_port()
    env = {**os.environ, "KBGEN_INDEX_DIR": "", "NO_MKDOCS_2_WARNING": "1"}
    kbgen = Path(sys.executable).with_name("kbgen")
    preview = subprocess.Popen([str(kbgen), "preview", "-a", f"127.0.0.1:{port}"], cwd=project, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def wait_for(condition, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if preview.poll() is not None:
                pytest.fail(f"kbgen preview stopped: {preview.stderr.read()[-2000:]}")
            if condition():
                return
            time.sleep(0.2)
        pytest.fail(f"timed out waiting for {what}")

    def served() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                return True
        except OSError:
            return False

    try:
        wait_for(lambda: served() and store.current(index_dir) is not None, "the first build and its index")
        first = store.current(index_dir)
        article = project / "content" / "kb" / "xcally" / "troubleshooting" / "one-way-audio.md"
        time.sleep(1.1)  # a different modification time than the first build saw
        article.write_text(article.read_text(encoding="utf-8") + "\n## Quasarfrobnicate the codec\n\nNew step.\n",
                           encoding="utf-8")
        wait_for(lambda: store.current(index_dir) != first, "the index update after the edit")
        found = search(Indexes().get(index_dir), SearchRequest.parse("quasarfrobnicate"))
        assert [hit.url for hit in found.results] == [
            "kb/xcally/troubleshooting/one-way-audio/#quasarfrobnicate-the-codec"]
        assert urls(index_dir, "music on hold queue")[0] == "kb/xcally/how-to/configure-music-on-hold/"
    finally:
        preview.terminate()
        preview.wait(timeout=30)


def test_update_pages_of_many_pages_at_once(tmp_path, records):
    """A preview started over an existing index re-sends every page: that must stay correct."""
    index_dir = tmp_path / "index"
    build(index_dir, records)
    copies = [PageRecord(**{**r.__dict__, "path": f"copy/{n}.md", "url": f"copy/{n}/",
                            "html": r.html + f"<p>copyword{n}</p>"}) for n, r in enumerate(records * 2)][:60]
    update_pages(index_dir, copies, removed_paths=["kb/xcally/how-to/configure-music-on-hold.md"])
    assert urls(index_dir, "copyword59") == ["copy/59/"]
    assert "kb/xcally/how-to/configure-music-on-hold/" not in urls(index_dir, "music on hold", limit=50)
    assert urls(index_dir, "one-way audio")[0] == "kb/xcally/troubleshooting/one-way-audio/"


def test_concurrent_searches_get_the_same_answers_as_one_at_a_time(tmp_path, records):
    """The service answers from a thread pool: shared readers must not mix up their file positions."""
    index_dir = tmp_path / "index"
    build(index_dir, records)
    queries = ["music on hold", "one-way audio", "whatsapp template", "license expired", "forecast empty",
               "sip trunk registration", "camera microphone", "webhook signature", "backup restore",
               "tls certificate", "adherence alerts", "time zone", "recording retention", "firewall ports"]
    expected = {q: urls(index_dir, q) for q in queries}  # a separate Indexes: its own readers and caches
    indexes = Indexes()
    answers: dict[tuple[int, str], list[str]] = {}
    errors: list[BaseException] = []

    def customer(number: int) -> None:
        try:
            for q in queries[number % 3:] + queries[:number % 3]:
                found = search(indexes.get(index_dir), SearchRequest.parse(q))
                answers[(number, q)] = [hit.url.split("#")[0] for hit in found.results]
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    import sys

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    try:
        threads = [threading.Thread(target=customer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[0]
    assert all(answers[(n, q)] == expected[q] for n in range(8) for q in queries)


def test_the_compact_posting_pool_writes_the_same_index_as_whoosh_s_own(tmp_path, records):
    from whoosh import index as whoosh_index

    from kbgen.search.indexer import page_document, pages_schema
    from kbgen.search.pool import use_compact_pool

    postings = []
    for name, compact in (("whoosh", False), ("compact", True)):
        folder = tmp_path / name
        folder.mkdir()
        writer = whoosh_index.create_in(folder, pages_schema()).writer()
        if compact:
            use_compact_pool(writer)
        for r in records:
            writer.add_document(**page_document(r, split_sections(r.html)))
        writer.commit()
        with whoosh_index.open_dir(folder).reader() as reader:
            postings.append(list(reader.iter_postings()))
    assert postings[0] == postings[1] and len(postings[0]) > 10_000


def test_answers_stay_the_same_when_the_postings_cache_is_too_small_to_keep_them(tmp_path, records, monkeypatch):
    """Rankers keep scored postings up to a size: a tiny budget evicts all the time and changes no answer."""
    from kbgen.search import ranking

    index_dir = tmp_path / "index"
    build(index_dir, records)
    queries = ["music on hold", "sip trunk registration", "recording retention", "firewall ports", "license expired"]
    expected = {q: urls(index_dir, q) for q in queries}
    monkeypatch.setattr(ranking, "CACHE_BYTES", 64)
    indexes = Indexes()
    for q in queries + queries:
        found = search(indexes.get(index_dir), SearchRequest.parse(q))
        assert [hit.url.split("#")[0] for hit in found.results] == expected[q], q
    for ranker in (indexes.get(index_dir).pages, indexes.get(index_dir).sections):
        assert len(ranker._cache) == 1 or ranker._cached_bytes <= 64
