"""A writer's text is text: titles, front matter and nav names escaped before a theme prints them.

MkDocs renders templates without autoescape, and Material prints titles, section names
and front matter values as they are; escaping them (as Markup, so a template's own `| e`
leaves them alone) keeps a title like `<img onerror=...>` from becoming markup anywhere it
shows: the nav of every page, the tabs, the <title>, the heading. The functions take MkDocs'
page and nav objects by their attributes, so they are tested without a build.
"""
from __future__ import annotations

import html

from markupsafe import Markup, escape

from kbgen.site.nav import walk


def title_text(page) -> str | None:
    """A page's title as plain text, whichever of MkDocs' sources it comes from."""
    title = page.title
    if title is None or isinstance(title, Markup):
        return None if title is None else title.unescape()
    if "title" in vars(page) or "title" in (page.meta or {}):
        return str(title)  # nav config, a plugin or front matter: written as text
    if page._title_from_render:
        return html.unescape(page._title_from_render)  # the rendered <h1>: tags stripped, entities kept
    return str(title)  # the file name, or "Home"


def place_of(page) -> tuple[str, ...]:
    """The names of the nav sections a page is in, outermost first, as plain text (a search result's breadcrumbs)."""
    names = []
    for section in reversed(list(page.ancestors or ())):
        title = section.title
        text = title.unescape() if isinstance(title, Markup) else str(title or "")
        if text.strip():
            names.append(" ".join(text.split()))
    return tuple(names)


def writer_text(value):
    """Front matter as the theme may print it: strings escaped, lists and mappings through."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return escape(value)
    if isinstance(value, list):
        return [writer_text(v) for v in value]
    if isinstance(value, dict):
        return {k: writer_text(v) for k, v in value.items()}
    return value


def escape_page(page) -> None:
    """The page's title, front matter and headings (its table of contents) as escaped text."""
    title = title_text(page)
    if page.meta:
        page.meta.update({key: writer_text(value) for key, value in page.meta.items()})
    if title is not None:
        page.title = escape(title)
    for anchor in _anchors(page.toc or []):
        if not isinstance(anchor.title, Markup):
            anchor.title = escape(html.unescape(anchor.title or ""))  # Markdown's heading text: entities kept


def escape_nav_titles(items) -> None:
    """Sections' and links' names: a folder name, a nav config entry or a .pages file (pages are escape_page's)."""
    for item in walk(items):
        if not getattr(item, "is_page", False) and isinstance(item.title, str) \
                and not isinstance(item.title, Markup):
            item.title = escape(item.title)


def _anchors(toc):
    for anchor in toc:
        yield anchor
        yield from _anchors(anchor.children)
