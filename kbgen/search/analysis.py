"""How text becomes search terms, shared by the indexer, the query and the snippets.

One analysis for every text field, so a query word is stemmed and filtered exactly
like the indexed words it must meet: words (identifiers such as sip.conf or res_pjsip
stay whole, and their parts are added), lowercased, without stop words, Porter-stemmed.

`terms()` does it in a few regex calls and a dict of known stems; Whoosh's own
analyzer chain (ANALYZER, kept for Whoosh's field objects) gives the same terms but
costs several times more per word, which a build pays for millions of words.
"""
from __future__ import annotations

import re
from collections import Counter

from whoosh import formats
from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.analysis.filters import STOP_WORDS
from whoosh.fields import TEXT
from whoosh.lang.porter import stem
from whoosh.system import pack_uint

TOKEN_PATTERN = r"\w+(?:[._]\w+)*"
_TOKEN = re.compile(TOKEN_PATTERN)
_PARTS = re.compile(r"[^._]+")

# Whoosh's list plus the words that make a customer's question a question ("how do I ...")
# and contraction stubs; they carry no meaning for ranking.
STOP = frozenset(STOP_WORDS | {
    "how", "do", "does", "did", "doing", "done", "what", "why", "where", "which", "who", "whom",
    "i", "me", "my", "our", "ours", "they", "them", "their", "there", "its", "was", "were", "been",
    "being", "so", "but", "than", "then", "these", "those", "has", "had", "would", "could",
    "should", "shall", "also", "just", "very", "into", "about", "doesn", "don", "isn", "won",
    "didn", "wasn", "aren", "cannot", "want", "need", "please", "help", "get", "got",
})

_STEMS: dict[str, str] = {}  # words seen so far and their stems: a vocabulary, not a text
_MAX_STEMS = 300_000  # queries of random junk must not grow it forever


def stem_word(word: str) -> str:
    found = _STEMS.get(word)
    if found is None:
        if len(_STEMS) >= _MAX_STEMS:
            _STEMS.clear()
        found = _STEMS[word] = stem(word)
    return found


def is_stop(word: str) -> bool:
    return len(word) < 2 or word in STOP


def terms(text: str) -> list[str]:
    """The stemmed terms of a text, in order, duplicates kept."""
    found = []
    stems = _STEMS
    for token in _TOKEN.findall(text.lower()):
        pieces = (token, *_PARTS.findall(token)) if ("_" in token or "." in token) else (token,)
        for piece in pieces:
            if len(piece) < 2 or piece in STOP:
                continue
            term = stems.get(piece)
            found.append(term if term is not None else stem_word(piece))
    return found


def words(text: str) -> list[str]:
    """The lowercased words of a text as the customer typed them (for spelling and synonyms)."""
    return [w.lower() for w in _TOKEN.findall(text)]


def word_spans(text: str):
    """(start, end, stemmed term) of each word of a text, for marking matches in snippets."""
    for match in _TOKEN.finditer(text):
        word = match.group().lower()
        if not is_stop(word):
            yield match.start(), match.end(), stem_word(word)
        if "_" in word or "." in word:
            offset = match.start()
            for part in _PARTS.finditer(word):
                if not is_stop(part.group()):
                    yield offset + part.start(), offset + part.end(), stem_word(part.group())


class TermCounts(formats.Frequency):
    """Whoosh's frequency postings, counted with terms() instead of the analyzer chain."""

    def word_values(self, value, analyzer, **kwargs):
        boost = self.field_boost
        for term, count in Counter(terms(value)).items():
            yield term, count, count * boost, pack_uint(count)


def text_field(stored: bool = False) -> TEXT:
    """A searchable text field: term frequencies only (no positions: ranking is BM25F, not phrases)."""
    field = TEXT(analyzer=ANALYZER, stored=stored, phrase=False)
    field.format = TermCounts()
    return field


class SplitCompounds(Filter):
    """Also index the parts of res_pjsip or sip.conf, so 'pjsip' finds 'res_pjsip'."""

    def __call__(self, tokens):
        for token in tokens:
            text = token.text
            if "_" not in text and "." not in text:
                yield token
                continue
            parts = _PARTS.findall(text)
            yield token  # the whole identifier first; the parts share its position
            for part in parts:
                token.text = part
                token.stopped = False
                yield token


def make_analyzer():
    """The same analysis as terms(), as a Whoosh analyzer chain."""
    return (RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | SplitCompounds()
            | StopFilter(stoplist=STOP, minsize=2) | StemFilter(cachesize=-1))


ANALYZER = make_analyzer()
