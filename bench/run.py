"""`make bench`: measure kbgen against its baselines on the shared corpus, in one run.

Writes bench/results.md. These 2-core machines are noisy, so every figure of
ours is taken in the same run as its baseline and reported as a ratio too.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS = REPO.parent / "shared" / "corpora"
BIN = Path(sys.executable).parent


@dataclass
class Context:
    """What each benchmark section gets: the corpus and what was built from it."""

    workdir: Path
    corpus_docs: Path
    plain_site: Path
    kbgen_project: Path
    kbgen_index: Path
    figures: dict = field(default_factory=dict)


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid, pages = int(fields[1]), int(fields[21])
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, []))
    return total


def measure(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, int]:
    """Wall time and peak memory (summed over the process tree, sampled every 20 ms) of a command."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(proc.pid))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err[-3000:]}")
    return elapsed, peak


# The corpus keeps its API reference once per release folder: declared as versions (kbgen/search/versions.py),
# newest first, so a search shows each reference page once, as a docs team adopting kbgen would configure it.
CORPUS_VERSIONS = [("Asterisk 23", "Asterisk_23_Documentation/"), ("Asterisk 22", "Asterisk_22_Documentation/"),
                   ("Asterisk 21", "Asterisk_21_Documentation/"), ("Asterisk 20", "Asterisk_20_Documentation/"),
                   ("Asterisk 19", "Asterisk_19_Documentation/"), ("Asterisk 18", "Asterisk_18_Documentation/"),
                   ("Certified 22.8", "Certified-Asterisk_22.8_Documentation/"),
                   ("Certified 20.7", "Certified-Asterisk_20.7_Documentation/"),
                   ("Certified 18.9", "Certified-Asterisk_18.9_Documentation/")]
KBGEN_PLUGIN = "  - kbgen:\n      versions:\n" + "".join(
    f'        - {{label: "{label}", prefix: {prefix}}}\n' for label, prefix in CORPUS_VERSIONS)


def prepare(workdir: Path) -> Context:
    corpus_dir = workdir / "corpus"
    corpus_dir.mkdir()
    with tarfile.open(CORPUS / "asterisk-docs.tar.gz") as tar:
        tar.extractall(corpus_dir, filter="data")
    plain_cfg = (CORPUS / "asterisk-mkdocs.yml").read_text()
    (corpus_dir / "mkdocs.yml").write_text(plain_cfg)
    assert "\n  - search\n" in plain_cfg
    (corpus_dir / "mkdocs-kbgen.yml").write_text(plain_cfg.replace("\n  - search\n", "\n" + KBGEN_PLUGIN))
    return Context(workdir=workdir, corpus_docs=corpus_dir / "docs", plain_site=workdir / "plain-site",
                   kbgen_project=corpus_dir, kbgen_index=workdir / "kbgen-index")


def bench_build(ctx: Context, rounds: int) -> str:
    """Plain `mkdocs build` (material + built-in search) against `kbgen build`, interleaved."""
    env = {"NO_MKDOCS_2_WARNING": "1", "KBGEN_INDEX_DIR": str(ctx.kbgen_index)}
    plain, ours = [], []
    for _ in range(rounds):
        plain.append(measure([str(BIN / "mkdocs"), "build", "-q", "-f", "mkdocs.yml", "-d", str(ctx.plain_site)],
                             ctx.kbgen_project, env))
        ours.append(measure([str(BIN / "kbgen"), "build", "-f", "mkdocs-kbgen.yml", "-d",
                             str(ctx.workdir / "kbgen-site")], ctx.kbgen_project, env))
        print(f"  build round: plain {plain[-1][0]:.1f} s, kbgen {ours[-1][0]:.1f} s", flush=True)
    pages = sum(1 for _ in (ctx.workdir / "kbgen-site").rglob("index.html"))
    p_time, k_time = statistics.median(t for t, _ in plain), statistics.median(t for t, _ in ours)
    p_mem, k_mem = max(m for _, m in plain), max(m for _, m in ours)
    ctx.figures.update(build_plain_s=p_time, build_kbgen_s=k_time)
    mib = 1024 * 1024
    return "\n".join([
        "## Build: 2,463-page corpus",
        "",
        f"{rounds} interleaved round(s); median wall time, peak resident memory of the whole process tree. "
        f"{pages} HTML pages written by kbgen.",
        "",
        "| build | wall time (s) | peak memory (MiB) |",
        "|---|---:|---:|",
        f"| plain `mkdocs build` (material + built-in search) | {p_time:.1f} | {p_mem / mib:.0f} |",
        f"| `kbgen build` (kbgen plugin, Whoosh index, no material search) | {k_time:.1f} | {k_mem / mib:.0f} |",
        f"| **ratio kbgen / plain** (targets: time ≤ 1.15, memory ≤ 1.3) | **{k_time / p_time:.2f}** "
        f"| **{k_mem / p_mem:.2f}** |",
        "",
        "Each round: " + "; ".join(f"plain {p:.1f} s / kbgen {k:.1f} s" for (p, _), (k, _) in zip(plain, ours)),
        "",
    ])


def bench_preview(ctx: Context, edits: int = 3) -> str:
    """Edit one page of the corpus while `kbgen preview` runs; time until the served page shows it."""
    from service import free_port

    port = free_port()
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "KBGEN_INDEX_DIR": str(ctx.workdir / "preview-index")}
    proc = subprocess.Popen([str(BIN / "kbgen"), "preview", "-f", "mkdocs-kbgen.yml", "-a", f"127.0.0.1:{port}"],
                            cwd=ctx.kbgen_project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    page = ctx.corpus_docs / "Operation" / "System-Requirements" / "Compiler.md"
    url = f"http://127.0.0.1:{port}/Operation/System-Requirements/Compiler/"
    original = page.read_text()
    timings = []
    try:
        started = time.perf_counter()
        _wait_for(url, None, timeout=900)
        first = time.perf_counter() - started
        for n in range(edits):
            marker = f"kbgen-preview-marker-{n}-{time.time_ns()}"
            time.sleep(1.5)
            page.write_text(original + f"\n\n{marker}\n")
            started = time.perf_counter()
            _wait_for(url, marker, timeout=120)
            timings.append(time.perf_counter() - started)
    finally:
        page.write_text(original)
        proc.terminate()
        proc.wait(timeout=30)
    ctx.figures["preview_edit_s"] = statistics.median(timings)
    return "\n".join([
        "## Writer preview: one-page edit on the 2,463-page corpus",
        "",
        f"`kbgen preview` (dirty rebuilds). First full render: {first:.1f} s.",
        "",
        "| measure | seconds |",
        "|---|---:|",
        f"| edit saved → served page shows it, median of {edits} (target < 3 s) | {statistics.median(timings):.2f} |",
        f"| each edit | {', '.join(f'{t:.2f}' for t in timings)} |",
        "",
    ])


def _wait_for(url: str, text: str | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = response.read().decode()
            if text is None or text in body:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {url}" + (f" to show {text}" if text else ""))


SECTIONS = ["bench_search", "bench_relevance", "bench_scale", "bench_intake", "bench_requests", "bench_queues",
            "bench_markdown",
            "bench_signin", "bench_live"]
# Sections that read the built corpus (its site or its search index); the others need no build.
NEEDS_BUILD = {"build", "bench_search", "bench_relevance", "bench_scale"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved build rounds")
    parser.add_argument("--only", nargs="*", help="run only these sections (build, preview, " + ", ".join(SECTIONS) + ")")
    parser.add_argument("--output", type=Path, default=HERE / "results.md")
    args = parser.parse_args()
    wanted = set(args.only or ["build", "preview", *SECTIONS])
    sys.path.insert(0, str(HERE))
    parts = [f"# kbgen benchmarks\n\nRun {dt.datetime.now():%Y-%m-%d %H:%M}, {platform.node()}, "
             f"{os.cpu_count()} cores, Python {platform.python_version()}. Regenerate with `make bench`.\n"]
    previous = args.output.read_text() if args.output.exists() else ""

    def save() -> None:
        # After every section: a section that fails later loses nothing measured before it.
        done = merge_sections(previous, parts) if (args.only and previous) else parts
        args.output.write_text("\n".join(done))

    with tempfile.TemporaryDirectory(prefix="kbgen-bench-") as tmp:
        ctx = prepare(Path(tmp))
        if wanted & NEEDS_BUILD:
            print("build ...", flush=True)
            parts.append(bench_build(ctx, args.rounds))
            save()
        if "preview" in wanted:
            print("preview ...", flush=True)
            parts.append(bench_preview(ctx))
            save()
        for name in SECTIONS:
            if name not in wanted or not (HERE / f"{name}.py").exists():
                continue
            print(f"{name} ...", flush=True)
            parts.append(importlib.import_module(name).run(ctx))
            save()
    print(f"wrote {args.output}")


def merge_sections(previous: str, parts: list[str]) -> list[str]:
    """A partial run (--only) replaces its own "## " sections of the previous results and keeps the rest,
    each kept section saying when it was measured."""
    head, *fresh = parts
    stamp = head.split("Run ", 1)[1].split(",", 1)[0]
    new_titles = {part.split("\n", 1)[0] for part in fresh}
    chunks = previous.split("\n## ")
    old_stamp = chunks[0].split("Run ", 1)[1].split(",", 1)[0] if "Run " in chunks[0] else "an earlier run"
    kept = []
    for chunk in chunks[1:]:
        title = "## " + chunk.split("\n", 1)[0]
        if title in new_titles:
            continue
        if "\n_Measured " not in chunk:
            chunk = chunk.replace("\n", f"\n\n_Measured {old_stamp}, in an earlier run._\n", 1)
        kept.append("## " + chunk.rstrip("\n") + "\n")
    note = head.rstrip("\n") + f" Sections marked otherwise come from earlier runs; this run ({stamp}) " \
                                "measured the others.\n"
    return [note, *kept, *fresh]


if __name__ == "__main__":
    main()
