"""Reordering the best pages of a search by where the query's words meet inside them.

BM25F sees a page as one bag of words: a page that says "queue" in one section and
"penalty" in another ranks like one whose section is about queue penalties. For the
best RERANK pages (where the answer almost always is), the sections are looked at:
a page whose title and one section together hold all the customer's words moves up. Sections are the proximity kbgen can afford
without word positions; the title counts in every section, since it is what each
section is about (else long pages, with many sections to choose from, would win).
"""
from __future__ import annotations

from bisect import bisect_left

SECTION_BONUS = 0.2  # (0.3 until set with the title bonus, see query.py) title + one short section holding every searched word, against words scattered
NEAR_WORDS = 50  # a section longer than this holds the words less close together: its count is scaled down
# Tried and left out: a bonus for title + one heading saying every word (0.15-0.3: no better on the tuning half);
# weighing sections by the searched words' importance (no better); favouring pages of fewer sections,
# score * (most sections / its sections)^0.05-0.2 (tuning half better, queries.yml worse).


def rerank(index, concepts, scores: dict[int, float], candidates: list[int]) -> dict[int, float]:
    """New scores for candidates (the best pages, best first); others keep theirs.

    Only ever raises a score, so the reordered pages stay above the ones not looked at.
    """
    wanted = len(concepts)
    if wanted < 2 or not candidates or SECTION_BONUS <= 0:
        return scores
    in_title = index.pages.in_field
    sections_of = {docnum: index.sections_of(index.docs[docnum].path) for docnum in candidates}
    holders = _holders(index.sections, concepts, {s for found in sections_of.values() for s in found})
    lengths = index.sections.lengths["body"]
    adjusted = dict(scores)
    for docnum in candidates:
        titled = [any(all(docnum in in_title("title", term) for term in member) for member, _ in concept)
                  for concept in concepts]
        rest = [held for held, in_title in zip(holders, titled) if not in_title]
        if rest:
            sections = sections_of[docnum]
            if not sections:
                continue
            near = max(sum(section in held for held in rest) * min(1.0, NEAR_WORDS / max(lengths[section], 1.0))
                       for section in sections)
            cover = (sum(titled) + near) / wanted
        else:
            cover = 1.0
        adjusted[docnum] = scores[docnum] * (1.0 + SECTION_BONUS * cover * cover)
    return adjusted


def _holders(ranker, concepts, among: set[int]) -> list[set[int]]:
    """For each concept, the sections of `among` that have it (any alternative, all its terms, in a heading
    or the body: the section ranker's fields), from the term postings the ranker caches anyway."""
    having: dict[str, set[int]] = {}

    def sections_with(term: str) -> set[int]:
        found = having.get(term)
        if found is None:
            ids = ranker.postings(term)[0]
            if len(ids) <= len(among):
                found = among.intersection(ids)
            else:  # a common word: look up the few candidate sections instead of walking its postings
                found = set()
                for section in among:
                    i = bisect_left(ids, section)
                    if i < len(ids) and ids[i] == section:
                        found.add(section)
            having[term] = found
        return found

    def holding(member: tuple[str, ...]) -> set[int]:  # (no terms: a member every section holds)
        return set.intersection(*(sections_with(term) for term in member)) if member else among

    return [set().union(*(holding(member) for member, _ in concept)) for concept in concepts]
