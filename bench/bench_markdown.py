"""Comment rendering on adversarial input: kbgen.markup against the Python-Markdown renderer it replaced.

Target: every body up to the comment size limit (kbgen.tickets.MAX_COMMENT_CHARS) renders in
at most 50 ms.  The bodies are the inputs known to make Markdown parsers slow (runs of `[`,
`![`, `[a](`, emphasis and backtick runs, long and wide tables, deep lists and blockquotes,
entity soup, many link reference definitions, long lines, NUL and unicode soup); the
pathological cases of the CommonMark spec's test suite are among them.

    python bench/bench_markdown.py          # alone; prints the markdown section
    make bench                               # as a section of bench/results.md

tests/test_markup.py renders the same bodies (adversarial_bodies) as a guard against
quadratic regressions.
"""
from __future__ import annotations

import gc
import html
import os
import random
import sys
import time
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

TARGET_MS = 50.0
ROUNDS = 5  # renders per body and size: best and worst are reported
OLD_ROUNDS = 1
SIZES = (1_000, 8_000)  # and the comment limit
# The old renderer is quadratic (8,000 `[` took 13 s, 20,000 took 112 s), so it is measured on
# small bodies only, which keeps the whole bench under a minute.
OLD_SIZES = (1_000, 2_000)


def _fill(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _grow(piece: Callable[[int], str], size: int) -> str:
    """Concatenate piece(0), piece(1), ... up to `size` characters."""
    parts, total, i = [], 0, 0
    while total < size:
        parts.append(piece(i))
        total += len(parts[-1])
        i += 1
    return "".join(parts)[:size]


def _unicode_soup(size: int) -> str:
    rng = random.Random(8)
    ranges = [(0x00, 0x7F), (0x80, 0x2FF), (0x300, 0x36F), (0x590, 0x6FF), (0x2000, 0x206F),
              (0x4E00, 0x4FFF), (0xE000, 0xE0FF), (0xFE00, 0xFFFF), (0x1F300, 0x1FAFF), (0xE0000, 0xE007F)]
    chars = []
    while len(chars) < size:
        low, high = rng.choice(ranges)
        code = rng.randint(low, high)
        if not 0xD800 <= code <= 0xDFFF:  # lone surrogates are not text
            chars.append(chr(code))
    return "".join(chars)


def adversarial_bodies(size: int) -> dict[str, str]:
    """Each body exactly `size` characters, by name."""
    table_row = "| a | **b** | `c` | [d](http://e) |\n"
    wide = "|a" * (size // 8) + "|\n" + "|-" * (size // 8) + "|\n"
    refs = _grow(lambda i: f"[r{i}]: http://example.com/{i} \"t{i}\"\n", size // 2)
    bodies = {
        "`[` run": _fill("[", size),
        "`![` run": _fill("![", size),
        "`[a](` run": _fill("[a](", size),
        "`[a](<b` run (unclosed links)": _fill("[a](<b", size),
        "`[a](b` run (unclosed links)": _fill("[a](b", size),
        "nested brackets `[[[a]]]`": "[" * (size // 2 - 1) + "a" + "]" * (size - size // 2),
        "nested link parens `[a](((`": ("[a](" + "(" * (size // 2) + ")" * size)[:size],
        "`[ a_` run (link openers, emphasis closers)": _fill("[ a_", size),
        "`*_` run": _fill("*_", size),
        "`*a **a` nested emphasis": ("*a **a " * (size // 14) + " a** a*" * (size // 14)).ljust(size, "a"),
        "`a_ ` run (closers, no openers)": _fill("a_ ", size),
        "`_a ` run (openers, no closers)": _fill("_a ", size),
        "`a**b c* ` run (multiple of 3)": _fill("a**b c* ", size),
        "`~~` run": _fill("~~a", size),
        "backtick run": _fill("`", size),
        "growing backtick runs `e``e```": _grow(lambda i: "e" + "`" * (i + 1), size),
        "long table": ("| a | b | c | d |\n|---|:-:|--:|:--|\n" + table_row * size)[:size],
        "wide table, short rows": (wide + "x\n" * size)[:size],
        "pipe run": _fill("|", size),
        "deep blockquote `>>>>`": _fill(">", size),
        "blockquote lines `> > >`": _grow(lambda i: "> " * (i % 50) + "a\n", size),
        "deep list (growing indent)": _grow(lambda i: " " * (i % 200) + "- a\n", size),
        "`- ` run (list in list on one line)": _fill("- ", size),
        "`1. ` run": _fill("1. ", size),
        "entity soup": _fill("&amp;&#1234;&#x1F600;&#0;&#xD800;&bogus;&#99999999;&", size),
        "many link reference definitions": (refs + _grow(lambda i: f"[r{i}] [x][r{i}] ", size))[:size],
        "`<` run (autolink starts)": _fill("<", size),
        "`<a ` run (raw HTML starts)": _fill("<a ", size),
        "`\\` run": _fill("\\", size),
        "long line of words": _fill("word ", size),
        "long line without spaces": _fill("a", size),
        "one newline after another": _fill("a\n", size),
        "NUL soup": _fill("ab\x00", size),
        "unicode soup": _unicode_soup(size),
    }
    assert all(len(body) == size for body in bodies.values()), {k: len(v) for k, v in bodies.items()}
    return bodies


def reference_bodies(size: int) -> dict[str, str]:
    """Not adversarial, for scale: what long comments people write look like."""
    articles = "".join(path.read_text(encoding="utf-8").split("---", 2)[-1]
                       for path in sorted((REPO / "content").rglob("*.md")))
    rng = random.Random(3)
    log = "".join(f"2026-10-{rng.randint(1, 28):02d} 12:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} "
                  f"[{rng.choice(['INFO', 'WARN', 'ERROR'])}] QueueService - call_id={rng.randint(10**6, 10**7)} "
                  f"state={rng.choice(['ringing', 'up', 'hangup'])} peer=SIP/trunk_{rng.randint(1, 9)}\n"
                  for _ in range(size // 60 + 1))
    return {"the demo's articles (headings, lists, code, tables, links)": _fill(articles, size),
            "a log pasted without a code fence": log[:size]}


def _old_renderer() -> Callable[[str], str]:
    """The renderer before kbgen.markup (kbgen/tickets.py at ffe072e), as the baseline."""
    import markdown
    from markdown.extensions import Extension
    from markdown.treeprocessors import Treeprocessor

    from kbgen.tickets.markup import safe_url  # the same link rule then as now

    class SafeLinks(Treeprocessor):
        def run(self, root):
            for parent in list(root.iter()):
                for element in list(parent):
                    if element.tag == "img":
                        element.tag = "a"
                        element.text = element.get("alt") or element.get("src") or "image"
                        element.set("href", element.get("src", ""))
                        for attr in ("src", "alt", "title"):
                            element.attrib.pop(attr, None)
                    if element.tag == "a":
                        safe = safe_url(element.get("href", ""))
                        if safe is None:
                            element.attrib.pop("href", None)
                        else:
                            element.set("href", safe)
                            element.set("rel", "nofollow noopener noreferrer")
                    for attr in list(element.attrib):
                        if attr.lower().startswith("on") or attr.lower() == "style":
                            element.attrib.pop(attr, None)

    class NoRawHtml(Extension):
        def extendMarkdown(self, md):
            md.preprocessors.deregister("html_block")
            md.inlinePatterns.deregister("html")
            md.treeprocessors.register(SafeLinks(md), "kbgen_safe_links", 0)

    def render(text):
        md = markdown.Markdown(extensions=[NoRawHtml(), "fenced_code", "tables", "sane_lists", "nl2br"],
                               output_format="html")
        return md.convert(text)

    return render


def _times_ms(render: Callable[[str], str], body: str, rounds: int) -> list[float]:
    """CPU milliseconds of each render: what a body costs the service, whatever else the machine runs.

    Wall time on these 2-core machines adds whole scheduler slices (about 50 ms) lost to other
    processes at random; earlier garbage is collected first so that no render pays for another's.
    """
    times = []
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        render(body)
        times.append((time.process_time() - start) * 1000)
    return times


def _cell(value: float | str) -> str:
    return f"{value:,.1f}" if isinstance(value, float) else value


def run(ctx) -> str:
    from kbgen.tickets.markup import WORK_BUDGET, plain_text_html, render_markdown
    from kbgen.tickets import MAX_COMMENT_CHARS

    load_before = os.getloadavg()[0]
    old = _old_renderer()
    sizes = (*SIZES, MAX_COMMENT_CHARS)
    new: dict[int, dict[str, list[float]]] = {}
    for size in sizes:
        new[size] = {name: _times_ms(render_markdown, body, ROUNDS)
                     for name, body in adversarial_bodies(size).items()}
    baseline: dict[int, dict[str, float | str]] = {}
    started = time.perf_counter()
    for size in OLD_SIZES:
        baseline[size] = {}
        for name, body in adversarial_bodies(size).items():
            try:
                baseline[size][name] = max(_times_ms(old, body, OLD_ROUNDS))
            except RecursionError:  # a comment the old renderer answered with a 500
                baseline[size][name] = "RecursionError"
    old_seconds = time.perf_counter() - started

    names = list(new[MAX_COMMENT_CHARS])
    limit = MAX_COMMENT_CHARS
    at_limit = adversarial_bodies(limit)
    as_written = {name: render_markdown(body) == plain_text_html(body) for name, body in at_limit.items()}
    scale = {name: _times_ms(render_markdown, body, ROUNDS) for name, body in reference_bodies(limit).items()}
    head = " | ".join(f"{s:,} best / worst" for s in sizes)
    old_head = " | ".join(f"old, {s:,}" for s in OLD_SIZES)
    lines = [
        f"## Comment rendering: {len(names)} adversarial bodies up to the {limit:,}-character limit",
        "",
        f"`kbgen.markup.render_markdown` (markdown-it-py + nh3), {ROUNDS} renders per body and size, in CPU ms (process time: on 2 shared cores, wall time adds random scheduler slices). "
        f"Baseline: the Python-Markdown renderer it replaced, {OLD_ROUNDS} render per body, at "
        f"{' and '.join(f'{s:,}' for s in OLD_SIZES)} characters only: it is quadratic (20,000 `[` take "
        f"about 112 s), so larger bodies would keep the bench from finishing in a minute "
        f"(the baseline took {old_seconds:.1f} s here).",
        "",
        f"| body | {head} | shown as written at {limit:,} | {old_head} |",
        "|---|" + "---|" * (len(sizes) + 1 + len(OLD_SIZES)),
    ]
    for name in names:
        cells = [f"{min(new[s][name]):.1f} / {max(new[s][name]):.1f}" for s in sizes]
        cells.append("yes" if as_written[name] else "")
        cells += [_cell(baseline[s][name]) for s in OLD_SIZES]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for name, times in scale.items():
        lines.append(f"| *for scale, not adversarial:* {name} | | | {min(times):.1f} / {max(times):.1f} | | | |")
    worst_name = max(names, key=lambda n: max(new[limit][n]))
    worst = max(new[limit][worst_name])
    old_at = {n: v for n, v in baseline[OLD_SIZES[-1]].items() if isinstance(v, float)}
    old_worst_name = max(old_at, key=old_at.__getitem__)
    crashed = [n for n, v in baseline[OLD_SIZES[-1]].items() if not isinstance(v, float)]
    lines += [
        "",
        f"Worst body at the limit: {worst_name}, {worst:.1f} ms (target ≤ {TARGET_MS:.0f} ms: "
        f"{'met' if worst <= TARGET_MS else '**not met**'}; the slowest body's best of {ROUNDS}: "
        f"{max(min(new[limit][n]) for n in names):.1f} ms). Load average before the run: {load_before:.1f} "
        f"on {os.cpu_count()} cores. Bodies that would take the parser more than "
        f"{WORK_BUDGET:,} steps are shown as written (plain text, with its line breaks), which bounds the time. The old renderer's worst at "
        f"{OLD_SIZES[-1]:,} characters: {old_worst_name}, {old_at[old_worst_name]:,.0f} ms"
        + (f"; it failed with RecursionError on: {', '.join(crashed)}." if crashed else "."),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(None))
