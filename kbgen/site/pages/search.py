"""The full results page (/search/?q=): a static shell that kbgen-search.js fills from /api/search."""
from __future__ import annotations

from html import escape

from kbgen.site.generated import GeneratedPage

SRC_URI = "search/index.md"


def render(base: str) -> str:
    root = escape(base)
    return f"""<div class="kbgen-results" data-kbgen-results data-kbgen-root="{root}">
  <form class="kbgen-search kbgen-search--page" data-kbgen-search action="{root}search/" method="get" role="search">
    <label for="kbgen-page-q" class="kbgen-visually-hidden">Search the support portal</label>
    <input id="kbgen-page-q" name="q" type="search" autocomplete="off" spellcheck="false" maxlength="500"
           placeholder="Describe your problem, e.g. one-way audio on calls" aria-label="Search the support portal">
    <button type="submit">Search</button>
  </form>
  <div class="kbgen-results__filters" data-kbgen-filters></div>
  <p class="kbgen-results__status" role="status" aria-live="polite" data-kbgen-status></p>
  <ol class="kbgen-results__list" data-kbgen-list></ol>
  <nav class="kbgen-results__pager" aria-label="Result pages" data-kbgen-pager></nav>
  <noscript><p class="kbgen-results__status">Search results need JavaScript. You can browse the
    <a href="{root}kb/">Knowledge Base</a> or <a href="{root}support/">contact us</a>.</p></noscript>
</div>
"""


def search_page() -> GeneratedPage:
    return GeneratedPage(SRC_URI, "Search", render, hide=("toc", "navigation"), in_nav=False)
