"""BM25F scoring over a Whoosh index, term at a time, with each term's scores cached.

Whoosh's generic matchers score every posting of every field through several layers of
Python objects: tens of milliseconds for an ordinary three-word query on the 2,463-page
corpus. Here a term's postings in all weighted fields are read once per index version,
combined into one BM25F score per document (the "impact") and kept; a query then adds
up a few arrays. Field weights and length normalisation are the usual BM25F ones
(Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond").
"""
from __future__ import annotations

import math
import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict

from whoosh.reading import TermNotFound

K1 = 1.2
B = 0.75
CACHE_BYTES = 32 * 1024 * 1024  # per ranker: each term's scored postings (the 2,463-page corpus's queries keep ~2 MiB)


class Ranker:
    """Scores the documents of one opened Whoosh reader for weighted fields."""

    def __init__(self, reader, fields: dict[str, float], cache_terms: int = 3000, cache_bytes: int | None = None):
        self.reader = reader
        self.fields = fields
        self.total = reader.doc_count_all()
        self.live = max(reader.doc_count(), 1)
        self.deleted = set(reader.all_doc_ids()) ^ set(range(self.total)) if reader.has_deletions() else set()
        self.lengths = {name: array("f", (reader.doc_field_length(d, name, 0) or 0 for d in range(self.total)))
                        for name in fields}
        self.average = {name: (sum(values) / self.live) or 1.0 for name, values in self.lengths.items()}
        self._cache: OrderedDict[str, tuple[array, array]] = OrderedDict()
        self._fields_cache: OrderedDict[str, frozenset[int]] = OrderedDict()
        self._cache_terms = cache_terms
        # Postings are kept up to a size, not a count: a common word's run over many sections is long.
        self._cache_bytes, self._cached_bytes = CACHE_BYTES if cache_bytes is None else cache_bytes, 0
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()

    def postings(self, term: str) -> tuple[array, array]:
        """(sorted docnums, BM25F score of each) for one analyzed term."""
        cached = self._cache.get(term)
        if cached is not None:
            return cached
        combined: dict[int, float] = {}
        # Whoosh matchers seek and read the reader's shared files: one thread reads at a time.
        with self._read_lock:
            for name, weight in self.fields.items():
                average, lengths = self.average[name], self.lengths[name]
                for docnum, frequency in _read_postings(self.reader, name, term):
                    norm = 1.0 - B + B * lengths[docnum] / average
                    combined[docnum] = combined.get(docnum, 0.0) + weight * frequency / norm
        for docnum in self.deleted.intersection(combined):
            del combined[docnum]
        count = len(combined)
        idf = math.log(1.0 + (self.live - count + 0.5) / (count + 0.5))
        docnums = array("i", sorted(combined))
        scores = array("f", (idf * (K1 + 1) * combined[d] / (K1 + combined[d]) for d in docnums))
        with self._lock:
            if term not in self._cache:
                self._cache[term] = (docnums, scores)
                self._cached_bytes += _size(docnums, scores)
            while self._cached_bytes > self._cache_bytes and len(self._cache) > 1:
                self._cached_bytes -= _size(*self._cache.popitem(last=False)[1])
        return docnums, scores

    def in_field(self, fieldname: str, term: str) -> frozenset[int]:
        """The documents having a term in one field (e.g. in their title)."""
        key = f"{fieldname}\x00{term}"
        cached = self._fields_cache.get(key)
        if cached is None:
            with self._read_lock:
                cached = frozenset(d for d, _ in _read_postings(self.reader, fieldname, term)) - self.deleted
            with self._lock:
                self._fields_cache[key] = cached
                while len(self._fields_cache) > self._cache_terms:
                    self._fields_cache.popitem(last=False)
        return cached

    def frequency(self, term: str) -> int:
        return len(self.postings(term)[0])

    def score(self, concepts: list[Concept], docnums: list[int] | None = None) -> tuple[dict[int, float], dict[int, int]]:
        """(score, number of concepts matched) per document, for all matching documents or the given ones.

        A concept is one thing the customer asked for: a word, or a phrase with the
        synonyms and completions that may stand for it. Its score in a document is that
        of its best-matching alternative, so a page using both "moh" and "music on hold"
        does not count the same idea twice.
        """
        totals: dict[int, float] = {}
        matched: dict[int, int] = {}
        for concept in concepts:
            best: dict[int, float] = {}
            for terms, weight in concept:
                member: dict[int, float] = {}
                for term in terms:
                    ids, scores = self.postings(term)
                    if docnums is None:
                        for docnum, score in zip(ids, scores):
                            member[docnum] = member.get(docnum, 0.0) + score
                    elif ids:
                        for docnum in docnums:
                            i = bisect_left(ids, docnum)
                            if i < len(ids) and ids[i] == docnum:
                                member[docnum] = member.get(docnum, 0.0) + scores[i]
                for docnum, score in member.items():
                    score *= weight
                    if score > best.get(docnum, 0.0):
                        best[docnum] = score
            for docnum, score in best.items():
                totals[docnum] = totals.get(docnum, 0.0) + score
                matched[docnum] = matched.get(docnum, 0) + 1
        return totals, matched


def _size(docnums: array, scores: array) -> int:
    return docnums.itemsize * len(docnums) + scores.itemsize * len(scores)


# A concept: alternatives, each (its analyzed terms, weight); see Ranker.score.
Concept = list[tuple[tuple[str, ...], float]]


def _read_postings(reader, fieldname: str, term: str):
    """(docnum, frequency) pairs of a term in a field, reading Whoosh's posting blocks whole."""
    for leaf, offset in reader.leaf_readers():
        try:
            matcher = leaf.postings(fieldname, term)
        except TermNotFound:
            continue
        read_ids = getattr(matcher, "_read_ids", None)
        if read_ids is None:  # not a plain on-disk matcher (e.g. deletions filter): the slow, general way
            while matcher.is_active():
                yield matcher.id() + offset, matcher.weight()
                matcher.next()
            continue
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            ids, weights = matcher._ids, matcher._weights
            if offset:
                yield from ((i + offset, w) for i, w in zip(ids, weights))
            else:
                yield from zip(ids, weights)
            matcher._next_block()
