"""Internal link and anchor checking over Markdown sources, with line numbers.

MkDocs validates links too, but only per page and without lines; writers need
`file:line` to fix a link, so kbgen reads the sources itself.
"""
from __future__ import annotations

import posixpath
import re
from typing import Iterable
from urllib.parse import unquote, urlsplit

from markdown.extensions.toc import slugify

from kbgen.site.content import Article, Problem

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^)]*[\"'])?\s*\)")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_ATTR_ID = re.compile(r"\{[^}]*#([\w\-:.]+)[^}]*\}\s*$")
_HTML_ID = re.compile(r"""\bid=["']([^"']+)["']""")


def code_free_lines(body: str) -> Iterable[tuple[int, str]]:
    """Yield (index, line) for lines outside fenced code, with inline code removed."""
    in_fence = None
    for index, line in enumerate(body.splitlines()):
        fence = _FENCE.match(line)
        if fence:
            marker = fence.group(1)
            if in_fence is None:
                in_fence = marker
            elif marker == in_fence:
                in_fence = None
            continue
        if in_fence is None:
            yield index, _INLINE_CODE.sub("", line)


def anchors_of(body: str) -> set[str]:
    """The ids a page's headings get from the toc extension (default slugify, de-duplicated)."""
    anchors: set[str] = set()
    for _, line in code_free_lines(body):
        heading = _HEADING.match(line)
        if heading:
            text = heading.group(2)
            custom = _ATTR_ID.search(text)
            if custom:
                anchors.add(custom.group(1))
                continue
            text = re.sub(r"\{[^}]*\}\s*$", "", text)
            text = re.sub(r"[*_`]|\[([^\]]*)\]\([^)]*\)", r"\1", text)
            slug = slugify(text, "-")
            candidate, n = slug, 1
            while candidate in anchors:
                candidate = f"{slug}_{n}"
                n += 1
            anchors.add(candidate)
        anchors.update(_HTML_ID.findall(line))
        attr = re.search(r"\{:?\s*#([\w\-:.]+)[^}]*\}", line)
        if attr:
            anchors.add(attr.group(1))
    return anchors


def links_of(body: str) -> Iterable[tuple[int, str]]:
    """Yield (0-based line index in body, target) of every Markdown link."""
    for index, line in code_free_lines(body):
        for match in _LINK.finditer(line):
            yield index, match.group(1)
        ref = _REF_DEF.match(line)
        if ref:
            yield index, ref.group(1)


def check_links(articles: list[Article], other_files: Iterable[str] = ()) -> list[Problem]:
    """Report links to Markdown pages or files that do not exist, and anchors no heading has."""
    by_path = {a.path: a for a in articles}
    known_files = set(other_files) | set(by_path)
    anchor_cache: dict[str, set[str]] = {}

    def anchors(path: str) -> set[str]:
        if path not in anchor_cache:
            anchor_cache[path] = anchors_of(by_path[path].body)
        return anchor_cache[path]

    problems: list[Problem] = []
    for article in articles:
        for index, target in links_of(article.body):
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or target.startswith(("/", "mailto:", "tel:")):
                continue  # external or site-absolute: not a writer's file
            line = article.body_line + index
            link_path, fragment = unquote(parts.path), unquote(parts.fragment)
            if not link_path:
                dest = article.path
            else:
                dest = posixpath.normpath(posixpath.join(posixpath.dirname(article.path), link_path))
                if dest.endswith("/") or dest not in known_files and not dest.endswith(".md"):
                    index_md = posixpath.join(dest.rstrip("/"), "index.md")
                    if index_md in known_files:
                        dest = index_md
                if dest not in known_files:
                    problems.append(Problem(
                        article.path, line, f"broken link '{target}': {dest} does not exist",
                        "fix the path (it is relative to this file) or create the page"))
                    continue
            if fragment and dest in by_path and fragment not in anchors(dest):
                problems.append(Problem(
                    article.path, line, f"broken anchor '{target}': {dest} has no heading '#{fragment}'",
                    "link to an existing heading (anchors are the heading text in lower case, "
                    "spaces as '-')"))
    return problems
