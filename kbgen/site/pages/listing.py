"""The portal's listing pages, generated from front matter so nobody keeps a list by hand.

Knowledge Base (a page per product with its guides by type, and a card per product),
the Motion V3 Advanced Wiki and License: which sections exist, their names, leads and
article types come from kbgen/site/catalog.py; the markup is in kbgen/theme/pages/listing/.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kbgen.site.catalog import SOFTWARE, Product, find_product, product_by_slug, section_by_slug, types_of
from kbgen.site.generated import GeneratedPage
from kbgen.templates import render

__all__ = ["Entry", "contact_footer", "portal_pages"]


@dataclass(frozen=True)
class Entry:
    """An article as listed on portal pages."""

    url: str  # relative to the site root
    title: str
    summary: str
    product: str | None
    type: str | None
    updated: dt.date | None = None

    @property
    def updated_date(self) -> dt.date | None:
        """The front matter's date when it is one (a writer may have typed anything)."""
        return self.updated if isinstance(self.updated, dt.date) else None


def _page(template: str, root: str, contact_product: Product | None, **context: Any) -> str:
    return render(template, root=root, contact_product=contact_product, support=section_by_slug("support"),
                  **context)


def contact_footer(base: str, product_slug: str | None) -> str:
    """The line every article ends with, leading to its product's ticket form."""
    return _page("pages/contact.html", base, find_product(product_slug) if product_slug else None)


def _listed(entries: list[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: e.title.lower())


def portal_pages(entries: list[Entry], existing: set[str]) -> list[GeneratedPage]:
    """Listing pages for the sections and products that have articles; a writer's own file at that path wins."""
    pages: list[GeneratedPage] = []
    kb_types = {t.slug for t in types_of("kb")}
    kb_products = [p for p in SOFTWARE if any(e.product == p.slug and e.type in kb_types for e in entries)]

    def add(page: GeneratedPage) -> None:
        if page.src_uri not in existing:
            pages.append(page)

    for product in kb_products:
        add(_product_page(product, entries))
    if kb_products:
        add(_kb_home(kb_products, entries))
    if any(e.type in {t.slug for t in types_of("wiki")} for e in entries):
        add(_wiki_home(entries))
    if any(e.product == "license" or e.type == "license" for e in entries):
        add(_license_home(entries))
    return pages


def _product_page(product: Product, entries: list[Entry]) -> GeneratedPage:
    kb = section_by_slug("kb")
    by_type = [(kind, _listed([e for e in entries if e.product == product.slug and e.type == kind.slug]))
               for kind in types_of(kb.slug)]

    def render_page(root: str) -> str:
        return _page("pages/listing/product.html", root, product, product=product, by_type=by_type)

    return GeneratedPage(f"{kb.slug}/{product.slug}/index.md", f"{product.name} {kb.name}", render_page)


def _kb_home(products: list[Product], entries: list[Entry]) -> GeneratedPage:
    kb = section_by_slug("kb")
    cards = [(product, [(kind, sum(1 for e in entries if e.product == product.slug and e.type == kind.slug))
                        for kind in types_of(kb.slug)])
             for product in products]

    def render_page(root: str) -> str:
        return _page("pages/listing/kb.html", root, None, section=kb, cards=cards)

    return GeneratedPage(f"{kb.slug}/index.md", kb.name, render_page)


def _wiki_home(entries: list[Entry]) -> GeneratedPage:
    wiki = section_by_slug("wiki")
    by_type = [(kind, _listed([e for e in entries if e.type == kind.slug])) for kind in types_of(wiki.slug)]

    def render_page(root: str) -> str:
        return _page("pages/listing/wiki.html", root, None, section=wiki, by_type=by_type)

    return GeneratedPage(f"{wiki.slug}/index.md", wiki.name, render_page)


def _license_home(entries: list[Entry]) -> GeneratedPage:
    section = section_by_slug("license")
    license_product = product_by_slug("license")
    listed = _listed([e for e in entries if e.product == license_product.slug or e.type == "license"])

    def render_page(root: str) -> str:
        return _page("pages/listing/license.html", root, license_product, section=section, entries=listed)

    return GeneratedPage(f"{section.slug}/index.md", section.name, render_page)
