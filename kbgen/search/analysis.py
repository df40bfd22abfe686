"""How text becomes search terms, shared by the indexer, the query and the snippets.

One analyzer for every text field, so a query word is stemmed and filtered exactly
like the indexed words it must meet.
"""
from __future__ import annotations

import re
from functools import lru_cache

from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.analysis.filters import STOP_WORDS
from whoosh.lang.porter import stem

# Identifiers such as sip.conf, res_pjsip or 1.2.3 stay one token; their parts are added below.
TOKEN_PATTERN = r"\w+(?:[._]\w+)*"
_TOKEN = re.compile(TOKEN_PATTERN)

# Whoosh's list plus the words that make a customer's question a question ("how do I ...")
# and contraction stubs; they carry no meaning for ranking.
STOP = frozenset(STOP_WORDS | {
    "how", "do", "does", "did", "doing", "done", "what", "why", "where", "which", "who", "whom",
    "i", "me", "my", "our", "ours", "they", "them", "their", "there", "its", "was", "were", "been",
    "being", "so", "but", "than", "then", "these", "those", "has", "had", "would", "could",
    "should", "shall", "also", "just", "very", "into", "about", "doesn", "don", "isn", "won",
    "didn", "wasn", "aren", "cannot", "want", "need", "please", "help", "get", "got",
})


class SplitCompounds(Filter):
    """Also index the parts of res_pjsip or sip.conf, so 'pjsip' finds 'res_pjsip'."""

    def __call__(self, tokens):
        for token in tokens:
            text = token.text
            if "_" not in text and "." not in text:
                yield token
                continue
            parts = [p for p in re.split(r"[._]", text) if p]
            yield token  # the whole identifier first; the parts share its position
            for part in parts:
                token.text = part
                token.stopped = False
                yield token


def make_analyzer():
    # SplitCompounds runs before the stop filter so a part like "on" in "hold_on" is dropped.
    return (RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | SplitCompounds()
            | StopFilter(stoplist=STOP, minsize=2) | StemFilter(cachesize=-1))


ANALYZER = make_analyzer()


@lru_cache(maxsize=200_000)
def stem_word(word: str) -> str:
    return stem(word)


def terms(text: str) -> list[str]:
    """The stemmed terms of a text, in order, duplicates kept (the query's view of words)."""
    return [token.text for token in ANALYZER(text)]


def words(text: str) -> list[str]:
    """The lowercased words of a text as the customer typed them (for spelling and synonyms)."""
    return [w.lower() for w in _TOKEN.findall(text)]


def is_stop(word: str) -> bool:
    return word in STOP or len(word) < 2


def word_spans(text: str):
    """(start, end, stemmed term) of each word of a text, for marking matches in snippets."""
    for match in _TOKEN.finditer(text):
        word = match.group().lower()
        if is_stop(word):
            continue
        yield match.start(), match.end(), stem_word(word)
        if "_" in word or "." in word:
            offset = match.start()
            for part in re.finditer(r"[^._]+", word):
                if not is_stop(part.group()):
                    yield offset + part.start(), offset + part.end(), stem_word(part.group())
