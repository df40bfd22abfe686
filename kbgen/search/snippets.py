"""Snippets: a short passage of a section around the query's words, safe to insert as HTML.

Everything is escaped; the only markup added is <mark> around the words that match
(any form with the same stem, or the unfinished word typed so far).
"""
from __future__ import annotations

import html
import re
from functools import lru_cache

from kbgen.search.analysis import word_spans

SNIPPET_CHARS = 180
SNIPPET_SCAN = 20_000  # characters of a section looked at


def make_snippet(text: str, stems: set[str], prefixes: tuple[str, ...] = (), width: int = SNIPPET_CHARS) -> str:
    """About `width` characters of text around the most query words, matches in <mark>, all else escaped."""
    scan = text[:SNIPPET_SCAN]
    spans = _matches(scan, frozenset(stems), tuple(prefixes))
    if not spans:
        cut = _cut(scan, 0, width)
        return html.escape(scan[:cut]) + ("…" if cut < len(text) else "")
    # The window starting at a match that holds the most distinct matched terms (two pointers).
    best_first, best_score = 0, -1
    counts: dict[str, int] = {}
    right = 0
    for left, (start, _, _) in enumerate(spans):
        while right < len(spans) and spans[right][1] <= start + width:
            counts[spans[right][2]] = counts.get(spans[right][2], 0) + 1
            right += 1
        if len(counts) > best_score:
            best_first, best_score = left, len(counts)
        term = spans[left][2]
        counts[term] -= 1
        if not counts[term]:
            del counts[term]
    begin = _back_to_word(scan, max(0, spans[best_first][0] - width // 4))
    end = _cut(scan, begin, width)
    parts = ["…" if begin > 0 else ""]
    position = begin
    for start, stop, _ in spans:
        if start < begin or stop > end:
            continue
        parts.append(html.escape(scan[position:start]))
        parts.append("<mark>" + html.escape(scan[start:stop]) + "</mark>")
        position = stop
    parts.append(html.escape(scan[position:end]))
    if end < len(text):
        parts.append("…")
    return "".join(parts).strip()


@lru_cache(maxsize=512)
def _finder(stems: frozenset[str], prefixes: tuple[str, ...]) -> re.Pattern | None:
    """A regex for the words that may be forms of the query's terms.

    Stems are mostly prefixes of their words ("configur" of "configuration"); Porter's
    y -> i is the usual exception ("polici" of "policy"). Candidates are checked by
    stemming them, so the regex only has to be generous, and scanning stays in C.
    """
    starts = {s[:-1] if len(s) > 3 and s.endswith("i") else s for s in stems} | set(prefixes)
    starts = {s for s in starts if s}
    if not starts:
        return None
    alternatives = "|".join(re.escape(s) for s in sorted(starts, key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])(?:{alternatives})(?:[._]?[^\W_])*", re.I)


def _matches(scan: str, stems: frozenset[str], prefixes: tuple[str, ...]) -> list[tuple[int, int, str]]:
    finder = _finder(stems, prefixes)
    if finder is None:
        return []
    spans = []
    for match in finder.finditer(scan):
        word = match.group().lower()
        for start, stop, term in word_spans(word):  # the word, or its parts when it is an identifier
            if term in stems or any(word[start:stop].startswith(p) for p in prefixes):
                spans.append((match.start() + start, match.start() + stop, term))
                break
    return spans


def _back_to_word(text: str, index: int) -> int:
    """Move a cut point back to the start of the word it falls in."""
    if index <= 0:
        return 0
    space = text.rfind(" ", 0, index)
    return space + 1 if space >= 0 and index - space < 30 else index


def _cut(text: str, begin: int, width: int) -> int:
    end = begin + width
    if end >= len(text):
        return len(text)
    space = text.rfind(" ", begin, end)
    return space if space > begin else end
