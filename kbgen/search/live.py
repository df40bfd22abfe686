"""The live index as the service sees it: the version CURRENT points to, opened once.

`INDEXES.get(index_dir)` checks the pointer on every call (one stat) and opens a new
version when a build or an edit swapped one in; requests already running keep the
SearchIndex they started with. Everything derived from one version (rankers, term
caches, page details, the speller) lives on its SearchIndex and goes with it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.reading import TermNotFound

from kbgen.search import store
from kbgen.search import versions as page_versions
from kbgen.search.indexer import PAGES, SECTIONS, SYNONYMS
from kbgen.search.ranking import Ranker
from kbgen.search.spelling import Speller
from kbgen.search.synonyms import Synonyms

# BM25F field weights of the pages index: a word in the title says more than one in the body
# (body 1.0 until set with query.py's title bonus and coordination).
PAGE_FIELDS = {"title": 6.0, "title_parts": 3.0, "tags": 3.0, "headings": 2.5, "summary": 2.0, "meta": 1.0,
               "body": 0.7}
SECTION_FIELDS = {"heading": 3.0, "body": 1.0}
PREFIX_EXPANSIONS = 8


@dataclass(frozen=True)
class _PageInfo:
    path: str
    url: str
    title: str
    summary: str
    product: str | None
    type: str | None
    version: str = ""  # "" : not a versioned page
    version_key: str = ""  # shared by the page's copies in every version
    place: tuple[str, ...] = ()  # the navigation sections it is in, outermost first


class SearchIndex:
    """One opened index version: its rankers, page details and speller, shared by all threads."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.pages_index = whoosh_index.open_dir(folder / PAGES)
        self.sections_index = whoosh_index.open_dir(folder / SECTIONS)
        synonyms_file = folder / SYNONYMS
        self.synonyms = Synonyms.from_json(synonyms_file.read_text()) if synonyms_file.exists() else Synonyms()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._speller: Speller | None = None
        # The rankers share these readers (they lock around reading); other reads use a reader per thread.
        self.pages_reader = self.pages_index.reader()
        self.sections_reader = self.sections_index.reader()
        self.pages = Ranker(self.pages_reader, PAGE_FIELDS)
        self.sections = Ranker(self.sections_reader, SECTION_FIELDS)
        self.versions = page_versions.load(folder)  # declared in mkdocs.yml, preferred first
        self.docs: dict[int, _PageInfo] = {}
        self.copies: dict[str, list[int]] = {}  # version key -> the page's copies (only keys with several)
        for docnum, stored in self.pages_reader.iter_docs():
            info = _PageInfo(stored["path"], stored.get("url", ""), stored.get("title", ""),
                             stored.get("summary", ""), stored.get("product") or None,
                             stored.get("type") or None, stored.get("version") or "",
                             stored.get("version_key") or stored["path"], tuple(stored.get("place") or ()))
            self.docs[docnum] = info
            if info.version:
                self.copies.setdefault(info.version_key, []).append(docnum)
        self.copies = {key: found for key, found in self.copies.items() if len(found) > 1}
        self.copy_key = {d: key for key, found in self.copies.items() for d in found}  # docnum -> its page's key
        self._sections_of: dict[str, list[int]] = {}

    def sections_of(self, path: str) -> list[int]:
        found = self._sections_of.get(path)
        if found is None:
            try:
                found = sorted(self._reader("sections").postings("path", path).all_ids())
            except TermNotFound:
                found = []
            self._sections_of[path] = found
        return found

    def section(self, docnum: int) -> dict:
        return self._reader("sections").stored_fields(docnum)

    def _reader(self, which: str):
        # Whoosh readers keep a file position per matcher, so each thread opens its own.
        reader = getattr(self._local, which, None)
        if reader is None:
            reader = (self.pages_index if which == "pages" else self.sections_index).reader()
            setattr(self._local, which, reader)
        return reader

    @property
    def speller(self) -> Speller:
        if self._speller is None:
            with self._lock:
                if self._speller is None:
                    frequencies = {}
                    for text, info in self._reader("pages").iter_field("spell"):
                        word = text.decode("utf-8") if isinstance(text, bytes) else text
                        frequencies[word] = info.doc_frequency()
                    self._speller = Speller(frequencies)
        return self._speller

    def completions(self, prefix: str) -> list[str]:
        """The most used indexed terms an unfinished word may become.

        Terms are stems, so "configurati" (typed on the way to "configuration") must also
        find the shorter stem "configur" it already contains.
        """
        reader = self._reader("pages")
        found: set[str] = set()
        for name in ("title", "body"):
            for n, raw in enumerate(reader.expand_prefix(name, prefix)):
                if n >= 200:
                    break
                found.add(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
        for end in range(len(prefix) - 1, max(2, len(prefix) - 5), -1):
            if reader.doc_frequency("body", prefix[:end]) or reader.doc_frequency("title", prefix[:end]):
                found.add(prefix[:end])
                break

        def used(term: str) -> int:  # from the term dictionary: no postings read
            return reader.doc_frequency("body", term) + reader.doc_frequency("title", term)

        return sorted(found, key=lambda t: (-used(t), t))[:PREFIX_EXPANSIONS]


class Indexes:
    """The live index of each index dir, reopened when a build swaps in a new version."""

    def __init__(self):
        self._open: dict[Path, tuple[object, SearchIndex | None]] = {}
        self._lock = threading.Lock()

    def get(self, index_dir: Path) -> SearchIndex | None:
        stamp = store.pointer_stamp(index_dir)
        entry = self._open.get(index_dir)
        if entry is not None and entry[0] == stamp:
            return entry[1]
        with self._lock:
            entry = self._open.get(index_dir)
            if entry is not None and entry[0] == stamp:
                return entry[1]
            folder = store.current(index_dir)
            index = SearchIndex(folder) if folder is not None else None
            if index is not None:
                # The first misspelled query should not pay for building the speller's tables.
                threading.Thread(target=lambda: index.speller.warm(), name="kbgen-speller", daemon=True).start()
            # Requests still running keep their reference to the old SearchIndex and finish on it.
            self._open[index_dir] = (stamp, index)
            return index


INDEXES = Indexes()
