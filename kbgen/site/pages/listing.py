"""The portal's listing pages, generated from front matter so nobody keeps a list by hand.

Knowledge Base (per product: How-To and Troubleshooting), the Motion V3
Advanced Wiki (installation and technical resources) and License.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape

from kbgen.site.catalog import ARTICLE_TYPES, PRODUCTS, SOFTWARE, Product
from kbgen.site.generated import GeneratedPage


@dataclass(frozen=True)
class Entry:
    """An article as listed on portal pages."""

    url: str  # relative to the site root
    title: str
    summary: str
    product: str | None
    type: str | None
    updated: dt.date | None = None


def _label(type_slug: str) -> str:
    return next(t.label for t in ARTICLE_TYPES if t.slug == type_slug)


def _article_list(entries: list[Entry], base: str, empty: str) -> str:
    if not entries:
        return f'<p class="kbgen-empty">{escape(empty)}</p>'
    items = []
    for entry in sorted(entries, key=lambda e: e.title.lower()):
        updated = (f'<span class="kbgen-updated">Updated {entry.updated:%d %b %Y}</span>'
                   if isinstance(entry.updated, dt.date) else "")
        summary = f"<p>{escape(entry.summary)}</p>" if entry.summary else ""
        items.append(f'<li><a href="{escape(base + entry.url)}">{escape(entry.title)}</a>{summary}{updated}</li>')
    return '<ul class="kbgen-articles">' + "".join(items) + "</ul>"


def _contact(base: str, product: Product | None) -> str:
    target = f"support/{product.slug}/" if product else "support/"
    return (f'<aside class="kbgen-contact"><span>Need to raise a request?</span> '
            f'<a class="md-button md-button--primary" href="{escape(base + target)}">Contact us</a></aside>')


def contact_footer(base: str, product_slug: str | None) -> str:
    """The line every article ends with, leading to its product's ticket form."""
    product = next((p for p in PRODUCTS if p.slug == product_slug), None)
    return _contact(base, product)


def portal_pages(entries: list[Entry], existing: set[str]) -> list[GeneratedPage]:
    """Listing pages for the products that have articles; a writer's own file at that path wins."""
    pages: list[GeneratedPage] = []
    kb_products = [p for p in SOFTWARE
                   if any(e.product == p.slug and e.type in ("how-to", "troubleshooting") for e in entries)]

    def add(page: GeneratedPage) -> None:
        if page.src_uri not in existing:
            pages.append(page)

    for product in kb_products:
        add(_product_page(product, entries))
    if kb_products:
        add(_kb_home(kb_products, entries))
    if any(e.type in ("installation", "reference") for e in entries):
        add(_wiki_home(entries))
    if any(e.product == "license" or e.type == "license" for e in entries):
        add(_license_home(entries))
    return pages


def _product_page(product: Product, entries: list[Entry]) -> GeneratedPage:
    mine = [e for e in entries if e.product == product.slug]

    def render(base: str) -> str:
        sections = [f'<p class="kbgen-lead">{escape(product.tagline)}: guides written by the support team.</p>']
        for type_slug in ("how-to", "troubleshooting"):
            listed = [e for e in mine if e.type == type_slug]
            sections.append(f'<h2 id="{type_slug}">{escape(_label(type_slug))}</h2>')
            sections.append(_article_list(listed, base, f"No {_label(type_slug)} guides for {product.name} yet."))
        sections.append(_contact(base, product))
        return "\n".join(sections)

    return GeneratedPage(f"kb/{product.slug}/index.md", f"{product.name} Knowledge Base", render)


def _kb_home(products: list[Product], entries: list[Entry]) -> GeneratedPage:
    def render(base: str) -> str:
        cards = []
        for product in products:
            counts = {t: sum(1 for e in entries if e.product == product.slug and e.type == t)
                      for t in ("how-to", "troubleshooting")}
            cards.append(
                f'<a class="kbgen-card" href="{escape(base)}kb/{product.slug}/">'
                f'<h2>{escape(product.name)}</h2><p>{escape(product.tagline)}</p>'
                f'<p class="kbgen-counts">{counts["how-to"]} How-To · {counts["troubleshooting"]} Troubleshooting</p></a>')
        return ('<p class="kbgen-lead">How-To and Troubleshooting guides for every product.</p>'
                f'<div class="kbgen-cards">{"".join(cards)}</div>' + _contact(base, None))

    return GeneratedPage("kb/index.md", "Knowledge Base", render)


def _wiki_home(entries: list[Entry]) -> GeneratedPage:
    def render(base: str) -> str:
        parts = ['<p class="kbgen-lead">Installation and technical resources for XCALLY Motion V3 '
                 'administrators.</p>']
        for type_slug in ("installation", "reference"):
            parts.append(f'<h2 id="{type_slug}">{escape(_label(type_slug))}</h2>')
            parts.append(_article_list([e for e in entries if e.type == type_slug], base, "Nothing here yet."))
        parts.append(_contact(base, None))
        return "\n".join(parts)

    return GeneratedPage("wiki/index.md", "Motion V3 Advanced Wiki", render)


def _license_home(entries: list[Entry]) -> GeneratedPage:
    license_product = next(p for p in PRODUCTS if p.slug == "license")

    def render(base: str) -> str:
        listed = [e for e in entries if e.product == "license" or e.type == "license"]
        return ('<p class="kbgen-lead">How licensing works, renewals and moving a license to a new server.</p>'
                + _article_list(listed, base, "No license articles yet.")
                + f'<p><a class="md-button" href="{escape(base)}support/license/">Open a license request</a></p>'
                + _contact(base, license_product))

    return GeneratedPage("license/index.md", "License", render)
