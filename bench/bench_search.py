"""Search service: latency and throughput of GET /api/search against `kbgen serve` in a separate
process, bytes a visitor downloads for a first search, a one-page incremental update, the first
search after a start, compressed answers, and the search bar in Chromium on the corpus site
(the kbgen plugin added to a plain material site).

Targets (2 cores, the 2,463-page corpus): p50 ≤ 15 ms and p95 ≤ 50 ms with 8 concurrent
clients, ≥ 150 queries/s, first-search download < 1 % of material's gzipped
search_index.json, update_pages() of one page < 1 s.

    python bench/bench_search.py --plain-site DIR --index DIR   # alone; prints the markdown section
    make bench                                                    # as a section of bench/results.md
"""
from __future__ import annotations

import argparse
import gzip
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KBGEN = Path(sys.executable).with_name("kbgen")
QUERIES = HERE / "relevance" / "queries.yml"
sys.path.insert(0, str(REPO))

CLIENTS = 8
REQUESTS = 2400  # per load run, spread over the clients
TARGET_RATE = 150.0
TARGET_P50_MS, TARGET_P95_MS = 15.0, 50.0
GZIP_LEVEL = 6  # nginx's and most proxies' default


@dataclass
class Context:  # what run() needs of bench/run.py's context, for running alone
    plain_site: Path
    kbgen_index: Path
    workdir: Path
    corpus_docs: Path | None = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _queries() -> list[str]:
    return [item["q"] for item in yaml.safe_load(QUERIES.read_text(encoding="utf-8"))["queries"]]


def _paths(queries: list[str]) -> tuple[list[str], list[str]]:
    """Full searches (the results page) and the requests a visitor typing them sends (as you type)."""
    full = ["/api/search?" + urllib.parse.urlencode({"q": q, "limit": 10}) for q in queries]
    typing = []
    for q in queries:
        for end in range(3, len(q) + 1, 3):  # one request per pause, roughly every third key
            typing.append("/api/search?" + urllib.parse.urlencode({"q": q[:end], "limit": 6, "partial": 1}))
    return full, typing


class Service:
    """`kbgen serve` in its own process over the corpus index, on a free loopback port."""

    def __init__(self, ctx, workdir: Path, site: Path | None = None, name: str = "serve"):
        self.port = _free_port()
        self.started = time.perf_counter()
        project = workdir / name
        project.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "KBGEN_INDEX_DIR": str(ctx.kbgen_index), "KBGEN_SITE_DIR": str(site or ctx.plain_site),
               "KBGEN_DATA_DIR": str(project / "data"),
               "KBGEN_DATABASE_URL": f"sqlite:///{project / 'data' / 'kbgen.db'}"}
        self.log = open(project / "serve.log", "w")
        self.process = subprocess.Popen([str(KBGEN), "serve", "--project", str(project), "--port", str(self.port)],
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self) -> "Service":
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, _ = self.get("/api/search?q=dial")
                if status == 200:
                    return self
            except OSError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise SystemExit(f"kbgen serve did not answer; see {self.log.name}")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()

    def get(self, path: str, headers: dict | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


def _load(port: int, paths: list[str], clients: int, total: int, rate: float | None) -> tuple[list[float], float, int]:
    """Latencies (s) of `total` requests from `clients` threads with keep-alive connections.

    rate=None: each client sends its next request as soon as the last one is answered
    (saturation). rate=R: the clients together send R requests per second on a fixed
    schedule, and latency counts from the scheduled time, so a slow answer that delays
    the next request is not hidden (no coordinated omission).
    """
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def client(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        count = total // clients
        for k in range(count):
            path = paths[(number * 7919 + k) % len(paths)]
            if rate:
                scheduled = start + (k * clients + number) / rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            else:
                scheduled = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                with lock:
                    errors[0] += 1
            mine.append(time.perf_counter() - scheduled)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - max(began, start if rate else began), errors[0]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _row(label: str, latencies: list[float], elapsed: float, errors: int) -> str:
    ms = [v * 1000 for v in latencies]
    return (f"| {label} | {len(ms)} | {statistics.median(ms):.1f} | {_percentile(ms, 95):.1f} | "
            f"{_percentile(ms, 99):.1f} | {len(ms) / elapsed:.0f} | {errors} |")


def bench_http(ctx, workdir: Path) -> tuple[str, dict]:
    full, typing = _paths(_queries())
    figures = {}
    with Service(ctx, workdir) as service:
        # Cold: the first time each query's words are seen by this process.
        cold, cold_elapsed, cold_errors = _load(service.port, full, 1, len(full), None)
        for path in full + typing[::5]:  # then a running service: every word has been asked once
            service.get(path)
        single, single_elapsed, single_errors = _load(service.port, full, 1, len(full) * 2, None)
        saturated, sat_elapsed, sat_errors = _load(service.port, full, CLIENTS, REQUESTS, None)
        paced, paced_elapsed, paced_errors = _load(service.port, full, CLIENTS, REQUESTS, TARGET_RATE)
        typed, typed_elapsed, typed_errors = _load(service.port, typing, CLIENTS, REQUESTS, TARGET_RATE)
        status, body = service.get("/api/search?" + urllib.parse.urlencode({"q": "voicemail password", "limit": 6,
                                                                              "partial": 1}))
        first_answer = body
        gz_status, gz_body = service.get("/api/search?q=voicemail+password&limit=6&partial=1",
                                         {"Accept-Encoding": "gzip"})
    figures.update(p50_ms=statistics.median(paced) * 1000, p95_ms=_percentile(paced, 95) * 1000,
                   qps=len(saturated) / sat_elapsed)
    rows = [
        "| load | requests | p50 ms | p95 ms | p99 ms | queries/s | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
        _row("1 client, cold (each query's words seen for the first time)", cold, cold_elapsed, cold_errors),
        _row("1 client, warm", single, single_elapsed, single_errors),
        _row(f"**{CLIENTS} clients at {TARGET_RATE:.0f} q/s, full searches** (latency target)", paced,
             paced_elapsed, paced_errors),
        _row(f"{CLIENTS} clients at {TARGET_RATE:.0f} q/s, as-you-type requests (prefixes, partial=1)", typed,
             typed_elapsed, typed_errors),
        _row(f"**{CLIENTS} clients, no pause (saturation)** (throughput target)", saturated, sat_elapsed, sat_errors),
    ]
    text = [
        "### HTTP latency and throughput",
        "",
        f"`kbgen serve` (one uvicorn process) in its own process on loopback; {len(full)} distinct queries from "
        f"bench/relevance/queries.yml (keywords, questions, other words, typos) and {len(typing)} as-you-type "
        "prefixes of them; keep-alive connections; the clients run in this process on the same 2 cores. "
        f"At a fixed rate, latency counts from each request's scheduled send time. At saturation every client "
        f"waits for its answer before asking again, so latency there is just {CLIENTS} / throughput (Little's law).",
        "",
        *rows,
        "",
        f"Targets: p50 ≤ {TARGET_P50_MS:.0f} ms and p95 ≤ {TARGET_P95_MS:.0f} ms at {TARGET_RATE:.0f} q/s from "
        f"{CLIENTS} clients: **p50 {figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms**; "
        f"≥ {TARGET_RATE:.0f} q/s: **{figures['qps']:.0f} q/s**.",
        "",
    ]
    figures["first_answer"] = first_answer
    figures["served_gzip"] = gz_status == 200 and gz_body[:2] == b"\x1f\x8b"
    return "\n".join(text), figures


def bench_bytes(ctx, answer: bytes, served_gzip: bool) -> tuple[str, dict]:
    material = (Path(ctx.plain_site) / "search" / "search_index.json").read_bytes()
    material_gz = len(gzip.compress(material, GZIP_LEVEL))
    js = (REPO / "kbgen" / "theme" / "assets" / "kbgen-search.js").read_bytes()
    css = (REPO / "kbgen" / "theme" / "assets" / "kbgen-search.css").read_bytes()
    js_gz, css_gz, answer_gz = (len(gzip.compress(b, GZIP_LEVEL)) for b in (js, css, answer))
    ours = js_gz + answer_gz
    text = [
        "### Bytes downloaded for a first search",
        "",
        "| what | bytes | gzipped |",
        "|---|---:|---:|",
        f"| material: search/search_index.json (before the first result) | {len(material):,} | {material_gz:,} |",
        f"| kbgen: assets/kbgen-search.js | {len(js):,} | {js_gz:,} |",
        f"| kbgen: one /api/search answer (6 results as you type) | {len(answer):,} | {answer_gz:,} |",
        f"| **kbgen: script + answer** | {len(js) + len(answer):,} | **{ours:,}** |",
        f"| (kbgen: assets/kbgen-search.css, loaded with the page's other styles) | {len(css):,} | {css_gz:,} |",
        "",
        f"kbgen downloads **{ours / material_gz * 100:.2f} %** of what material's search does (target < 1 %). "
        f"gzip level {GZIP_LEVEL}, as a reverse proxy compresses; `kbgen serve` itself "
        + ("compresses API answers." if served_gzip else "sends them uncompressed (put it behind nginx/Caddy "
                                                         "with gzip on, or add GZipMiddleware).")
        + " Every later search downloads only its answer.",
        "",
    ]
    return "\n".join(text), {"bytes_ratio": ours / material_gz}


COLD_QUERIES = ["voicemail greeting", "queue penalty", "pjsip transport", "how do I park a call", "confbrige"]


def bench_start(ctx, workdir: Path) -> tuple[str, dict]:
    """The first searches after `kbgen serve` starts (words never asked before), against later ones."""
    service = Service(ctx, workdir, name="serve-cold")
    try:
        deadline = time.monotonic() + 60
        while True:  # the port answers: a page, not a search
            try:
                if service.get("/")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or service.process.poll() is not None:
                raise SystemExit(f"kbgen serve did not answer; see {service.log.name}")
            time.sleep(0.05)
        up = time.perf_counter() - service.started
        time.sleep(2.0)  # a customer arrives a moment after the start (the warm-up runs in the meantime)
        first = []
        for q in COLD_QUERIES:
            started = time.perf_counter()
            service.get("/api/search?" + urllib.parse.urlencode({"q": q, "limit": 10}))
            first.append(time.perf_counter() - started)
        later = []
        for q in COLD_QUERIES * 4:
            started = time.perf_counter()
            service.get("/api/search?" + urllib.parse.urlencode({"q": q, "limit": 10}))
            later.append(time.perf_counter() - started)
    finally:
        service.__exit__()
    text = [
        "### The first search after a start",
        "",
        "`kbgen serve` warms the live index in a thread at start (opens it, builds the speller's tables, runs one "
        "search of each kind), so the first customer does not pay for it. Here: a new process, a page fetched "
        "as soon as the port answers, then, 2 s later, five searches with words this process never saw.",
        "",
        "| measure | ms |",
        "|---|---:|",
        f"| process start → port answers | {up * 1000:.0f} |",
        f"| first search after the start | **{first[0] * 1000:.1f}** |",
        f"| the next four (new words each) | {', '.join(f'{t * 1000:.1f}' for t in first[1:])} |",
        f"| the same searches again, median | {statistics.median(later) * 1000:.1f} |",
        "",
    ]
    return "\n".join(text), {"first_search_ms": first[0] * 1000}


def bench_compression(ctx, workdir: Path) -> tuple[str, dict]:
    """Bytes on the wire for a page, the search script and an answer, with and without Accept-Encoding: gzip."""
    page_url = "/Configuration/Features/Call-Parking/"
    paths = [("a corpus page (Call Parking)", page_url), ("assets/kbgen-search.js", "/assets/kbgen-search.js"),
             ("/api/search answer, 10 results", "/api/search?q=call+parking&limit=10")]
    site = Path(ctx.workdir) / "kbgen-site"
    rows = ["| answer | uncompressed bytes | gzip bytes (`kbgen serve`) |", "|---|---:|---:|"]
    figures = {}
    with Service(ctx, workdir, site=site if site.is_dir() else None, name="serve-gzip") as service:
        for label, path in paths:
            _, plain = service.get(path, {"Accept-Encoding": "identity"})
            conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
            conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
            response = conn.getresponse()
            body, encoding = response.read(), response.getheader("Content-Encoding")
            conn.close()
            rows.append(f"| {label} | {len(plain):,} | {len(body):,}" + ("" if encoding == "gzip" else " (not gzipped)")
                        + " |")
            figures.setdefault("page_bytes", (len(plain), len(body)))
    return "\n".join(["### Compressed answers", "",
                       "`kbgen serve` gzips text answers (pages, scripts, styles, JSON) for clients that accept it; "
                       "attachments, images, archives and event streams go as they are.", "", *rows, ""]), figures


TYPED = ["call parking", "voicemail password", "pjsip nat", "queue penalty", "confbridge mute", "dialplan goto",
         "ari recording", "hangup cause", "music on hold", "ami originate"]


def bench_browser(ctx, workdir: Path) -> tuple[str, dict]:
    """The search bar in headless Chromium on the corpus site built with `- kbgen` in place of `- search`."""
    site = Path(ctx.workdir) / "kbgen-site"
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if not site.is_dir() or sync_playwright is None or not chromium.exists():
        return "### The search bar in Chromium\n\nNot measured: needs the kbgen corpus site, Playwright and " \
               "/usr/bin/chromium.\n", {}
    delays, sizes = [], []
    with Service(ctx, workdir, site=site, name="serve-browser") as service, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"http://127.0.0.1:{service.port}/Configuration/Features/Call-Parking/", wait_until="load")
        page.on("requestfinished", lambda request: sizes.append(request.sizes()["responseBodySize"]))
        page.evaluate("""() => {
            const input = document.querySelector('#kbgen-header-q');
            input.addEventListener('input', () => { window.kbgenTyped = performance.now(); window.kbgenShown = 0; });
            new MutationObserver(() => {
                if (!window.kbgenShown && document.querySelector('form.kbgen-search--header .kbgen-hit'))
                    window.kbgenShown = performance.now();
            }).observe(input.form, {childList: true, subtree: true});
        }""")
        bar = page.locator("#kbgen-header-q")
        for q in TYPED:
            bar.fill("")
            page.wait_for_timeout(300)
            bar.press_sequentially(q, delay=60)
            page.wait_for_function("() => window.kbgenShown > window.kbgenTyped")
            delays.append(page.evaluate("() => window.kbgenShown - window.kbgenTyped") / 1000)
        browser.close()
    total = sum(sizes)
    text = [
        "### The search bar in Chromium (plugin on a plain material site)",
        "",
        "The corpus site as `make bench` builds it: the shared material config with `- kbgen` in place of "
        "`- search` and nothing else of the portal; served by `kbgen serve`. Headless Chromium opens a page, "
        f"then types {len(TYPED)} searches in the header bar (60 ms between keys); each is timed from its last "
        "key to its first result on screen (the bar waits for a 120 ms pause in typing before it asks).",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| last key → first result, median (target ≤ 0.3 s) | **{statistics.median(delays):.3f} s** |",
        f"| last key → first result, slowest | {max(delays):.3f} s |",
        f"| bytes downloaded after page load for all {len(TYPED)} searches (target < 50 KB) | **{total / 1024:.1f} KB** |",
        "",
    ]
    return "\n".join(text), {"browser_first_result_s": statistics.median(delays), "browser_kib": total / 1024}


def _record_from_site(plain_site: Path, url: str, marker: str):
    from kbgen.search.indexer import PageRecord

    page = (Path(plain_site) / url / "index.html").read_text(encoding="utf-8")
    body = re.search(r'<article class="md-content__inner md-typeset">(.*?)</article>', page, re.S).group(1)
    title = re.search(r"<h1[^>]*>(.*?)</h1>", body, re.S)
    title_text = re.sub(r"<[^>]+>", "", title.group(1)) if title else url
    return PageRecord(url=url, path=url.rstrip("/") + ".md", title=title_text.replace("¶", "").strip(),
                      html=body + f"<p>{marker}</p>", product=None, type=None, tags=[], summary="")


def bench_update(ctx, workdir: Path, rounds: int = 5) -> tuple[str, dict]:
    from kbgen.search.indexer import update_pages
    from kbgen.search.live import Indexes
    from kbgen.search.query import SearchRequest, search

    index_copy = workdir / "update-index"
    shutil.rmtree(index_copy, ignore_errors=True)
    shutil.copytree(ctx.kbgen_index, index_copy, symlinks=True)
    url = "Operation/System-Requirements/Compiler/"
    path = _page_path(index_copy, url)
    timings = []
    for n in range(rounds):
        marker = f"kbgenbenchmarker{n}x"
        record = _record_from_site(ctx.plain_site, url, marker)
        record.path = path
        started = time.perf_counter()
        update_pages(index_copy, [record])
        timings.append(time.perf_counter() - started)
    found = search(Indexes().get(index_copy), SearchRequest.parse(f"kbgenbenchmarker{rounds - 1}x"))
    assert [h.url.split("#")[0] for h in found.results] == [url], "the updated page is not searchable"
    median = statistics.median(timings)
    text = [
        "### Incremental update of one page (`kbgen preview` after an edit)",
        "",
        "| measure | seconds |",
        "|---|---:|",
        f"| update_pages() of 1 page on the {ctx_pages(index_copy):,}-page index, median of {rounds} "
        f"(target < 1 s) | **{median:.3f}** |",
        f"| each run | {', '.join(f'{t:.3f}' for t in timings)} |",
        "",
        "Each update links the live version's files into a new folder (hard links), replaces the page's entries "
        "and swaps the new version in; the edited word is searchable afterwards (checked).",
        "",
    ]
    return "\n".join(text), {"update_s": median}


def ctx_pages(index_dir: Path) -> int:
    from kbgen.search.live import Indexes

    return len(Indexes().get(index_dir).docs)


def _page_path(index_dir: Path, url: str) -> str:
    from kbgen.search.live import Indexes

    index = Indexes().get(index_dir)
    return next(info.path for info in index.docs.values() if info.url == url)


def run(ctx) -> str:
    workdir = Path(ctx.workdir) / "bench-search"
    workdir.mkdir(parents=True, exist_ok=True)
    http_text, figures = bench_http(ctx, workdir)
    bytes_text, byte_figures = bench_bytes(ctx, figures.pop("first_answer"), figures.pop("served_gzip"))
    update_text, update_figures = bench_update(ctx, workdir)
    start_text, start_figures = bench_start(ctx, workdir)
    gzip_text, _ = bench_compression(ctx, workdir)
    browser_text, browser_figures = bench_browser(ctx, workdir)
    if hasattr(ctx, "figures"):
        ctx.figures.update(search_p50_ms=figures["p50_ms"], search_p95_ms=figures["p95_ms"],
                           search_qps=figures["qps"], **byte_figures, **update_figures, **start_figures,
                           **browser_figures)
    return "\n".join(["## Search service (2,463-page corpus)", "", http_text, bytes_text, update_text, start_text,
                      gzip_text, browser_text])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plain-site", type=Path, required=True, help="a plain material build of the corpus")
    parser.add_argument("--index", type=Path, required=True, help="the index dir `kbgen build` wrote for the corpus")
    parser.add_argument("--kbgen-site", type=Path, help="the corpus site `kbgen build` wrote (for the browser and "
                                                          "compression figures)")
    parser.add_argument("--only", nargs="*", help="only these parts: http, start, gzip, browser")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kbgen-bench-search-") as tmp:
        if args.kbgen_site:
            (Path(tmp) / "kbgen-site").symlink_to(args.kbgen_site.resolve())
        ctx = Context(plain_site=args.plain_site, kbgen_index=args.index, workdir=Path(tmp))
        if not args.only:
            print(run(ctx))
            return
        parts = {"start": bench_start, "gzip": bench_compression, "browser": bench_browser}
        for name in args.only:
            print(parts[name](ctx, Path(tmp))[0])


if __name__ == "__main__":
    main()
