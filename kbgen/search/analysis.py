"""How text becomes search terms, shared by the indexer, the query and the snippets.

One analysis for every text field, so a query word is stemmed and filtered exactly
like the indexed words it must meet: words (identifiers such as sip.conf or res_pjsip
stay whole, and their parts are added; so do the words of a CamelCase name such as
ConfKick or AddQueueMember, which API references are full of and customers type as
"kick" or "add queue member"), lowercased, without stop words, Porter-stemmed.

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
_CAMEL_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def _camel(token: str) -> bool:
    """ConfKick, MeetMeAdmin, WebRTC: a name made of capitalised words (not "Hello", "PJSIP", "pjsip")."""
    return not token.islower() and not token.isupper() and not token.istitle() and token.isalnum()

# Whoosh's list plus the words that make a customer's question a question ("how do I ...")
# and contraction stubs, with or without the apostrophe ("doesn't", "doesnt"); they carry no
# meaning for ranking, and are never "corrected" (a "cant" is not a misspelled "can").
STOP = frozenset(STOP_WORDS | {
    "how", "do", "does", "did", "doing", "done", "what", "why", "where", "which", "who", "whom",
    "i", "me", "my", "our", "ours", "they", "them", "their", "there", "its", "was", "were", "been",
    "being", "so", "but", "than", "then", "these", "those", "has", "had", "would", "could",
    "should", "shall", "also", "just", "very", "into", "about", "doesn", "don", "isn", "won",
    "didn", "wasn", "aren", "cannot", "want", "need", "please", "help", "get", "got",
    "cant", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "couldnt", "shouldnt",
    "wouldnt", "hasnt", "havent", "hadnt", "aint", "mustnt", "couldn", "shouldn", "wouldn", "hasn", "haven",
    "hadn", "weren",
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


def terms(text: str, split_camel: bool = True) -> list[str]:
    """The stemmed terms of a text, in order, duplicates kept.

    split_camel=False keeps a CamelCase name whole (titles: a page titled MeetMe is about
    MeetMe, MeetmeEnd is not; their parts go to a field of their own, see camel_parts)."""
    found = []
    stems = _STEMS
    for token in _TOKEN.findall(text):
        if token.islower():
            pieces = (token, *_PARTS.findall(token)) if ("_" in token or "." in token) else (token,)
        else:
            lower = token.lower()
            if "_" in token or "." in token:
                pieces = (lower, *_PARTS.findall(lower))
            elif split_camel and _camel(token):
                pieces = (lower, *(part.lower() for part in _CAMEL_PARTS.findall(token)))
            else:
                pieces = (lower,)
        for piece in pieces:
            if len(piece) < 2 or piece in STOP:
                continue
            term = stems.get(piece)
            found.append(term if term is not None else stem_word(piece))
    return found


def camel_parts(text: str) -> str:
    """The words inside the CamelCase names of a text ("ConfKick now" -> "Conf Kick")."""
    return " ".join(part for token in _TOKEN.findall(text) if _camel(token) for part in _CAMEL_PARTS.findall(token))


def words(text: str) -> list[str]:
    """The lowercased words of a text as the customer typed them (for spelling and synonyms)."""
    return [w.lower() for w in _TOKEN.findall(text)]


def word_spans(text: str):
    """(start, end, stemmed term) of each word of a text, for marking matches in snippets."""
    for match in _TOKEN.finditer(text):
        word = match.group().lower()
        if not is_stop(word):
            yield match.start(), match.end(), stem_word(word)
        parts = _PARTS if ("_" in word or "." in word) else _CAMEL_PARTS if _camel(match.group()) else None
        if parts is not None:
            offset = match.start()
            for part in parts.finditer(match.group() if parts is _CAMEL_PARTS else word):
                piece = part.group().lower()
                if not is_stop(piece):
                    yield offset + part.start(), offset + part.end(), stem_word(piece)


class TermCounts(formats.Frequency):
    """Whoosh's frequency postings, counted with terms() instead of the analyzer chain."""

    def __init__(self, split_camel: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.split_camel = split_camel

    def word_values(self, value, analyzer, **kwargs):
        boost = self.field_boost
        for term, count in Counter(terms(value, self.split_camel)).items():
            yield term, count, count * boost, pack_uint(count)


def text_field(stored: bool = False, split_camel: bool = True) -> TEXT:
    """A searchable text field: term frequencies only (no positions: ranking is BM25F, not phrases)."""
    field = TEXT(analyzer=ANALYZER, stored=stored, phrase=False)
    field.format = TermCounts(split_camel)
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
