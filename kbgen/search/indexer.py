"""Building the search index from rendered pages: a whole build, or an edited page's update.

Every page becomes one document in the `pages` index (ranking and facets) and one
document per section in the `sections` index (which heading answers, and the snippet).
A full build feeds the pages to a separate indexing process while MkDocs renders
the next ones, so the build takes little longer than rendering alone.
"""
from __future__ import annotations

import json
import os
import pickle
import queue
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema

from kbgen.catalog import find_product, find_type
from kbgen.search import store
from kbgen.search import synonyms as synonyms_file_format
from kbgen.search.analysis import ANALYZER
from kbgen.search.sections import Section, split_sections

PAGES, SECTIONS, SYNONYMS = "pages", "sections", "synonyms.json"
BACKGROUND_UPDATE = 50  # pages in one update_pages() call from which the indexing processes take over
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


def pages_schema() -> Schema:
    return Schema(
        path=ID(stored=True, unique=True),
        url=STORED,
        title=TEXT(analyzer=ANALYZER, stored=True),
        headings=TEXT(analyzer=ANALYZER),
        tags=TEXT(analyzer=ANALYZER),
        summary=TEXT(analyzer=ANALYZER, stored=True),
        body=TEXT(analyzer=ANALYZER),
        meta=TEXT(analyzer=ANALYZER, phrase=False),  # product name and type label: "xcally how-to"
        product=ID(stored=True),
        type=ID(stored=True),
        spell=KEYWORD(scorable=True),  # the page's words as written, for "did you mean" (scorable: Whoosh stats a file per posting otherwise)
    )


def sections_schema() -> Schema:
    return Schema(
        path=ID(stored=True),
        anchor=STORED,
        heading=TEXT(analyzer=ANALYZER, stored=True),
        body=TEXT(analyzer=ANALYZER, stored=True, phrase=False),
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
        "headings": headings,
        "tags": tags,
        "summary": record.summary,
        "body": body,
        "meta": " ".join(x for x in (product.name if product else "", article_type.label if article_type else "") if x),
        "product": product.slug if product else "",
        "type": article_type.slug if article_type else "",
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
        # A big pool: a whole build's postings stay in memory and are sorted once at commit.
        self.writer = whoosh_index.open_dir(folder / kind).writer(limitmb=512)
        self.count = 0

    def delete(self, path: str) -> None:
        self.writer.delete_by_term("path", path)

    def add(self, record: PageRecord) -> None:
        sections = split_sections(record.html)
        if self.kind == PAGES:
            self.writer.add_document(**page_document(record, sections))
        else:
            for section in section_documents(record, sections):
                self.writer.add_document(**section)
        self.count += 1

    def commit(self) -> None:
        self.writer.commit()

    def cancel(self) -> None:
        self.writer.cancel()


def _write_synonyms(folder: Path, synonyms_file: Path | None) -> None:
    (folder / SYNONYMS).write_text(synonyms_file_format.load(synonyms_file).to_json(), encoding="utf-8")


class _Worker:
    """One indexing process (see index_worker.py), fed by a thread so add() never waits for it."""

    def __init__(self, folder: Path, kind: str, mode: str = "create"):
        self.kind = kind
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kbgen.search.index_worker", str(folder), kind, mode],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.feeder = threading.Thread(target=self._feed, name=f"kbgen-index-{kind}-feeder", daemon=True)
        self.feeder.start()

    def _feed(self) -> None:
        pipe = self.process.stdin
        try:
            while True:
                item = self.queue.get()
                if item is None:
                    pipe.write(struct.pack("!I", 0))
                    break
                pipe.write(struct.pack("!I", len(item)) + item)
            pipe.close()
        except (BrokenPipeError, ValueError):
            pass  # the process died; result() reports why

    def send(self, data: bytes | None) -> None:
        self.queue.put(data)

    def result(self) -> tuple[bool, str]:
        self.feeder.join()
        line = self.process.stdout.readline()
        code = self.process.wait()
        try:
            report = json.loads(line)
        except ValueError:
            return False, f"the {self.kind} indexing process ended unexpectedly (exit code {code})"
        return bool(report.get("ok")), report.get("error", "")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.queue.put(None)


class IndexBuilder:
    """A full build: add() every page while MkDocs renders, then finish() swaps the index in.

    Two indexing processes, one per index, run beside MkDocs: rendering uses one core,
    they use the other while pages arrive, and both cores for the final sort and write.
    """

    def __init__(self, index_dir: Path, synonyms_file: Path | None = None, *, background: bool = True):
        started = time.perf_counter()
        self.index_dir = Path(index_dir)
        self.seconds = 0.0
        self.pages = 0
        self._folder = store.new_workdir(self.index_dir)
        self._workers: list[_Worker] = []
        self._writers: list[_Writer] = []
        self._open = True
        try:
            _write_synonyms(self._folder, synonyms_file)  # a bad synonyms file fails the build early
            if background:
                self._workers = [_Worker(self._folder, kind) for kind in (PAGES, SECTIONS)]
            else:
                self._writers = [_Writer(self._folder, kind, create=True) for kind in (PAGES, SECTIONS)]
        except BaseException:
            self.abort()
            raise
        finally:
            self.seconds += time.perf_counter() - started

    def add(self, record: PageRecord) -> None:
        if not self._open:
            raise RuntimeError("IndexBuilder.add() after finish() or abort()")
        started = time.perf_counter()
        if self._workers:
            data = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
            for worker in self._workers:
                worker.send(data)
        for writer in self._writers:
            writer.add(record)
        self.pages += 1
        self.seconds += time.perf_counter() - started

    def finish(self) -> None:
        if not self._open:
            raise RuntimeError("IndexBuilder.finish() called twice or after abort()")
        started = time.perf_counter()
        try:
            for worker in self._workers:
                worker.send(None)
            failures = [detail for ok, detail in (w.result() for w in self._workers) if not ok]
            if failures:
                raise RuntimeError(f"building the search index in {self._folder} failed:\n" + "\n".join(map(str, failures)))
            for writer in self._writers:
                writer.commit()
            with store.locked(self.index_dir):
                store.publish(self.index_dir, self._folder)
        except BaseException:
            self.abort()
            raise
        finally:
            self._open = False
            self._workers, self._writers = [], []
            self.seconds += time.perf_counter() - started

    def abort(self) -> None:
        """Drop the half-built index; the live one stays untouched."""
        for worker in self._workers:
            worker.kill()
        for writer in self._writers:
            writer.cancel()
        self._workers, self._writers = [], []
        self._open = False
        store.discard(self._folder)


def update_pages(index_dir: Path, records: list[PageRecord], removed_paths=(),
                 synonyms_file: Path | None = None) -> None:
    """Replace some pages' entries (an edit during `kbgen preview`) without a full reindex.

    The live version is copied with hard links (Whoosh never rewrites a file, it adds
    new ones), updated, and swapped in like a full build, so readers never see a
    half-updated index.
    """
    index_dir = Path(index_dir)
    if store.current(index_dir) is None:  # nothing to update yet: these pages are the index
        builder = IndexBuilder(index_dir, synonyms_file, background=len(records) >= BACKGROUND_UPDATE)
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
            removed = [p for p in dict.fromkeys(removed_paths) if p not in {r.path for r in records}]
            if len(records) >= BACKGROUND_UPDATE:
                _update_in_workers(folder, records, removed)
            else:
                for kind in (PAGES, SECTIONS):
                    _update_here(folder, kind, records, removed)
            store.publish(index_dir, folder)
        except BaseException:
            store.discard(folder)
            raise


def _update_here(folder: Path, kind: str, records: list[PageRecord], removed: list[str]) -> None:
    writer = _Writer(folder, kind, create=False)
    try:
        for path in [*removed, *(r.path for r in records)]:
            writer.delete(path)
        for record in records:
            writer.add(record)
        writer.commit()
    except BaseException:
        writer.cancel()
        raise


def _update_in_workers(folder: Path, records: list[PageRecord], removed: list[str]) -> None:
    """Many pages at once (a preview's first build over an existing index): both indexes in parallel."""
    workers = [_Worker(folder, kind, mode="update") for kind in (PAGES, SECTIONS)]
    try:
        items = [pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL) for item in [*removed, *records]]
        for worker in workers:
            for data in items:
                worker.send(data)
            worker.send(None)
        failures = [detail for ok, detail in (w.result() for w in workers) if not ok]
    except BaseException:
        for worker in workers:
            worker.kill()
        raise
    if failures:
        raise RuntimeError(f"updating the search index in {folder} failed:\n" + "\n".join(failures))
