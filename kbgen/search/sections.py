"""A rendered page's body HTML as plain-text sections, one per <h2>/<h3>, with their anchors.

Regular expressions rather than an HTML parser: the input is MkDocs' own well-formed
output, and this runs on every page of every build (a parser is several times slower).
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

_DROP = re.compile(r"<(script|style|template|svg)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1\s*>", re.S | re.I)
_HEADING = re.compile(r"<h([23])\b([^>]*)>(.*?)</h\1\s*>", re.S | re.I)
_ID = re.compile(r"""\bid\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_HEADERLINK = re.compile(r"<a\b[^>]*\bclass\s*=\s*[\"'][^\"']*headerlink[^>]*>.*?</a\s*>", re.S | re.I)
# Inline tags vanish without a gap (syntax highlighting splits words into spans); any
# other tag separates words.
_INLINE = re.compile(r"</?(?:a|abbr|b|code|del|em|i|ins|kbd|mark|q|s|small|span|strong|sub|sup|u|wbr)\b[^>]*>",
                     re.I)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Section:
    anchor: str  # "" for the text before the first h2/h3
    heading: str  # the page's <h1> (or "") for the text before the first h2/h3
    text: str
    level: int  # 1 for the page top, else 2 or 3


def html_to_text(fragment: str) -> str:
    text = _INLINE.sub("", fragment)
    text = _TAG.sub(" ", text)
    return _SPACE.sub(" ", html.unescape(text)).strip()


def split_sections(body_html: str) -> list[Section]:
    """The page top and one section per h2/h3; empty sections are kept when they have a heading."""
    cleaned = _DROP.sub(" ", body_html)
    h1 = _H1.search(cleaned)
    # The page's own <h1> heads the text before the first h2 (it may differ from the nav title).
    heading = html_to_text(_HEADERLINK.sub("", h1.group(1))) if h1 else ""
    cleaned = _H1.sub(" ", cleaned)
    sections: list[Section] = []
    anchor, level, start = "", 1, 0
    for match in _HEADING.finditer(cleaned):
        text = html_to_text(cleaned[start:match.start()])
        if text or heading:
            sections.append(Section(anchor, heading, text, level))
        attrs = match.group(2)
        found = _ID.search(attrs)
        anchor = next((g for g in found.groups() if g is not None), "") if found else ""
        heading = html_to_text(_HEADERLINK.sub("", match.group(3)))
        level = int(match.group(1))
        start = match.end()
    text = html_to_text(cleaned[start:])
    if text or heading:
        sections.append(Section(anchor, heading, text, level))
    return sections
