"""The products and article types the portal knows: defined once, used everywhere.

Front matter validation, the generated product pages, the search facets, the
ticket forms and the ticket keys all read these tuples.
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


@dataclass(frozen=True)
class ArticleType:
    slug: str
    label: str  # section heading on product pages and facet label
    section: str  # where it lives in the portal: kb, wiki or license


ARTICLE_TYPES: tuple[ArticleType, ...] = (
    ArticleType("how-to", "How-To", "kb"),
    ArticleType("troubleshooting", "Troubleshooting", "kb"),
    ArticleType("installation", "Installation", "wiki"),
    ArticleType("reference", "Technical resources", "wiki"),
    ArticleType("license", "License", "license"),
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
