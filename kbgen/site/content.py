"""The content model: an article's front matter, parsed with line numbers and validated.

Everything here is plain Python over files, so `kbgen check`, the MkDocs plugin
and the tests share one definition of what a valid article is.
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from kbgen.site.catalog import ARTICLE_TYPES, PRODUCTS, find_product, find_type

# Field name -> one-line description used in error hints and `kbgen new`.
FIELDS: dict[str, str] = {
    "title": "the article title customers see",
    "product": "one of: " + ", ".join(p.name for p in PRODUCTS),
    "type": "one of: " + ", ".join(t.slug for t in ARTICLE_TYPES),
    "summary": "one sentence shown in lists and search results",
    "tags": "a list of keywords, e.g. [queues, audio]",
    "updated": "the date of the last review, YYYY-MM-DD",
    "version": "the product version the page is written for, one of the plugin's `versions` labels",
}
# Keys other tools put in front matter; accepted without complaint.
PASSTHROUGH_KEYS = {"template", "hide", "search", "status", "icon", "description", "pageid", "subtitle", "tags"}

_FRONT_MATTER = re.compile(r"\A(---[ \t]*\r?\n)(.*?\r?\n)?(---|\.\.\.)[ \t]*(\r?\n|\Z)", re.S)
_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.M)
# What reads as an HTML tag in a title: a known element, or any tag with attributes. "<Enter>" is
# a key name a writer may mean literally, so it is not reported.
_ELEMENTS = ("a abbr audio b big blockquote br button canvas center code del details dialog div em embed "
             "font form frame h1 h2 h3 h4 h5 h6 hr i iframe img input ins kbd link mark marquee math meta "
             "object p picture pre q s script select small source span strike strong style sub summary sup "
             "svg table td template textarea th tr tt u video").split()
_MARKUP = re.compile(r"</?(?:(?:" + "|".join(_ELEMENTS) + r")(?=[\s/>])[^<>]*|[a-z][\w:-]*\s[^<>]*=[^<>]*)>", re.I)


@dataclass(frozen=True)
class Problem:
    """One thing a writer must fix: where, what is wrong and what to do."""

    path: str
    line: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.path}:{self.line}: {self.message}"
        return f"{text}; {self.hint}" if self.hint else text


@dataclass
class Article:
    path: str  # relative to the docs dir, with forward slashes
    meta: dict[str, Any]
    body: str
    body_line: int  # 1-based line of the body's first line in the file
    product: str | None = None  # canonical product slug
    type: str | None = None  # canonical type slug
    problems: list[Problem] = field(default_factory=list)

    @property
    def title(self) -> str:
        title = self.meta.get("title")
        if isinstance(title, str) and title.strip():
            return title.strip()
        match = _H1.search(self.body)
        return match.group(1) if match else Path(self.path).stem.replace("-", " ").title()


def split_front_matter(text: str) -> tuple[str | None, str, int]:
    """Return (front matter YAML or None, body, line number where the body starts)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return None, text, 1
    yaml_text = match.group(2) or ""
    body = text[match.end():]
    return yaml_text, body, text[: match.end()].count("\n") + 1


def _key_lines(yaml_text: str) -> dict[str, int]:
    """Map each top-level key to its line within the YAML block (1-based)."""
    lines: dict[str, int] = {}
    node = yaml.compose(yaml_text, Loader=yaml.SafeLoader)
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            lines[str(key_node.value)] = key_node.start_mark.line + 1
    return lines


def parse_article(rel_path: str, text: str, required: Iterable[str] = ("title",)) -> Article:
    """Parse one Markdown file and validate its front matter; problems are collected, never raised."""
    yaml_text, body, body_line = split_front_matter(text)
    article = Article(path=rel_path, meta={}, body=body, body_line=body_line)
    required = tuple(required)
    if yaml_text is None:
        missing = [name for name in required if not (name == "title" and _H1.search(body))]
        if missing:
            article.problems.append(Problem(
                rel_path, 1, "no front matter",
                "start the file with a '---' block holding " + ", ".join(f"'{m}'" for m in missing)
                + " (run 'kbgen new' for a template)"))
        return article
    try:
        meta = yaml.load(yaml_text, Loader=yaml.SafeLoader) or {}
        key_lines = _key_lines(yaml_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = 2 + (mark.line if mark else 0)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        article.problems.append(Problem(
            rel_path, line, f"front matter is not valid YAML ({problem})",
            "check indentation and quote values that contain ':' or '#'"))
        return article
    if not isinstance(meta, dict):
        article.problems.append(Problem(rel_path, 2, "front matter must be a list of 'key: value' lines",
                                        "write e.g. 'title: My article'"))
        return article
    article.meta = meta

    def line_of(key: str) -> int:
        return 1 + key_lines.get(key, 0) if key in key_lines else 1

    if meta.get("template"):
        required = tuple(n for n in required if n == "title")  # a landing page, not an article
    for name in required:
        value = meta.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if name == "title" and _H1.search(body):
                continue
            article.problems.append(Problem(
                rel_path, line_of(name) if name in meta else 1,
                f"missing front matter '{name}'", f"add '{name}:' with {FIELDS.get(name, 'a value')}"))

    if meta.get("product") is not None:
        product = find_product(meta["product"])
        if product is None:
            article.problems.append(Problem(
                rel_path, line_of("product"), f"unknown product '{meta['product']}'",
                f"use {FIELDS['product']}"))
        else:
            article.product = product.slug
    if meta.get("type") is not None:
        article_type = find_type(meta["type"])
        if article_type is None:
            article.problems.append(Problem(
                rel_path, line_of("type"), f"unknown type '{meta['type']}'", f"use {FIELDS['type']}"))
        else:
            article.type = article_type.slug
    if "title" in meta and meta["title"] is not None and not isinstance(meta["title"], str):
        article.problems.append(Problem(rel_path, line_of("title"), "'title' must be text",
                                        "put the title in quotes"))
    if "summary" in meta and meta["summary"] is not None and not isinstance(meta["summary"], str):
        article.problems.append(Problem(rel_path, line_of("summary"), "'summary' must be text",
                                        "put the summary in quotes"))
    for name in ("title", "summary"):
        markup = _MARKUP.search(meta[name]) if isinstance(meta.get(name), str) else None
        if markup:
            article.problems.append(Problem(
                rel_path, line_of(name), f"{name} contains HTML markup '{markup.group(0)}', which pages show "
                "as text, never as markup", "write plain text"))
    tags = meta.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, (str, int)) for t in tags)):
        article.problems.append(Problem(rel_path, line_of("tags"), "'tags' must be a list of words",
                                        "write e.g. 'tags: [queues, audio]'"))
    updated = meta.get("updated")
    if updated is not None and not isinstance(updated, _dt.date):
        article.problems.append(Problem(rel_path, line_of("updated"), f"'updated' is not a date: {updated!r}",
                                        "write it as YYYY-MM-DD, e.g. 'updated: 2026-10-14'"))
    known = set(FIELDS) | PASSTHROUGH_KEYS
    for key in meta:
        if key not in known:
            article.problems.append(Problem(
                rel_path, line_of(key), f"unknown front matter key '{key}'",
                "use only: " + ", ".join(FIELDS) + " (check the spelling)"))
    return article


def iter_markdown(docs_dir: Path) -> Iterable[Path]:
    """The articles' files: Markdown outside hidden folders and the saved replies' folder (kbgen/replies.py)."""
    from kbgen.replies import is_reply  # which imports this module

    for path in sorted(docs_dir.rglob("*.md")):
        rel = path.relative_to(docs_dir)
        if not any(part.startswith(".") for part in rel.parts) and not is_reply(rel.as_posix()):
            yield path


def load_articles(docs_dir: Path, required: Iterable[str] = ("title",)) -> list[Article]:
    required = tuple(required)
    articles = []
    for path in iter_markdown(docs_dir):
        rel = path.relative_to(docs_dir).as_posix()
        articles.append(parse_article(rel, path.read_text(encoding="utf-8-sig"), required))
    return articles
