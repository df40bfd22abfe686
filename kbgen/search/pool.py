"""A compact posting pool for Whoosh's segment writer.

Whoosh keeps every posting of a segment being written as a tuple (field, term, docnum,
weight, value) of about 150 bytes, and sorts them all at commit; for the 2,463-page
corpus that is hundreds of megabytes, or, with a small pool, slow merges of sorted runs
from temporary files. This pool keeps each term's postings in one array of
(docnum, value id) pairs, about 8 bytes a posting, and sorts only the terms at commit.
It implements the three methods Whoosh's SegmentWriter calls on its pool.
"""
from __future__ import annotations

from array import array


class CompactPool:
    def __init__(self) -> None:
        self.fieldnames: set[str] = set()
        self._terms: dict[str, dict[bytes, array]] = {}
        self._value_ids: dict[tuple[float, bytes | None], int] = {}
        self._values: list[tuple[float, bytes | None]] = []

    def add(self, item: tuple) -> None:
        fieldname, tbytes, docnum, weight, vbytes = item
        field = self._terms.get(fieldname)
        if field is None:
            field = self._terms[fieldname] = {}
            self.fieldnames.add(fieldname)
        key = (weight, vbytes)
        value_id = self._value_ids.get(key)
        if value_id is None:
            value_id = self._value_ids[key] = len(self._values)
            self._values.append(key)
        postings = field.get(tbytes)
        if postings is None:
            postings = field[tbytes] = array("I")
        postings.append(docnum)
        postings.append(value_id)

    def iter_postings(self):
        """Every posting, sorted by field, term and document, as Whoosh's pool yields them."""
        values = self._values
        for fieldname in sorted(self._terms):
            field = self._terms[fieldname]
            for tbytes in sorted(field):
                postings = field[tbytes]
                pairs = list(zip(postings[::2], postings[1::2]))
                if any(a[0] > b[0] for a, b in zip(pairs, pairs[1:])):  # merged segments may interleave
                    pairs.sort()
                for docnum, value_id in pairs:
                    weight, vbytes = values[value_id]
                    yield fieldname, tbytes, docnum, weight, vbytes

    def cleanup(self) -> None:
        self._terms.clear()


def use_compact_pool(writer) -> None:
    """Give a fresh Whoosh SegmentWriter the compact pool (before any document is added)."""
    writer.pool.cleanup()
    writer.pool = CompactPool()
