"""Saved replies: Markdown files in the content folder's replies/ that agents insert into a comment.

A reply has front matter `title:` (what agents pick it by), an optional `product:` (offered first on
that product's requests) and `tags:`, and a Markdown body that may hold the PLACEHOLDERS below; the
service fills them for one request. The folder is never published nor indexed (kbgen/site/plugin.py
leaves it out), `kbgen check` reports its mistakes as file:line, and GET /api/replies
(kbgen/web/routes/replies.py) serves it, read again whenever a file changes.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import yaml

from kbgen.site.catalog import find_product
from kbgen.site.content import FIELDS as ARTICLE_FIELDS
from kbgen.site.content import Problem, split_front_matter
from kbgen.site.links import code_free_lines

FOLDER = "replies"  # in the content folder: content/replies/*.md

log = logging.getLogger("kbgen.replies")


@dataclass(frozen=True)
class Placeholder:
    name: str  # written {name} in a reply
    meaning: str
    value: Callable[[Any, Any], str]  # (ticket, agent) -> the text that replaces it


def _product_name(ticket: Any) -> str:
    product = find_product(ticket.product)
    return product.name if product else str(ticket.product)


PLACEHOLDERS: tuple[Placeholder, ...] = (
    Placeholder("requester", "the name of the person who opened the request",
                lambda ticket, agent: ticket.requester.display_name if ticket.requester else ""),
    Placeholder("key", "the request's key, e.g. XC-42", lambda ticket, agent: ticket.key),
    Placeholder("product", "the request's product, e.g. XCALLY", lambda ticket, agent: _product_name(ticket)),
    Placeholder("agent", "the name of the agent who inserts the reply", lambda ticket, agent: agent.display_name),
)
_KNOWN = {p.name: p for p in PLACEHOLDERS}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w-]*)\}")
_PLACEHOLDER_LIST = ", ".join("{" + p.name + "}" for p in PLACEHOLDERS)

FIELDS: dict[str, str] = {
    "title": "the name agents pick the reply by",
    "product": ARTICLE_FIELDS["product"] + ", to offer it first on that product's requests",
    "tags": "a list of keywords, e.g. [logs, audio]",
}


@dataclass(frozen=True)
class Reply:
    path: str  # relative to the content folder, with forward slashes: replies/ask-for-logs.md
    title: str
    product: str | None  # catalog slug
    tags: tuple[str, ...]
    body: str
    problems: tuple[Problem, ...] = ()

    @property
    def slug(self) -> str:
        """The file's path in the replies folder, without .md: ask-for-logs, xcally/restart-services."""
        return self.path.removeprefix(FOLDER + "/").removesuffix(".md")


def is_reply(path: str) -> bool:
    """Whether a file of the content folder (a path relative to it, forward slashes) is in the replies folder."""
    return path.split("/", 1)[0] == FOLDER and "/" in path


def parse_reply(path: str, text: str) -> Reply:
    """One reply file; its problems are collected (with the line to fix), never raised."""
    problems: list[Problem] = []

    def problem(line: int, what: str, todo: str) -> None:
        problems.append(Problem(path, line, what, todo))

    def done(title: str = "", product: str | None = None, tags: tuple[str, ...] = (), body: str = "") -> Reply:
        return Reply(path, title, product, tags, body, tuple(sorted(problems, key=lambda p: p.line)))

    yaml_text, body, body_line = split_front_matter(text)
    if yaml_text is None:
        problem(1, "no front matter", "start the file with a '---' block holding 'title:', the name agents "
                                      "pick the reply by, and close it with '---'")
        return done(body=body.strip())
    try:
        meta = yaml.load(yaml_text, Loader=yaml.SafeLoader) or {}
        node = yaml.compose(yaml_text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem(2 + (mark.line if mark else 0), f"front matter is not valid YAML ({getattr(exc, 'problem', '') or exc})",
                "check indentation and quote values that contain ':' or '#'")
        return done()
    if not isinstance(meta, dict):
        problem(2, "front matter must be a list of 'key: value' lines", "write e.g. 'title: Ask for the logs'")
        return done()
    key_lines = {str(k.value): k.start_mark.line + 2 for k, _ in node.value} if isinstance(node, yaml.MappingNode) else {}

    title = meta.get("title")
    if title is None or (isinstance(title, str) and not title.strip()):
        problem(key_lines.get("title", 1), "missing front matter 'title'", f"add 'title:' with {FIELDS['title']}")
        title = ""
    elif not isinstance(title, str):
        problem(key_lines["title"], "'title' must be text", "put the title in quotes")
        title = ""
    product = None
    if meta.get("product") is not None:
        found = find_product(meta["product"])
        if found is None:
            problem(key_lines["product"], f"unknown product '{meta['product']}'", f"use {ARTICLE_FIELDS['product']}")
        else:
            product = found.slug
    tags = meta.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, (str, int)) for t in tags)):
        problem(key_lines["tags"], "'tags' must be a list of words", f"write {FIELDS['tags']}")
        tags = None
    for key in meta:
        if str(key) not in FIELDS:
            problem(key_lines.get(str(key), 1), f"unknown front matter key '{key}'",
                    "a reply has only: " + ", ".join(FIELDS) + " (check the spelling)")

    if not body.strip():
        problem(body_line, "the reply has no text", "write the reply below the front matter")
    for index, line in code_free_lines(body):
        for match in _PLACEHOLDER.finditer(line):
            if match.group(1) not in _KNOWN:
                problem(body_line + index, f"unknown placeholder '{match.group(0)}'",
                        f"use one of: {_PLACEHOLDER_LIST}, or write the text itself")
    return done(title.strip(), product, tuple(str(t) for t in tags or ()), body.strip())


def _files(content_dir: Path) -> list[Path]:
    folder = content_dir / FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.md")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def read_reply(content_dir: Path, file: Path) -> Reply:
    path = file.relative_to(content_dir).as_posix()
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return Reply(path, "", None, (), "", (Problem(path, 1, "the file is not UTF-8 text", "save it as UTF-8"),))
    except OSError as exc:
        return Reply(path, "", None, (), "", (Problem(path, 1, f"the file cannot be read ({exc.strerror})",
                                                      "check that it exists and may be read"),))
    return parse_reply(path, text)


def load_replies(content_dir: Path) -> list[Reply]:
    """Every reply file of the content folder, in file name order, with its problems."""
    return [read_reply(content_dir, file) for file in _files(content_dir)]


def check_replies(content_dir: Path) -> list[Problem]:
    """What `kbgen check` reports about the replies (paths relative to the content folder)."""
    return [p for reply in load_replies(content_dir) for p in reply.problems]


def fill(body: str, values: Mapping[str, str]) -> str:
    """The body with each known placeholder replaced by its value; other braces stay as written."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def values_for(ticket: Any, agent: Any) -> dict[str, str]:
    """The placeholders' values for one request and the agent answering it."""
    return {p.name: str(p.value(ticket, agent) or "") for p in PLACEHOLDERS}


def ordered(replies: Iterable[Reply], product: str | None) -> list[Reply]:
    """The product's replies first, then those for every product, then the other products' replies."""
    return sorted(replies, key=lambda r: (0 if product and r.product == product else 1 if r.product is None else 2,
                                          r.title.lower()))


class Shelf:
    """The usable replies of one content folder, read again when a file is added, changed or removed.

    A file with a problem is left out (and logged once per change); `kbgen check` says what to fix."""

    def __init__(self, content_dir: Path) -> None:
        self.content_dir = content_dir
        self._lock = threading.Lock()
        self._seen: tuple = ()
        self._replies: list[Reply] = []

    def _signature(self) -> tuple:
        stamps = []
        for file in _files(self.content_dir):
            try:
                stat = file.stat()
            except OSError:
                continue
            stamps.append((file.as_posix(), stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)

    def replies(self) -> list[Reply]:
        signature = self._signature()
        with self._lock:
            if signature != self._seen:
                loaded = load_replies(self.content_dir)
                for reply in loaded:
                    for problem in reply.problems:
                        log.warning("%s/%s (saved reply left out until it is fixed)",
                                    self.content_dir.as_posix(), problem)
                self._replies = [r for r in loaded if not r.problems]
                self._seen = signature
            return self._replies


_SHELVES: dict[Path, Shelf] = {}
_SHELVES_LOCK = threading.Lock()


def shelf(content_dir: Path) -> Shelf:
    """The one Shelf of a content folder in this process."""
    with _SHELVES_LOCK:
        return _SHELVES.setdefault(content_dir, Shelf(content_dir))
