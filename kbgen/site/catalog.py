"""The products, article types and portal sections the portal knows: defined once, used everywhere.

Front matter validation, the generated listing pages, the home page, the tabs, the
search facets, the ticket forms and the ticket keys all read these tuples.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    slug: str  # URL segment and form file name: /kb/<slug>/, /support/<slug>/, forms/<slug>.yml
    name: str  # what customers see and what writers put in front matter
    key_prefix: str  # ticket keys: XC-42
    tagline: str
    is_software: bool = True


PRODUCTS: tuple[Product, ...] = (
    Product("xcally", "XCALLY", "XC", "Omnichannel contact center (Motion V3)"),
    Product("xplany", "XPLANY", "XP", "Workforce management"),
    Product("witiop", "WitiOp", "WO", "WhatsApp Business interactions"),
    Product("vidaoo", "Vidaoo", "VD", "WebRTC video conferencing"),
    Product("license", "License", "LIC", "Licenses for every product", is_software=False),
)

SOFTWARE: tuple[Product, ...] = tuple(p for p in PRODUCTS if p.is_software)
LICENSING: Product = next(p for p in PRODUCTS if not p.is_software)  # the home page's LICENSE box


@dataclass(frozen=True)
class ArticleType:
    slug: str
    label: str  # section heading on listing pages, the article's chip, the nav and the facet label
    section: str  # where it lives in the portal: kb, wiki or license (a Section's slug)
    folder: str = ""  # `kbgen new` puts it in <section>/[<product>/]<folder>/; "" for the section itself


ARTICLE_TYPES: tuple[ArticleType, ...] = (
    ArticleType("how-to", "How-To", "kb", "how-to"),
    ArticleType("troubleshooting", "Troubleshooting", "kb", "troubleshooting"),
    ArticleType("installation", "Installation", "wiki", "installation"),
    ArticleType("reference", "Technical resources", "wiki", "technical"),
    ArticleType("license", "License", "license"),
)


@dataclass(frozen=True)
class Section:
    """A top-level part of the portal: a tab, a folder of the docs and a URL (/kb/, /wiki/, ...)."""

    slug: str
    name: str  # the title of its page and of its link on the home page
    tab: str  # its (shorter) name in the tabs and the nav
    lead: str = ""  # the sentence under its page's title
    blurb: str = ""  # what the home page says of it, under its name
    per_product: bool = False  # one page per product below it (/kb/<product>/)


# In the order of the tabs. Listing sections (kb, wiki, license) show the article types whose
# `section` they are; support and requests are kbgen's ticket pages.
SECTIONS: tuple[Section, ...] = (
    Section("kb", "Knowledge Base", "Knowledge Base", "How-To and Troubleshooting guides for every product.",
            "How-To and Troubleshooting guides for every product", per_product=True),
    Section("wiki", "Motion V3 Advanced Wiki", "Advanced Wiki",
            "Installation and technical resources for XCALLY Motion V3 administrators.",
            "Installation and technical resources"),
    Section("license", "License", "License",
            "How licensing works, renewals and moving a license to a new server.",
            "How licensing works, renewals, moving a license"),
    Section("support", "Contact us", "Contact us", blurb="Open a ticket with the support team"),
    Section("requests", "My requests", "My requests"),
)


def find_product(value: object) -> Product | None:
    """Match a writer's or customer's product value by name or slug, ignoring case."""
    if not isinstance(value, str):
        return None
    wanted = value.strip().lower()
    for product in PRODUCTS:
        if wanted in (product.slug, product.name.lower()):
            return product
    return None


def find_type(value: object) -> ArticleType | None:
    if not isinstance(value, str):
        return None
    wanted = value.strip().lower()
    for article_type in ARTICLE_TYPES:
        if wanted in (article_type.slug, article_type.label.lower()):
            return article_type
    return None


def product_by_slug(slug: str) -> Product:
    for product in PRODUCTS:
        if product.slug == slug:
            return product
    raise KeyError(slug)


def type_by_slug(slug: str) -> ArticleType:
    for article_type in ARTICLE_TYPES:
        if article_type.slug == slug:
            return article_type
    raise KeyError(slug)


def section_by_slug(slug: str) -> Section:
    for section in SECTIONS:
        if section.slug == slug:
            return section
    raise KeyError(slug)


def types_of(section: str) -> tuple[ArticleType, ...]:
    """The article types a listing section shows, in catalog order."""
    return tuple(t for t in ARTICLE_TYPES if t.section == section)

