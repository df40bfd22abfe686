"""Answering a search: ranking pages, picking the section that answers, snippets, facets.

Pages are ranked with BM25F over title, headings, tags, summary and body; the best
matching section of each result page gives the deep link and the snippet. A query
with unknown words is corrected ("did you mean") and the corrected results are shown
too. Customer input never reaches Whoosh's query parser: words are analyzed like the
indexed text and queries are built from terms, so no input is a syntax error.
"""
from __future__ import annotations

import heapq
import json
import math
import re
from dataclasses import dataclass, field

from kbgen.settings import yes_or_no
from kbgen.site.catalog import ARTICLE_TYPES, PRODUCTS, find_product, find_type
from kbgen.search.analysis import is_stop, stem_word, terms, words
from kbgen.search.live import SearchIndex
from kbgen.search import names
from kbgen.search import versions as page_versions
from kbgen.search.ranking import Concept
from kbgen.search.rerank import rerank
from kbgen.search.snippets import make_snippet

MAX_QUERY_CHARS = 1000
MAX_TERMS = 24  # a pasted log line still gets an answer; only its first words count
MAX_LIMIT = 50
MAX_PAGE = 100
FEW = 3  # fewer results than this and a misspelled query gets its corrected results too
# A word this few pages use, next to one ten times commoner, is taken for a typo (often one the docs
# themselves made: "mesage" is on a page): it is corrected, and the corrected results come first.
RARE_PAGES = 2

SYNONYM_WEIGHT = 0.8
PREFIX_WEIGHT = 0.6
# The title bonus, coordination, the body's field weight (live.PAGE_FIELDS) and the section bonus (rerank.py)
# were last set together, by coordinate ascent over 13 constants on the tuning half and queries.yml (objective:
# MRR@10 + success@10); held-out MRR@10/success@10 0.737/0.87 -> 0.760/0.86 (tuning half 0.791/0.91 ->
# 0.807/0.92). The held-out half was read for one other candidate: MRR@10 alone optimised (also K1 1.6,
# b 0.65, folders 1.0, title parts 2.0) gave 0.768 but success@10 0.85: not taken.
TITLE_BONUS = 0.6
# Coordination: a page's score * (1 - COORDINATION + COORDINATION * share of the concepts it has).
# 0.5 until the folders and CamelCase titles counted; 0.3 then; 0.15 since the body weighs less (a customer's
# own words often include one that no answering page says).
COORDINATION = 0.15
# A page's folders naming the customer's words (kbgen.search.names): score * e^(PLACE_WEIGHT * share named);
# MRR@10 on the tuning half 0.75 -> 0.78. Tried 0.5-1.0 (0.7-1.0 alike); only the last 1-3 folders
# (worse: "Configuration/Interfaces/..." says something too); leaving out folder words that more than
# 5-40% of the pages have (worse); counting the page's own last address part as a folder (no better).
PLACE_WEIGHT = 0.7
IN_TITLE_WEIGHT = 0.3
PART_WEIGHT = 0.5  # res_pjsip's parts, when a page does not use the whole identifier
RERANK = 50  # the best pages whose sections are looked at to reorder them (kbgen.search.rerank)
# Tried for the customer's own words (paraphrases) and left out, figures on the tuning half / queries.yml:
# - general English words that say how much, where or when ("one after another", "whole", "inside")
#   counted at 0.1-0.5 in score and coordination: no better (0.750 -> 0.749-0.752 / 0.806 -> 0.817),
#   and fewer held-out queries answered in the top 10;
# - words no page has in a title or heading ("noisy", "abroad") counted at 0.3-0.7: worse everywhere;
# - a page-level bonus for the words in a page's headings (0.2-0.4): worse (0.791 -> 0.781-0.784);
# - capping a word's idf at that of a word 3-100 pages have: within +-0.005;
# - each word's commonest completions as alternatives ("play" -> playback) at 0.3-0.7: no better;
# - a built-in list of ~90 general telephony/support synonym groups ("meeting" ~ "conference",
#   "billing record" ~ "cdr") at 0.4-0.8: +0.01 / +0.02, but none on the held-out half's own words
#   (its paraphrases use other words than a general list foresees): synonyms.yml is the writers' place;
# - pseudo-relevance feedback (RM3-like: the 3-10 best pages' characteristic words, tf-idf from title, headings,
#   body or sections, added at 0.05-0.4, always or only when the best page lacks some word): ungated worse on
#   keywords; gated 0.791/0.91 -> 0.793-0.801/0.90-0.91, queries.yml 0.818/0.95 -> 0.81-0.83/0.93-0.95, no
#   paraphrase answer newly in the top 50 (the best pages of a missed paraphrase are off topic, so are their words).
# - anchor text (the words of links to a page) as a field: the corpus has 5,016 internal links to 2,134 pages,
#   most saying the linked page's title; no missed paraphrase's words are in the links to its answer;
# - global co-occurrence expansion (each word's 3-8 most associated words over the sections, NPMI, at 0.2-0.4):
#   paraphrases answered 0.62 -> 0.68 in the top 10 but MRR@10 flat (0.361 -> 0.357-0.360), queries.yml worse;
# - the best section's score fused with the page's (max-passage, added or multiplied at 0.2-1.0): worse everywhere;
# - a static embedding model shipped on PyPI (WordLlama, 256 dimensions) fused by reciprocal rank: paraphrases
#   0.361 -> 0.42, but every other kind worse (all 0.791 -> 0.737); gated to queries no page fully covers:
#   paraphrases 0.381, typos worse; its loader also fetches files from the network;
# - a section index page's folder name counted as its title ("Overview" pages): 0.791 -> 0.788, queries.yml +0.005;
# - a page's first 30 words as its summary when it has none (the lead often defines the page), weight 1-3:
#   tuning half 0.807 -> 0.806-0.810, paraphrases and queries.yml worse (0.830 -> 0.808-0.813).
WEAK_SHARE = 0.5  # the best result has fewer than this share of the searched words: "only weak matches"


# A question's own words: dropped from a query that starts like a question, when something else is left.
QUESTION_WORDS = frozenset("how what why where when which who can could is are does do should will".split())
QUESTION_FILLER = frozenset("someone somebody something anyone anybody anything way ways possible able "
                            "make use using".split())


class InvalidSearch(ValueError):
    """A parameter a client must fix; the message says which and how."""


@dataclass(frozen=True)
class SearchRequest:
    q: str
    product: str | None = None
    type: str | None = None
    limit: int = 10
    page: int = 1
    partial: bool = False  # typed so far: the last word may be unfinished (results as you type)
    version: str | None = None  # the reader's version: its copy of a versioned page is shown

    @classmethod
    def parse(cls, q: str | None, product: str | None = None, type: str | None = None,
              limit: str | int | None = None, page: str | int | None = None,
              partial: str | bool | None = None, version: str | None = None) -> "SearchRequest":
        if q is None or not q.strip():
            raise InvalidSearch("q is required: the words to search for, e.g. ?q=music+on+hold")
        if len(q) > MAX_QUERY_CHARS:
            raise InvalidSearch(f"q is too long ({len(q)} characters); send at most {MAX_QUERY_CHARS}")
        product_slug = type_slug = None
        if product:
            found = find_product(product)
            if found is None:
                raise InvalidSearch(f"unknown product '{product}'; use one of: "
                                    + ", ".join(p.slug for p in PRODUCTS))
            product_slug = found.slug
        if type:
            found_type = find_type(type)
            if found_type is None:
                raise InvalidSearch(f"unknown type '{type}'; use one of: "
                                    + ", ".join(t.slug for t in ARTICLE_TYPES))
            type_slug = found_type.slug
        if version is not None and len(version) > 100:
            raise InvalidSearch("version is too long; send one of the site's version labels, e.g. ?version=V3")
        return cls(q=q.strip(), product=product_slug, type=type_slug,
                   limit=_int_param("limit", limit, 10, 1, MAX_LIMIT),
                   page=_int_param("page", page, 1, 1, MAX_PAGE),
                   partial=bool(yes_or_no(partial)), version=(version or "").strip() or None)


def _int_param(name: str, value, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidSearch(f"{name} must be a whole number from {low} to {high}, not '{value}'") from None
    if not low <= number <= high:
        raise InvalidSearch(f"{name} must be from {low} to {high}, not {number}")
    return number


@dataclass
class Hit:
    url: str  # relative to the site root, with #anchor of the answering section
    title: str
    section: str | None
    snippet: str  # HTML: matched words in <mark>, everything else escaped
    product: str | None
    type: str | None
    version: str | None = None  # the version this copy of the page is in (the chip), None: not versioned
    versions: list[dict] = field(default_factory=list)  # the page's other versions: [{"label", "url"}]
    place: list[str] = field(default_factory=list)  # the navigation sections the page is in, outermost first


@dataclass
class SearchResponse:
    query: str
    total: int
    page: int
    limit: int
    results: list[Hit] = field(default_factory=list)
    suggestion: str | None = None
    facets: dict = field(default_factory=lambda: {"product": [], "type": []})
    terms: int = 0  # how many searchable words the query had (0: only common words)
    weak: bool = False  # results, but none has even half of the searched words

    def to_dict(self) -> dict:
        return {
            "query": self.query, "total": self.total, "page": self.page, "limit": self.limit,
            "results": [hit.__dict__ for hit in self.results],
            "suggestion": self.suggestion, "facets": self.facets, "weak": self.weak,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))


@dataclass
class _Plan:
    """One wording of the customer's search: what to look for, and the words to mark."""

    concepts: list[Concept]
    stems: set[str]
    prefixes: tuple[str, ...] = ()


def _plan(index: SearchIndex, text: str, partial: bool) -> _Plan | None:
    """The concepts of a query: each word, with the alternatives that may stand for it.

    An identifier's parts stand in for it at a lower weight (sip.conf -> sip, conf); two
    words written as one elsewhere join ("back up" -> backup, "voice mail" -> voicemail);
    a synonym group found in the query turns the words of its entry into one concept whose
    alternatives are the group's other entries; an unfinished last word (as you type)
    gets its likeliest completions.
    """
    tokens = words(text)[:MAX_TERMS]
    if len(tokens) > 2 and tokens[0] in QUESTION_WORDS:
        # "how do I make someone ...": in a question these words only carry the asking.
        kept = [t for t in tokens if t not in QUESTION_FILLER]
        if any(not is_stop(t) for t in kept):
            tokens = kept
    prefix = ""
    if partial and text and not text[-1].isspace() and tokens:
        if len(tokens[-1]) >= 2 and tokens[-1].isalnum():
            prefix = tokens[-1]
    concept_of: dict[str, int] = {}
    concepts: list[Concept] = []
    heads: list[str | None] = []  # per token, the term naming its concept (None: a common word)
    for token in tokens:
        analyzed = terms(token)
        if not analyzed:
            heads.append(None)
            continue
        head = analyzed[0]
        heads.append(head)
        if head in concept_of:
            continue
        concept_of[head] = len(concepts)
        members: Concept = [((head,), 1.0)]
        parts = tuple(dict.fromkeys(t for t in analyzed[1:] if t != head))
        if parts:
            members.append((parts, PART_WEIGHT / len(parts)))
        concepts.append(members)
    query_terms = [h for h in dict.fromkeys(heads) if h]
    if not query_terms and not prefix:
        return None
    stems = {t for concept in concepts for member, _ in concept for t in member}

    def merge(indexes: list[int], extra: Concept) -> int:
        indexes = sorted(set(indexes))
        merged = [member for i in indexes for member in concepts[i]] + extra
        for i in indexes[1:]:
            concepts[i] = []
        concepts[indexes[0]] = merged
        for term, i in list(concept_of.items()):
            if i in indexes:
                concept_of[term] = indexes[0]
        return indexes[0]

    for i in range(len(tokens) - 1):
        first, second = tokens[i], tokens[i + 1]
        if not (first.isalpha() and second.isalpha()) or heads[i] is None or heads[i + 1] is None:
            continue  # "up on" would join into "upon": common words never join
        joined = stem_word(first + second)
        if joined in concept_of or not index.pages.frequency(joined):
            continue
        pair = (heads[i], heads[i + 1])
        extra: Concept = [((joined,), SYNONYM_WEIGHT * 2), (pair, 1.0)]
        concept_of[joined] = merge([concept_of[pair[0]], concept_of[pair[1]]], extra)
        stems.add(joined)
    for source, alternatives in index.synonyms.expand(query_terms):
        # An alternative of another length is scaled (gently: its words may be commoner) to stand for the entry.
        extra = [(alternative, SYNONYM_WEIGHT * math.sqrt(len(source) / len(alternative)))
                 for alternative in alternatives]
        if len(source) > 1:
            extra.append((source, 1.0))  # all its words together, as well as each alone
        merge([concept_of[t] for t in source], extra)
        for alternative in alternatives:
            stems.update(alternative)
    if prefix:
        completions = [t for t in index.completions(prefix) if t not in stems]
        stems.update(completions)
        members = [((t,), PREFIX_WEIGHT) for t in completions]
        last = heads[-1]
        if last is not None and last in concept_of:
            concepts[concept_of[last]] += members
        elif members:
            concepts.append(members)
    return _Plan([c for c in concepts if c], stems, (prefix,) if prefix else ())


@dataclass
class _Matches:
    plan: _Plan
    scores: dict[int, float]  # every matching page docnum, before filters
    matched: dict[int, int]  # how many of the plan's concepts each page has


def _match(index: SearchIndex, plan: _Plan) -> _Matches:
    scores, matched = index.pages.score(plan.concepts)
    wanted = len(plan.concepts)
    if wanted > 1:
        # Coordination: a page about all the customer's words beats one repeating a single word.
        scores = {d: s * (1.0 - COORDINATION + COORDINATION * matched[d] / wanted) for d, s in scores.items()}
    # A title that says what the customer asked, and little else, is the page they want:
    # BM25F alone lets a long body's many mentions outweigh it. A CamelCase title names its words
    # too, and is as long as they are: "kick" is in ConfKick, but says half of it.
    lengths, parts_lengths = index.pages.lengths["title"], index.pages.lengths["title_parts"]
    for d, count in _count_concepts(plan, lambda member: _titled(index, member)).items():
        if d in scores:
            covered = count / wanted
            exact = min(1.0, count / max(lengths[d], parts_lengths[d], 1.0))
            scores[d] *= 1.0 + TITLE_BONUS * covered * (1.0 + exact)
    # The folders a page is in name its topic too (kbgen.search.names). With one word the title says
    # it better: every page in a folder of that name would rise alike, above the page named so.
    if wanted > 1:
        for d, count in _count_concepts(plan, lambda member: names.in_folders(index, member)).items():
            if d in scores:
                scores[d] *= math.exp(PLACE_WEIGHT * count / wanted)
    return _Matches(plan, scores, matched)


def _count_concepts(plan: _Plan, pages_having) -> dict[int, int]:
    """For each page having some concept (any alternative: all its terms), how many of the plan's concepts it has."""
    counts: dict[int, int] = {}
    for concept in plan.concepts:
        docs: set[int] = set()
        for member, _ in concept:
            docs |= pages_having(member)
        for d in docs:
            counts[d] = counts.get(d, 0) + 1
    return counts


def _allowed(index: SearchIndex, docnums, product: str | None, type_: str | None) -> set[int]:
    if product is None and type_ is None:
        return set(docnums)
    docs = index.docs
    return {d for d in docnums
            if (product is None or docs[d].product == product) and (type_ is None or docs[d].type == type_)}


def _ranked_pages(index: SearchIndex, matches: _Matches, allowed: set[int], skip: set[str],
                  count: int) -> tuple[int, list[list[int]]]:
    """(how many pages, the best `count` of them), a page being all its versions' copies, best first.

    The best RERANK copies are reordered by where the words meet inside them (rerank.py).
    """
    docs, copy_key = index.docs, index.copy_key
    if skip:
        allowed = {d for d in allowed if docs[d].version_key not in skip}
    # Pages, not copies: each copy of a versioned page beyond the first is not counted.
    shared = [copy_key[d] for d in allowed if d in copy_key] if copy_key else []
    total = len(allowed) - len(shared) + len(set(shared))
    if count <= 0 or not allowed:
        return total, []
    scores = matches.scores
    best = heapq.nlargest(max(RERANK, 2 * count), allowed, key=lambda d: (scores[d], -d))
    scores = rerank(index, matches.plan.concepts, scores, best[:RERANK])
    ranked = sorted(best, key=lambda d: (-scores[d], d))
    if len(best) < len(allowed) and len({copy_key.get(d, d) for d in ranked}) < count:
        ranked = sorted(allowed, key=lambda d: (-scores[d], d))  # copies crowd the best: look at every page
    pages: dict[object, list[int]] = {}
    for d in ranked:
        pages.setdefault(copy_key.get(d, d), []).append(d)
    top = list(pages.values())[:count]
    for copies in top:  # the page's other copies that match but ranked below the ones looked at
        if len(copies) == 1 and copies[0] in copy_key:
            copies.extend(d for d in index.copies[copy_key[copies[0]]] if d in allowed and d != copies[0])
    return total, top


def _facets(index: SearchIndex, matched, product: str | None, type_: str | None) -> dict:
    # Each facet counts the results of the other filter, so a chip shows what picking it would give;
    # a page in several versions counts once.
    docs = index.docs
    by_product: dict[str, set[str]] = {}
    by_type: dict[str, set[str]] = {}
    for d in matched:
        info = docs[d]
        if info.product and (type_ is None or info.type == type_):
            by_product.setdefault(info.product, set()).add(info.version_key)
        if info.type and (product is None or info.product == product):
            by_type.setdefault(info.type, set()).add(info.version_key)
    products = [{"value": p.slug, "label": p.name, "count": len(by_product[p.slug])}
                for p in PRODUCTS if by_product.get(p.slug)]
    # A type named like a product that picks the very same pages (License) would be the same chip twice.
    same = {p.name.lower(): by_product[p.slug] for p in PRODUCTS if by_product.get(p.slug)}
    types = [{"value": t.slug, "label": t.label, "count": len(by_type[t.slug])}
             for t in ARTICLE_TYPES if by_type.get(t.slug) and same.get(t.label.lower()) != by_type[t.slug]]
    return {"product": products, "type": types}


def _checked_words(text: str) -> list[str]:
    return [w for w in dict.fromkeys(words(text)) if w.isalpha() and len(w) >= 3 and not is_stop(w)]


def _suggest(index: SearchIndex, text: str) -> tuple[str | None, bool]:
    """(corrected query or None, whether some word is unknown to every page or taken for a typo)."""
    speller = index.speller
    replacements: dict[str, str] = {}
    unknown = False
    for word in _checked_words(text):
        if index.synonyms.knows(stem_word(word)):
            continue
        pages = index.pages.frequency(stem_word(word))
        if pages > RARE_PAGES:
            continue
        better = speller.correct(word)
        if better is not None and is_stop(better):
            better = None  # a word that means something never becomes one that is not even searched for
        if not pages:
            unknown = True
            if better:
                replacements[word] = better
        elif better and speller.frequency(better) >= 10 * max(speller.frequency(word), 1):
            # A word a few pages use (often a typo in the docs themselves) but far less than a close one:
            # its literal results are as much guesses as an unknown word's.
            replacements[word] = better
            unknown = True
    if not replacements:
        return None, unknown
    corrected = re.sub(r"\w+(?:[._]\w+)*",
                       lambda m: _keep_case(m.group(), replacements.get(m.group().lower())), text)
    return corrected, unknown


def _keep_case(original: str, replacement: str | None) -> str:
    if replacement is None:
        return original
    if original.isupper() and len(original) > 1:
        return replacement.upper()
    if original[:1].isupper():
        return replacement.capitalize()
    return replacement


def search(index: SearchIndex | None, request: SearchRequest) -> SearchResponse:
    response = SearchResponse(query=request.q, total=0, page=request.page, limit=request.limit)
    if index is None:
        return response
    plan = _plan(index, request.q, request.partial)
    if plan is None:
        return response
    response.terms = len(plan.stems)
    exact = _match(index, plan)
    runs = [exact]
    exact_total = len(_allowed(index, exact.scores, request.product, request.type))
    if exact_total < FEW or any(index.pages.frequency(stem_word(w)) <= RARE_PAGES
                                and not index.synonyms.knows(stem_word(w)) for w in _checked_words(request.q)):
        suggestion, unknown = _suggest(index, request.q)
        corrected_plan = _plan(index, suggestion, request.partial) if suggestion else None
        if corrected_plan is not None:
            corrected = _match(index, corrected_plan)
            # With an unknown (or rare, typo-like) word, the literal results are guesses from the other words:
            # corrected first.
            runs = [corrected, exact] if unknown else [exact, corrected]
            response.suggestion = suggestion

    matched_all: set[int] = set().union(*(run.scores.keys() for run in runs))
    response.facets = _facets(index, matched_all, request.product, request.type)
    preferred = page_versions.find_label(request.version, index.versions)
    wanted = request.page * request.limit
    order: list[tuple[int, _Matches]] = []
    seen: set[str] = set()  # pages (version keys) already listed by an earlier run
    for run in runs:
        allowed = _allowed(index, run.scores, request.product, request.type)
        count, pages = _ranked_pages(index, run, allowed, seen, wanted - len(order))
        response.total += count
        for copies in pages:
            order.append((page_versions.pick(copies, lambda d: index.docs[d].version, preferred, index.versions), run))
        seen.update(index.docs[d].version_key for d in allowed)
    page_hits = order[(request.page - 1) * request.limit: wanted]
    stems = set().union(*(run.plan.stems for run in runs))
    prefixes = tuple(p for run in runs for p in run.plan.prefixes)
    response.results = [_hit(index, docnum, run.plan, stems, prefixes) for docnum, run in page_hits]
    if order:
        best, run = order[0]
        response.weak = run.matched.get(best, 0) < WEAK_SHARE * len(run.plan.concepts)
    return response


def _hit(index: SearchIndex, docnum: int, plan: _Plan, stems: set[str], prefixes: tuple[str, ...]) -> Hit:
    info = index.docs[docnum]
    url, heading, text = info.url, None, ""
    sections = index.sections_of(info.path)
    if sections:
        # Words of the page's title say which page, not which part of it: the rest decides the section.
        titled = [any(_in_title(index, member, docnum) for member, _ in concept) for concept in plan.concepts]
        concepts = [[(member, weight * IN_TITLE_WEIGHT) for member, weight in concept] if in_title else concept
                    for concept, in_title in zip(plan.concepts, titled)]
        scores, _ = index.sections.score(concepts, sections)
        # When the title says everything that was asked, the answer is the page, from its top.
        best = sections[0] if all(titled) else max(sections, key=lambda d: (scores.get(d, 0.0), -d))
        section = index.section(best)
        if section.get("anchor") and scores.get(best, 0.0) > 0:
            url = f"{info.url}#{section['anchor']}"
            heading = section.get("heading") or None
        text = section.get("body") or ""
    snippet = make_snippet(text, stems, prefixes) if text else ""
    if "<mark>" not in snippet and info.summary:
        summary = make_snippet(info.summary, stems, prefixes)
        snippet = summary if ("<mark>" in summary or not snippet) else snippet
    others = [index.docs[d] for d in index.copies.get(info.version_key, ()) if d != docnum]
    order = {v.label: n for n, v in enumerate(index.versions)}
    others.sort(key=lambda other: (order.get(other.version, len(order)), other.version))
    return Hit(url=url, title=info.title, section=heading, snippet=snippet, product=info.product, type=info.type,
               version=info.version or None,
               versions=[{"label": other.version, "url": other.url} for other in others], place=list(info.place))


def _in_title(index: SearchIndex, member: tuple[str, ...], docnum: int) -> bool:
    return docnum in _titled(index, member)


def _titled(index: SearchIndex, member: tuple[str, ...]) -> frozenset[int]:
    """The pages whose title has every term of a member, as a word or inside a CamelCase name (ConfKick: kick)."""
    found: frozenset[int] | None = None
    for term in member:
        having = index.pages.in_field("title", term)
        parts = names.in_title_parts(index, term)
        if parts:
            having = having | parts
        found = having if found is None else found & having
    return found or frozenset()
