"""Related articles, computed once per build from the articles themselves (no query per page view).

For each article, up to MAX_RELATED others: those of the same product first, then those of
other products; within each, by what they share, weighted: a tag counts most, then a word
of the title, then the words of the summary and the body (by how rare they are across the
site: "call" links nothing, "pjsip" does). An article sharing nothing is not related.

Words are the search's own terms (kbgen.search.analysis.terms: stemmed, stop words out), so
"recordings" and "recording" meet here as they do in a search.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Sequence

from kbgen.search.analysis import terms

__all__ = ["MAX_RELATED", "Candidate", "Related", "candidates_tags", "related_articles"]

MAX_RELATED = 5
TAG_WEIGHT = 3.0
TITLE_WEIGHT = 2.0
TOP_TERMS = 40  # an article is compared by its most telling words: the cost stays linear in the site's size
COMMON = 0.5  # a word in more than half of the articles tells nothing about any two of them
_CODE = re.compile(r"```.*?```|~~~.*?~~~", re.S)
_MARKUP = re.compile(r"\[([^\]]*)\]\([^)]*\)|<[^>]+>|\{[^}]*\}")


@dataclass(frozen=True)
class Candidate:
    """What an article brings to the comparison (the plugin makes one per writer's article)."""

    key: str  # its source path: content/kb/xcally/x.md -> "kb/xcally/x.md"
    url: str
    title: str
    product: str | None
    tags: tuple[str, ...] = ()
    summary: str = ""
    body: str = ""


@dataclass(frozen=True)
class Related:
    url: str
    title: str
    product: str | None
    same_product: bool


def _body_words(text: str) -> list[str]:
    return terms(_MARKUP.sub(r" \1 ", _CODE.sub(" ", text)))


def related_articles(articles: Sequence[Candidate], limit: int = MAX_RELATED) -> dict[str, list[Related]]:
    """For each article's key, its related articles, best first (see the module's docstring)."""
    count = len(articles)
    if count < 2:
        return {a.key: [] for a in articles}
    tags = [frozenset(t.strip().lower() for t in a.tags if t.strip()) for a in articles]
    titles = [frozenset(terms(a.title)) for a in articles]
    words = [Counter(_body_words(f"{a.summary}\n{a.body}")) for a in articles]
    frequency: Counter[str] = Counter()
    for counts in words:
        frequency.update(counts.keys())
    title_frequency: Counter[str] = Counter(t for title in titles for t in title)
    idf = {word: math.log(count / df) for word, df in frequency.items() if df <= COMMON * count and df > 1}

    # Each article's most telling words, as unit vectors: the dot product of two is their likeness (0 to 1).
    vectors: list[dict[str, float]] = []
    for counts in words:
        weighted = {w: (1 + math.log(n)) * idf[w] for w, n in counts.items() if w in idf}
        top = dict(sorted(weighted.items(), key=lambda item: (-item[1], item[0]))[:TOP_TERMS])
        norm = math.sqrt(sum(v * v for v in top.values())) or 1.0
        vectors.append({w: v / norm for w, v in top.items()})
    by_word: dict[str, list[int]] = defaultdict(list)
    by_tag: dict[str, list[int]] = defaultdict(list)
    by_title: dict[str, list[int]] = defaultdict(list)
    for index in range(count):
        for word in vectors[index]:
            by_word[word].append(index)
        for tag in tags[index]:
            by_tag[tag].append(index)
        for word in titles[index]:
            if title_frequency[word] <= COMMON * count:
                by_title[word].append(index)

    found: dict[str, list[Related]] = {}
    for index, article in enumerate(articles):
        scores: dict[int, float] = defaultdict(float)
        for word, weight in vectors[index].items():
            for other in by_word[word]:
                scores[other] += weight * vectors[other][word]
        for tag in tags[index]:
            for other in by_tag[tag]:
                scores[other] += TAG_WEIGHT
        for word in titles[index]:
            for other in by_title.get(word, ()):
                scores[other] += TITLE_WEIGHT
        scores.pop(index, None)
        ranked = sorted((other for other, score in scores.items() if score > 0), key=lambda other: (
            articles[other].product != article.product, -scores[other], articles[other].title.lower()))
        found[article.key] = [Related(articles[o].url, articles[o].title, articles[o].product,
                                      articles[o].product == article.product) for o in ranked[:limit]]
    return found


def candidates_tags(value: object) -> tuple[str, ...]:
    """Front matter `tags` as a tuple of strings (anything else: none)."""
    return tuple(str(t) for t in value if isinstance(t, (str, int))) if isinstance(value, list) else ()
