"""`kbgen new`: a new article in the folder its product and type belong to."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from kbgen.site.catalog import find_product, find_type, section_by_slug, type_by_slug
from kbgen.site.content import FIELDS


class ScaffoldError(Exception):
    pass


def article_folder(product_slug: str, type_slug: str) -> Path:
    """Where the catalog says an article of this type lives: kb/xcally/how-to, wiki/technical, license."""
    kind = type_by_slug(type_slug)
    folder = Path(kind.section)
    if section_by_slug(kind.section).per_product:
        folder /= product_slug
    return folder / kind.folder if kind.folder else folder


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:80].rstrip("-") or "article"


def new_article(content_dir: Path, title: str, product: str, type_: str, summary: str = "",
                today: dt.date | None = None) -> Path:
    found_product, found_type = find_product(product), find_type(type_)
    if found_product is None:
        raise ScaffoldError(f"unknown product '{product}': use {FIELDS['product']}")
    if found_type is None:
        raise ScaffoldError(f"unknown type '{type_}': use {FIELDS['type']}")
    if not title.strip():
        raise ScaffoldError("the title is empty")
    path = content_dir / article_folder(found_product.slug, found_type.slug) / f"{slugify(title)}.md"
    if path.exists():
        raise ScaffoldError(f"{path} already exists: choose another title or edit that file")
    path.parent.mkdir(parents=True, exist_ok=True)
    summary_text = summary.strip() or "TODO: one sentence saying what this article helps with."
    body = "## Steps\n\n1. ...\n" if found_type.slug != "troubleshooting" else (
        "## Symptoms\n\n...\n\n## Cause\n\n...\n\n## Resolution\n\n1. ...\n")
    path.write_text(
        "---\n"
        f"title: {_yaml_str(title.strip())}\n"
        f"product: {found_product.name}\n"
        f"type: {found_type.slug}\n"
        f"summary: {_yaml_str(summary_text)}\n"
        "tags: []\n"
        f"updated: {(today or dt.date.today()).isoformat()}\n"
        "---\n\n"
        "Say in two sentences who this is for and what it solves.\n\n" + body,
        encoding="utf-8")
    return path


def _yaml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
