"""The full results page (/search/?q=): a static shell that kbgen-search.js fills from /api/search.

The markup is kbgen/theme/pages/search.html.
"""
from __future__ import annotations

from kbgen.facts import page
from kbgen.site.catalog import section_by_slug
from kbgen.site.generated import GeneratedPage
from kbgen.templates import render

SRC_URI = page("search") + "index.md"


def render_page(base: str) -> str:
    return render("pages/search.html", root=base, kb=section_by_slug("kb"))


def search_page() -> GeneratedPage:
    return GeneratedPage(SRC_URI, "Search", render_page, hide=("toc", "navigation"), in_nav=False)
