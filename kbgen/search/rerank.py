"""Reordering the best pages of a search by where the query's words meet inside them.

BM25F sees a page as one bag of words: a page that says "queue" in one section and
"penalty" in another ranks like one whose section is about queue penalties. For the
best RERANK pages (where the answer almost always is), the sections are looked at:
a page whose title and one section together hold all the customer's words, or whose
title and one heading say them, moves up. Sections are the proximity kbgen can afford
without word positions; the title counts in every section, since it is what each
section is about (else long pages, with many sections to choose from, would win).
"""
from __future__ import annotations

SECTION_BONUS = 0.3  # title + one short section holding every searched word, against words scattered
HEADING_BONUS = 0.0  # title + one heading saying every searched word (tried 0.15-0.3: no better on the tuning half)
NEAR_WORDS = 50  # a section longer than this holds the words less close together: its count is scaled down


def rerank(index, concepts, scores: dict[int, float], candidates: list[int]) -> dict[int, float]:
    """New scores for candidates (the best pages, best first); others keep theirs.

    Only ever raises a score, so the reordered pages stay above the ones not looked at.
    """
    wanted = len(concepts)
    if wanted < 2 or not candidates or (SECTION_BONUS <= 0 and HEADING_BONUS <= 0):
        return scores
    adjusted = dict(scores)
    for docnum in candidates:
        titled = [any(all(docnum in index.pages.in_field("title", term) for term in member) for member, _ in concept)
                  for concept in concepts]
        rest = [concept for concept, in_title in zip(concepts, titled) if not in_title]
        if rest:
            sections = index.sections_of(index.docs[docnum].path)
            if not sections:
                continue
            lengths = index.sections.lengths["body"]
            near = max((_held(index, section, rest) * min(1.0, NEAR_WORDS / max(lengths[section], 1.0))
                        for section in sections), default=0.0)
            cover = (sum(titled) + near) / wanted
            heading = (sum(titled) + max(_held(index, s, rest, ("heading",)) for s in sections)) / wanted \
                if HEADING_BONUS > 0 else 0.0
        else:
            cover = heading = 1.0
        adjusted[docnum] = scores[docnum] * (1.0 + SECTION_BONUS * cover * cover + HEADING_BONUS * heading * heading)
    return adjusted


def _held(index, section: int, concepts, fields=("heading", "body")) -> int:
    """How many of the concepts a section has (any alternative, all its terms), from cached term sets."""
    in_field = index.sections.in_field
    return sum(1 for concept in concepts
               if any(all(any(section in in_field(name, term) for name in fields) for term in member)
                      for member, _ in concept))
