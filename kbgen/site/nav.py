"""The portal's menus: the order of the tabs and sections, and the names they show.

MkDocs builds the nav from the docs folders and names a section after its folder
("kb", "technical"); these rules give the catalog's names and order instead.
They work on any objects shaped like MkDocs' nav items (`is_page`, `is_section`,
`children`, `parent`, `title`, `file.src_uri`), so they are tested without a build.
"""
from __future__ import annotations

from kbgen.site.catalog import ARTICLE_TYPES, PRODUCTS, SECTIONS

# Order of the portal's tabs, then of sections inside them; other folders keep MkDocs' order after these.
TAB_ORDER = ("index.md", *(s.slug for s in SECTIONS))
SECTION_ORDER = (*(p.slug for p in PRODUCTS), *(t.slug for t in ARTICLE_TYPES),
                 *(t.folder for t in ARTICLE_TYPES if t.folder and t.folder != t.slug))
# A docs folder's name in the menus: a section's tab name, a product's name, an article type's label.
SECTION_TITLES = {**{s.slug: s.tab for s in SECTIONS}, **{p.slug: p.name for p in PRODUCTS},
                  **{t.slug: t.label for t in ARTICLE_TYPES}, **{t.folder: t.label for t in ARTICLE_TYPES if t.folder}}


def folder_of(item) -> str | None:
    """The docs folder a nav section stands for (MkDocs titles it from the folder name)."""
    page = next((p for p in pages_of(item)), None)
    if page is None:
        return None
    parts = page.file.src_uri.split("/")
    depth = 0
    parent = item.parent
    while parent is not None:
        depth, parent = depth + 1, parent.parent
    return parts[depth] if len(parts) > depth + 1 else None


def pages_of(item):
    if getattr(item, "is_page", False):
        yield item
    for child in getattr(item, "children", None) or []:
        yield from pages_of(child)


def walk(items):
    """Every nav item, sections before their children."""
    for item in items:
        yield item
        yield from walk(getattr(item, "children", None) or [])


def portal_nav(items: list, hidden: set[str], top: bool = True) -> list:
    """The nav items in the portal's order and names, without the pages whose source is in `hidden`
    (kbgen's utility pages: sign in, search results, one ticket); empty sections go too."""
    kept = []
    for item in items:
        if getattr(item, "is_page", False) and item.file.src_uri in hidden:
            continue
        if getattr(item, "is_section", False):
            item.children = portal_nav(item.children, hidden, top=False)
            if not item.children:
                continue
            folder = folder_of(item)
            if folder in SECTION_TITLES:
                item.title = SECTION_TITLES[folder]
        kept.append(item)

    order = TAB_ORDER if top else SECTION_ORDER

    def rank(item) -> int:
        if getattr(item, "is_page", False):
            key = item.file.src_uri if top else item.file.src_uri.rstrip("/").split("/")[-1]
            if not top and key == "index.md":
                return -1  # a section's own page comes first
        else:
            key = folder_of(item)
        return order.index(key) if key in order else len(order)

    return sorted(kept, key=rank)
