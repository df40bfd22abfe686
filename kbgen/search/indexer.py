"""Building the search index from rendered pages: a whole build, or an edited page's update.

Every page becomes one document in the `pages` index (ranking and facets) and one
document per section in the `sections` index (which heading answers, and the snippet).

Indexing runs in the building process as MkDocs renders. Measured on the 2,463-page
corpus (2 cores): in-process it adds about 6 s of CPU to a ~180 s build and 25 MB of
memory; indexing processes beside MkDocs finished no sooner (the build waits for their
last sort and write) and cost 25 MB of interpreter each plus their postings. The
compact posting pool (pool.py) keeps the postings small and the final write fast.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.fields import ID, KEYWORD, STORED, Schema

from kbgen.site.catalog import find_product, find_type
from kbgen.search import store
from kbgen.search import synonyms as synonyms_file_format
from kbgen.search.analysis import camel_parts, text_field
from kbgen.search.pool import use_compact_pool
from kbgen.search.sections import Section, split_sections
from kbgen.search.versions import VERSIONS, Version
from kbgen.search.versions import to_json as versions_json

PAGES, SECTIONS, SYNONYMS = "pages", "sections", "synonyms.json"
MAX_PLACE = 6  # the innermost sections of a result's breadcrumbs that are kept
MAX_STORED_SECTION = 20_000  # characters of a section kept for snippets; all of it is searchable
_SPELL_WORD = re.compile(r"\b[a-z]{3,24}\b")


@dataclass
class PageRecord:
    url: str  # relative to site root, e.g. "kb/xcally/how-to/music-on-hold/" ("" for home)
    path: str  # source path relative to the docs dir
    title: str
    html: str  # the page's rendered body HTML
    product: str | None
    type: str | None
    tags: list[str] = field(default_factory=list)
    summary: str = ""
    version: str = ""  # the declared version this page is a copy in ("" : not versioned); see versions.py
    version_key: str = ""  # shared by a page's copies in every version ("" : its path)
    place: tuple[str, ...] = ()  # the navigation sections the page is in, outermost first (a result's breadcrumbs)


def pages_schema() -> Schema:
    return Schema(
        path=ID(stored=True, unique=True),
        url=STORED,
        title=text_field(stored=True, split_camel=False),
        title_parts=text_field(),  # the words inside the title's CamelCase names: ConfKick -> conf, kick
        headings=text_field(),
        tags=text_field(),
        summary=text_field(stored=True),
        body=text_field(),
        meta=text_field(),  # product name and type label: "xcally how-to"
        product=ID(stored=True),
        type=ID(stored=True),
        version=ID(stored=True),
        version_key=ID(stored=True),
        place=STORED,
        # The page's words as written, for "did you mean" (scorable: else Whoosh stats a file per posting).
        spell=KEYWORD(scorable=True),
    )


def sections_schema() -> Schema:
    return Schema(
        path=ID(stored=True),
        anchor=STORED,
        heading=text_field(stored=True),
        body=text_field(stored=True),
    )


def page_document(record: PageRecord, sections: list[Section]) -> dict:
    product = find_product(record.product)
    article_type = find_type(record.type)
    tags = " ".join(str(t).replace("-", " ") for t in record.tags)
    h1 = sections[0].heading if sections and sections[0].level == 1 else ""
    headings = " \n".join(s.heading for s in sections if s.heading and s.level > 1)
    body = " \n".join(s.text for s in sections)
    spell = set(_SPELL_WORD.findall(" ".join((record.title, h1, headings, body, tags, record.summary)).lower()))
    return {
        "path": record.path,
        "url": record.url,
        # The body's own <h1> counts as title too ("The asterisk.conf file" of "Asterisk Main Configuration File").
        "title": record.title if not h1 or h1.lower() == record.title.lower() else f"{record.title} \n{h1}",
        "_stored_title": record.title,
        "title_parts": camel_parts(f"{record.title} {h1}"),
        "headings": headings,
        "tags": tags,
        "summary": record.summary,
        "body": body,
        "meta": " ".join(x for x in (product.name if product else "", article_type.label if article_type else "",
                                     record.version) if x),
        "product": product.slug if product else "",
        "type": article_type.slug if article_type else "",
        "version": record.version,
        "version_key": record.version_key or record.path,
        "place": list(record.place[-MAX_PLACE:]),
        "spell": " ".join(sorted(spell)),
    }


def section_documents(record: PageRecord, sections: list[Section]) -> list[dict]:
    return [{"path": record.path, "anchor": s.anchor, "heading": s.heading,
             "body": s.text, "_stored_body": s.text[:MAX_STORED_SECTION]}
            for s in sections]


class _Writer:
    """The Whoosh writer of one of the two indexes (pages or sections) of a version folder."""

    def __init__(self, folder: Path, kind: str, create: bool):
        self.kind = kind
        if create:
            (folder / kind).mkdir(parents=True, exist_ok=True)
            whoosh_index.create_in(folder / kind, pages_schema() if kind == PAGES else sections_schema())
        self.writer = whoosh_index.open_dir(folder / kind).writer()
        use_compact_pool(self.writer)

    def delete(self, path: str) -> None:
        self.writer.delete_by_term("path", path)

    def add(self, record: PageRecord, sections: list[Section]) -> None:
        if self.kind == PAGES:
            self.writer.add_document(**page_document(record, sections))
        else:
            for section in section_documents(record, sections):
                self.writer.add_document(**section)

    def commit(self) -> None:
        self.writer.commit()

    def cancel(self) -> None:
        with contextlib.suppress(Exception):  # already committed or closed: nothing left to undo
            self.writer.cancel()


def _write_synonyms(folder: Path, synonyms_file: Path | None) -> None:
    (folder / SYNONYMS).write_text(synonyms_file_format.load(synonyms_file).to_json(), encoding="utf-8")


def _write_versions(folder: Path, versions: tuple[Version, ...] | None) -> None:
    if versions is not None:
        (folder / VERSIONS).write_text(versions_json(versions), encoding="utf-8")


class IndexBuilder:
    """A full build: add() every page while MkDocs renders, then finish() swaps the index in."""

    def __init__(self, index_dir: Path, synonyms_file: Path | None = None, versions: tuple[Version, ...] = ()):
        started = time.perf_counter()
        self.index_dir = Path(index_dir)
        self.seconds = 0.0  # spent indexing in this process (the build's cost of search)
        self.pages = 0
        self._folder = store.new_workdir(self.index_dir)
        self._writers: list[_Writer] = []
        try:
            _write_synonyms(self._folder, synonyms_file)  # a bad synonyms file fails the build early
            _write_versions(self._folder, versions)
            self._writers = [_Writer(self._folder, kind, create=True) for kind in (PAGES, SECTIONS)]
        except BaseException:
            self.abort()
            raise
        finally:
            self.seconds += time.perf_counter() - started

    def add(self, record: PageRecord) -> None:
        if not self._writers:
            raise RuntimeError("IndexBuilder.add() after finish() or abort()")
        started = time.perf_counter()
        sections = split_sections(record.html)
        for writer in self._writers:
            writer.add(record, sections)
        self.pages += 1
        self.seconds += time.perf_counter() - started

    def finish(self) -> None:
        if not self._writers:
            raise RuntimeError("IndexBuilder.finish() called twice or after abort()")
        started = time.perf_counter()
        try:
            for writer in self._writers:
                writer.commit()
            self._writers = []
            with store.locked(self.index_dir):
                store.publish(self.index_dir, self._folder)
        except BaseException:
            self.abort()
            raise
        finally:
            self.seconds += time.perf_counter() - started

    def abort(self) -> None:
        """Drop the half-built index; the live one stays untouched."""
        for writer in self._writers:
            writer.cancel()
        self._writers = []
        store.discard(self._folder)


def is_current(index_dir: Path) -> bool:
    """Whether the live index exists and was written with this kbgen's fields (else only a full build will do)."""
    live = store.current(Path(index_dir))
    if live is None:
        return False
    try:
        return set(whoosh_index.open_dir(live / PAGES).schema.names()) == set(pages_schema().names())
    except Exception:  # noqa: BLE001 - unreadable: a full build replaces it
        return False


def update_pages(index_dir: Path, records: list[PageRecord], removed_paths=(),
                 synonyms_file: Path | None = None, versions: tuple[Version, ...] | None = None) -> None:
    """Replace some pages' entries (an edit during `kbgen preview`) without a full reindex.

    The live version is copied with hard links (Whoosh never rewrites a file, it adds
    new ones), updated, and swapped in like a full build, so readers never see a
    half-updated index.
    """
    index_dir = Path(index_dir)
    if store.current(index_dir) is None:  # nothing to update yet: these pages are the index
        builder = IndexBuilder(index_dir, synonyms_file, versions or ())
        for record in records:
            builder.add(record)
        builder.finish()
        return
    with store.locked(index_dir):
        live = store.current(index_dir)
        folder = store.new_workdir(index_dir)
        try:
            shutil.copytree(live, folder, dirs_exist_ok=True, copy_function=os.link,
                            ignore=shutil.ignore_patterns("*LOCK*"))
            if synonyms_file is not None:
                _write_synonyms(folder, synonyms_file)
            _write_versions(folder, versions)
            paths = list(dict.fromkeys([*removed_paths, *(r.path for r in records)]))
            sections = [split_sections(r.html) for r in records]
            for kind in (PAGES, SECTIONS):
                writer = _Writer(folder, kind, create=False)
                try:
                    for path in paths:
                        writer.delete(path)
                    for record, parts in zip(records, sections):
                        writer.add(record, parts)
                    writer.commit()
                except BaseException:
                    writer.cancel()
                    raise
            store.publish(index_dir, folder)
        except BaseException:
            store.discard(folder)
            raise
