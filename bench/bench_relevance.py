"""Search relevance on the corpus: kbgen's index against material's own search.

Two query sets: queries.yml (118, the older set kbgen's ranking was tuned on) and
split.yml (357, written later before either engine ran on them; each query is in the
`tune` half, where ranking changes may be tried, or the `heldout` half, only reported).

The baseline is what a visitor of a plain material site gets: lunr (the `lunr` Python
port of lunr.js) over the site's search/search_index.json, set up and queried the way
material's search worker does it (title boost 1000, tags 10^6, no length normalisation,
every query word a prefix query, +1 for whole pages and for matching all words, results
grouped by page). kbgen is queried through the same function the service uses.

    python bench/bench_relevance.py --plain-site DIR --index DIR   # alone; prints the markdown section
    make bench                                                       # as a section of bench/results.md
"""
from __future__ import annotations

import argparse
import fnmatch
import html
import json
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
QUERIES = HERE / "relevance" / "queries.yml"
SPLIT_QUERIES = HERE / "relevance" / "split.yml"
SPLITS = ("tune", "heldout")
sys.path.insert(0, str(REPO))

KINDS = {"keyword": "keywords", "question": "questions", "other": "other words", "typo": "typos"}
DEPTH = 10


@dataclass
class Context:  # what run() needs of bench/run.py's context, for running alone
    plain_site: Path
    kbgen_index: Path
    workdir: Path | None = None


@dataclass(frozen=True)
class Query:
    q: str
    kind: str
    answers: tuple[str, ...]
    split: str = ""  # "tune" or "heldout" in split.yml; "" in the older queries.yml

    def answered_by(self, url: str) -> bool:
        return any(fnmatch.fnmatchcase(url, pattern) for pattern in self.answers)


def load_queries(path: Path = QUERIES, split: str | None = None) -> list[Query]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    queries = [Query(item["q"], item["kind"], tuple(item["answers"]), item.get("split", ""))
               for item in data["queries"]]
    unknown = {q.kind for q in queries} - set(KINDS)
    if unknown:
        raise SystemExit(f"{path}: unknown kind(s) {sorted(unknown)}; use one of {', '.join(KINDS)}")
    return [q for q in queries if split is None or q.split == split]


# -- kbgen ----------------------------------------------------------------------------

def kbgen_engine(index_dir: Path):
    from kbgen.search.live import Indexes
    from kbgen.search.query import SearchRequest, search

    index = Indexes().get(Path(index_dir))
    if index is None:
        raise SystemExit(f"{index_dir}: no search index (run kbgen build on the corpus)")

    def ranked(q: str) -> list[str]:
        found = search(index, SearchRequest.parse(q, limit=DEPTH))
        return [hit.url.split("#")[0] for hit in found.results]

    return ranked, len(index.docs)


# -- material's search, replayed with lunr ------------------------------------------------

_TAG = re.compile(r"<[^>]+>")


def material_engine(plain_site: Path):
    from lunr.builder import Builder
    from lunr.stemmer import stemmer
    from lunr.stop_word_filter import stop_word_filter
    from lunr.trimmer import trimmer

    data = json.loads((Path(plain_site) / "search" / "search_index.json").read_text(encoding="utf-8"))
    config = data["config"]
    separator = re.compile(config.get("separator") or r"[\s\-]+")
    docs = {doc["location"]: doc for doc in data["docs"]}

    def tokens(value) -> list[str]:
        # material extracts the text between tags, then splits it at its separator
        text = " ".join(value) if isinstance(value, list) else str(value or "")
        return [part for part in separator.split(html.unescape(_TAG.sub(" ", text))) if part]

    builder = Builder()
    # material keeps only the pipeline functions its config lists (by default just the stop word filter)
    wanted = config.get("pipeline") or ["trimmer", "stopWordFilter", "stemmer"]
    functions = {"trimmer": trimmer, "stopWordFilter": stop_word_filter, "stemmer": stemmer}
    for name in ("trimmer", "stopWordFilter", "stemmer"):
        if name in wanted:
            builder.pipeline.add(functions[name])
            builder.search_pipeline.add(functions[name])
    builder.ref("location")
    fields = config.get("fields") or {"title": {"boost": 1000}, "text": {"boost": 1}, "tags": {"boost": 1e6}}
    for name, spec in fields.items():
        builder.field(name, boost=spec.get("boost", 1))
    builder.b(0)
    for doc in data["docs"]:
        builder.add({"location": doc["location"], **{name: tokens(doc.get(name)) for name in fields}},
                    {"boost": doc.get("boost", 1)})
    index = builder.build()

    def transform(q: str) -> tuple[str, list[str]]:
        # material: drop stray control characters, split at whitespace and at its separator,
        # make every word a prefix query ("word*")
        q = re.sub(r'"|(?:^|\s+)[*+\-:^~]+(?=\s+|$)', "", q.strip())
        words = [w for part in q.split() for w in separator.split(re.sub(r"[:^~+*]", " ", part)) if w]
        words = [w.lower() for w in words if re.search(r"\w", w)]
        return " ".join(f"{w}*" for w in words), words

    def ranked(q: str) -> list[str]:
        query, words = transform(q)
        if not query:
            return []
        try:
            results = index.search(query)
        except Exception:  # noqa: BLE001 - lunr rejects some queries; material shows nothing then
            return []
        items = []
        for result in results:
            doc = docs.get(result["ref"])
            if doc is None:
                continue
            found = set(result["match_data"].metadata)
            matched = sum(1 for w in words if any(term.startswith(w) for term in found))
            boost = (0 if "#" in doc["location"] else 1) + (matched / len(words) if words else 0)
            items.append((result["score"] * (1 + boost ** 2), doc["location"]))
        items.sort(key=lambda item: -item[0])
        pages: list[str] = []
        for _, location in items:
            page = location.split("#")[0]
            if page not in pages:
                pages.append(page)
            if len(pages) == DEPTH:
                break
        return pages

    return ranked, len(data["docs"])


# -- scoring ----------------------------------------------------------------------------

def evaluate(ranked, queries: list[Query]) -> dict:
    per_query = []
    started = time.perf_counter()
    for query in queries:
        urls = ranked(query.q)[:DEPTH]
        rank = next((i + 1 for i, url in enumerate(urls) if query.answered_by(url)), None)
        per_query.append((query, rank))
    elapsed = time.perf_counter() - started
    by_kind = {}
    for kind in [*KINDS, "all"]:
        ranks = [rank for query, rank in per_query if kind in ("all", query.kind)]
        by_kind[kind] = {
            "n": len(ranks),
            "mrr": statistics.fmean(1 / r if r else 0 for r in ranks),
            "success": statistics.fmean(1 if r else 0 for r in ranks),
            "success3": statistics.fmean(1 if r and r <= 3 else 0 for r in ranks),
        }
    return {"kinds": by_kind, "ranks": per_query, "seconds": elapsed}


def _table(ours: dict, theirs: dict) -> list[str]:
    rows = ["| query kind | queries | MRR@10 kbgen | MRR@10 lunr | success@10 kbgen | success@10 lunr | "
            "success@3 kbgen | success@3 lunr |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for kind in [*KINDS, "all"]:
        a, b = ours["kinds"][kind], theirs["kinds"][kind]
        label = "**all**" if kind == "all" else KINDS[kind]
        rows.append(f"| {label} | {a['n']} | **{a['mrr']:.3f}** | {b['mrr']:.3f} | {a['success']:.2f} | "
                    f"{b['success']:.2f} | {a['success3']:.2f} | {b['success3']:.2f} |")
    return rows


def run(ctx) -> str:
    sets = [("held-out half of split.yml", load_queries(SPLIT_QUERIES, "heldout")),
            ("tuning half of split.yml", load_queries(SPLIT_QUERIES, "tune")),
            ("queries.yml, the older set tuned on", load_queries())]
    started = time.perf_counter()
    lunr_ranked, lunr_docs = material_engine(ctx.plain_site)
    lunr_build = time.perf_counter() - started
    kbgen_ranked, kbgen_pages = kbgen_engine(ctx.kbgen_index)
    parts, seconds, count = [], 0.0, 0
    for title, queries in sets:
        ours = evaluate(kbgen_ranked, queries)
        theirs = evaluate(lunr_ranked, queries)
        seconds += ours["seconds"]
        count += len(queries)
        if hasattr(ctx, "figures"):
            key = title.split()[0].strip(",").replace("-", "")
            ctx.figures.update({f"relevance_{key}_mrr_kbgen": ours["kinds"]["all"]["mrr"],
                                f"relevance_{key}_mrr_lunr": theirs["kinds"]["all"]["mrr"]})
        beats = all(ours["kinds"][k]["mrr"] > theirs["kinds"][k]["mrr"] for k in KINDS)
        parts += [f"### {len(queries)} queries: {title}", "", *_table(ours, theirs), "",
                  f"kbgen {'beats' if beats else 'does NOT beat'} lunr on MRR@10 for every kind of query here.", ""]
        if queries[0].split != "heldout":  # held-out misses are not looked at one by one
            misses = [f"`{q.q}` ({q.kind})" for q, rank in ours["ranks"] if rank is None]
            parts += ["Not answered in kbgen's top 10: " + (", ".join(misses) if misses else "none") + ".", ""]
    return "\n".join([
        "## Search relevance (2,463-page corpus)",
        "",
        "MRR@10: mean of 1/rank of the first answering page in the top 10 (0 when none); success@k: share of "
        "queries with an answering page in the top k. Pages are counted once (kbgen groups sections by page and "
        "versioned copies by page; material's results are grouped by page the same way).",
        "",
        "Queries: `bench/relevance/split.yml` (357 queries written before running either engine on them, split "
        "in two by a hash of the query text: ranking changes were tried on the tuning half and kept only when "
        "the held-out half did not get worse) and `bench/relevance/queries.yml` (the older 118, tuned on). "
        "The held-out half is the figure to trust.",
        "",
        f"kbgen: the Whoosh index of `kbgen build` ({kbgen_pages:,} pages), queried as the service does, with no "
        "synonyms file (the corpus has none). lunr: material's search over its search_index.json "
        f"({lunr_docs:,} page and section documents; building the lunr index took {lunr_build:.0f} s here, "
        "a cost every visitor's browser pays too).",
        "",
        *parts,
        f"kbgen answered in {seconds * 1000 / max(count, 1):.1f} ms/query (in-process, Python).",
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plain-site", type=Path, required=True, help="a plain material build of the corpus")
    parser.add_argument("--index", type=Path, required=True, help="the index dir `kbgen build` wrote for the corpus")
    parser.add_argument("--verbose", action="store_true",
                        help="also list each query's rank for both engines (the tuning half and queries.yml only)")
    args = parser.parse_args()
    ctx = Context(plain_site=args.plain_site, kbgen_index=args.index)
    print(run(ctx))
    if args.verbose:
        queries = load_queries(SPLIT_QUERIES, "tune") + load_queries()
        ours = evaluate(kbgen_engine(args.index)[0], queries)["ranks"]
        theirs = evaluate(material_engine(args.plain_site)[0], queries)["ranks"]
        for (query, a), (_, b) in zip(ours, theirs):
            print(f"{query.split or 'old':5} {query.kind:8} kbgen {a or '-':>2}  lunr {b or '-':>2}  {query.q}")


if __name__ == "__main__":
    main()
