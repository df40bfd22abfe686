"""Search at 10x: the index of ten copies of the corpus (24,630 pages), against one copy.

The pages come from the corpus site `kbgen build` wrote (each page's <article>, as the
plugin hands it to the indexer), copied under ten path prefixes, so the index holds ten
times the words with the same vocabulary: what a vendor with ten products' worth of
similar manuals has. Rendering 24,630 pages is MkDocs' part of a build and grows
linearly (see the build section); this section measures what kbgen adds: building the
index (wall time, peak memory of the indexing process), its size on disk, and queries
on it (the relevance set's 475 queries, one at a time, on a warm index).

    python bench/bench_scale.py --site DIR      # alone; prints the markdown section
"""
from __future__ import annotations

import argparse
import html
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

COPIES = 10
_ARTICLE = re.compile(r'<article class="md-content__inner md-typeset">(.*?)</article>', re.S)
_TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def page_records(site: Path, copies: int):
    """PageRecords of every page of a built site, `copies` times under copy-N/ prefixes, read as
    they are indexed (as MkDocs hands them over), so memory is the indexer's, not a list of pages."""
    from kbgen.search.indexer import PageRecord

    files = sorted(site.rglob("index.html"))
    for n in range(copies):
        prefix = f"copy-{n}/" if copies > 1 else ""
        for file in files:
            text = file.read_text(encoding="utf-8")
            article = _ARTICLE.search(text)
            if article is None:
                continue
            url = file.parent.relative_to(site).as_posix()
            url = "" if url == "." else url + "/"
            title = _TITLE.search(text)
            title = html.unescape(title.group(1).rsplit(" - ", 1)[0]) if title else url
            yield PageRecord(url=prefix + url, path=prefix + (url or "index") + ".md", title=title,
                             html=article.group(1), product=None, type=None)


def build_index(site: Path, index_dir: Path, copies: int) -> dict:
    """Index the copies (in this process); the figures as a dict."""
    from kbgen.search.indexer import IndexBuilder

    started = time.perf_counter()
    builder = IndexBuilder(index_dir)
    for record in page_records(site, copies):
        builder.add(record)
    builder.finish()
    return {"pages": builder.pages, "seconds": time.perf_counter() - started}


def measured_build(site: Path, index_dir: Path, copies: int) -> dict:
    """build_index in a child process: its wall time, and the child's peak resident memory."""
    code = ("import json, sys, resource; sys.path.insert(0, %r); import bench_scale as b; "
            "from pathlib import Path; f = b.build_index(Path(%r), Path(%r), %d); "
            "f['peak_kib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; print(json.dumps(f))"
            % (str(HERE), str(site), str(index_dir), copies))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"indexing {copies} copies failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["bytes"] = sum(f.stat().st_size for f in index_dir.rglob("*") if f.is_file())
    return figures


def query_times(index_dir: Path) -> dict:
    from bench_relevance import QUERIES, SPLIT_QUERIES, load_queries
    from kbgen.search.live import Indexes
    from kbgen.search.query import SearchRequest, search

    started = time.perf_counter()
    index = Indexes().get(index_dir)
    index.speller.warm()
    opened = time.perf_counter() - started
    queries = [q.q for q in load_queries(SPLIT_QUERIES) + load_queries(QUERIES)]
    for q in queries:  # warm: each term's postings read once, as a running service has
        search(index, SearchRequest.parse(q))
    times = []
    for q in queries:
        started = time.perf_counter()
        search(index, SearchRequest.parse(q))
        times.append(time.perf_counter() - started)
    times.sort()
    return {"open_s": opened, "p50_ms": statistics.median(times) * 1000,
            "p95_ms": times[int(len(times) * 0.95) - 1] * 1000, "queries": len(times)}


def run(ctx) -> str:
    site = Path(getattr(ctx, "scale_site", None) or ctx.workdir / "kbgen-site")
    rows = {}
    with tempfile.TemporaryDirectory(prefix="kbgen-scale-") as tmp:
        for copies in (1, COPIES):
            index_dir = Path(tmp) / f"index-{copies}"
            print(f"  scale: indexing {copies} cop{'y' if copies == 1 else 'ies'} ...", flush=True)
            figures = measured_build(site, index_dir, copies)
            figures.update(query_times(index_dir))
            rows[copies] = figures
    one, ten = rows[1], rows[COPIES]
    mib = 1024 * 1024

    def line(label: str, key: str, fmt: str, scale: float = 1.0) -> str:
        a, b = one[key] * scale, ten[key] * scale
        return f"| {label} | {a:{fmt}} | {b:{fmt}} | {b / a:.1f}x |"

    if hasattr(ctx, "figures"):
        ctx.figures.update(scale_build_s=ten["seconds"], scale_p95_ms=ten["p95_ms"])
    return "\n".join([
        f"## Search at 10x: {ten['pages']:,} pages",
        "",
        f"The corpus site's {one['pages']:,} rendered pages, indexed once and as {COPIES} copies under different "
        "path prefixes (same vocabulary, ten times the words). Index build in its own process (wall time, peak "
        f"resident memory); queries: the {ten['queries']} relevance queries one at a time on a warm index "
        "(in-process). MkDocs' rendering of the pages is not included: it grows linearly with the pages and is "
        "measured in the build section.",
        "",
        f"| measure | {one['pages']:,} pages | {ten['pages']:,} pages | growth |",
        "|---|---:|---:|---:|",
        line("index build (s)", "seconds", ".1f"),
        line("peak memory of the indexing process (MiB)", "peak_kib", ".0f", 1024 / mib),
        line("index size on disk (MiB)", "bytes", ".1f", 1 / mib),
        line("opening the index + speller, first search after a start (s)", "open_s", ".2f"),
        line("query p50 (ms)", "p50_ms", ".1f"),
        line("query p95 (ms)", "p95_ms", ".1f"),
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", type=Path, required=True, help="the corpus site `kbgen build` wrote")
    args = parser.parse_args()
    ctx = argparse.Namespace(scale_site=args.site, workdir=args.site.parent)
    print(run(ctx))


if __name__ == "__main__":
    main()
