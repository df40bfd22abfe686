"""Warming the live index when the service starts, so the first customer's search is as fast as the rest.

Opening an index version reads every page's stored fields and field lengths, the speller
builds its tables, and the first query reads postings and sections: about a second on a
busy machine, paid by whoever searches first. The service does it in a thread at start
(kbgen/web/app.py); a search arriving meanwhile waits for the same opened index.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from kbgen.search.live import INDEXES, Indexes, SearchIndex
from kbgen.search.query import SearchRequest, search

log = logging.getLogger("kbgen.search")
COMMON_TERMS = 300  # the longest postings ("call", "channel"), read once here rather than by a customer's search


def warm(index_dir: Path, indexes: Indexes = INDEXES) -> SearchIndex | None:
    """Open the live index, read the commonest words' postings, run each kind of search once."""
    index = indexes.get(Path(index_dir))
    if index is None:
        return None
    index.speller.warm()
    for _, term in index.pages_reader.most_frequent_terms("body", COMMON_TERMS):
        index.pages.postings(term.decode("utf-8") if isinstance(term, bytes) else term)
    words = next((info.title for info in index.docs.values() if info.title), "search")
    for request in (SearchRequest.parse(words), SearchRequest.parse(words[:4], partial=True),
                    SearchRequest.parse(words + " zzqx")):
        search(index, request)
    return index


def start(index_dir: Path) -> threading.Thread:
    """warm() in a daemon thread; the service answers meanwhile."""

    def run() -> None:
        try:
            warm(index_dir)
        except Exception:  # noqa: BLE001 - a search will open the index again and report what is wrong
            log.exception("could not warm the search index in %s", index_dir)

    thread = threading.Thread(target=run, name="kbgen-search-warm", daemon=True)
    thread.start()
    return thread
