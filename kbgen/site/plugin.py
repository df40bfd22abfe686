"""The MkDocs plugin: a thin adapter between MkDocs' build events and kbgen's modules.

Everything MkDocs-specific lives here and in theme/, so moving to a successor
of MkDocs means rewriting this file, not the content model, the forms or the index.
"""
from __future__ import annotations

import html
import logging
import os
from pathlib import Path

from markupsafe import Markup, escape

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files

from kbgen.site.catalog import ARTICLE_TYPES, PRODUCTS
from kbgen.site.csp import POLICY_FILE, BuiltPolicy, api_origin_of, inline_scripts, source_hash
from kbgen.site.pages.account import account_pages
from kbgen.site.check import ContentRules, check_articles, located
from kbgen.site.content import Article, parse_article
from kbgen.site.pages.support import support_pages
from kbgen.forms import FormDefinitionError, load_catalog
from kbgen.site.generated import GeneratedPage
from kbgen.site.pages.listing import Entry, contact_footer, portal_pages
from kbgen.site.pages.requests import request_pages
from kbgen.search.indexer import IndexBuilder, PageRecord, update_pages
from kbgen.site.pages.search import search_page
from kbgen.settings import default_index_dir
from kbgen.templates import THEME_DIR

log = logging.getLogger("mkdocs.plugins.kbgen")

SYNONYMS_FILE = "synonyms.yml"


class _PluginConfig(base.Config):
    required = c.ListOfItems(c.Type(str), default=["title"])
    closed_front_matter = c.Type(bool, default=False)
    check_links = c.Type(bool, default=True)
    index_dir = c.Optional(c.Type(str))  # default: Settings' index dir of the project
    forms_dir = c.Type(str, default="forms")
    search_index = c.Type(bool, default=True)


def site_root(page_url: str) -> str:
    """Relative URL from a page to the site root: 'kb/xcally/' -> '../../'."""
    depth = page_url.count("/")
    return "../" * depth if depth else "./"


class KbgenPlugin(BasePlugin[_PluginConfig]):
    def __init__(self) -> None:
        self.dirty = False
        self.articles: dict[str, Article] = {}
        self.generated: dict[str, GeneratedPage] = {}
        self.indexer = None
        self.changed: list = []  # page records of a dirty (preview) rebuild
        self.policy = BuiltPolicy()
        self.nav = None

    def on_startup(self, *, command, dirty) -> None:
        self.dirty = dirty

    def on_config(self, config):
        # kbgen's templates and assets (kbgen/theme/) come after a site's own custom_dir, before Material's.
        dirs = config.theme.dirs
        if str(THEME_DIR) not in dirs:
            dirs.insert(1 if config.theme.custom_dir else 0, str(THEME_DIR))
        project = Path(config.config_file_path or ".").resolve().parent
        self.project_dir = project
        self.index_dir = (project / self.config.index_dir) if self.config.index_dir else default_index_dir(project)
        self.forms_dir = project / self.config.forms_dir
        self.rules = ContentRules(tuple(self.config.required), self.config.closed_front_matter,
                                  self.config.check_links)
        self.policy = BuiltPolicy(api_origin=api_origin_of((config.extra.get("kbgen") or {}).get("api_url")))
        return config

    def on_files(self, files: Files, *, config) -> Files:
        docs_dir = Path(config.docs_dir)
        self.articles.clear()
        for file in files.documentation_pages():
            self.articles[file.src_uri] = _parsed(file, self.rules.required)
        other_files = {f.src_uri for f in files if not f.is_documentation_page()}
        problems = check_articles(list(self.articles.values()), self.rules, other_files)
        for problem in problems:
            log.warning(located(docs_dir, problem))
        if problems and config.strict:
            raise PluginError(f"{len(problems)} content problem(s) above; nothing was written. "
                              "Fix them, or run 'kbgen check' to list them again.")

        synonyms = files.get_file_from_path(SYNONYMS_FILE)
        self.synonyms_path = Path(synonyms.abs_src_path) if synonyms else None
        if synonyms:
            files.remove(synonyms)  # search configuration, not a public file

        entries = [Entry(files.get_file_from_path(path).url, a.title, str(a.meta.get("summary") or ""),
                         a.product, a.type, a.meta.get("updated"))
                   for path, a in self.articles.items()]
        self.generated = {}
        existing = set(self.articles)
        for page in self._generated_pages(entries, existing):
            if page.src_uri in existing or page.src_uri in self.generated:
                continue
            self.generated[page.src_uri] = page
            files.append(File.generated(config, page.src_uri, content=page.source()))
        self._start_index()
        self.total_pages = len(files.documentation_pages())
        self.rendered = 0
        return files

    def _generated_pages(self, entries: list[Entry], existing: set[str]) -> list[GeneratedPage]:
        pages = list(portal_pages(entries, existing))
        if self.forms_dir.is_dir():
            try:
                pages += support_pages(load_catalog(self.forms_dir))
            except FormDefinitionError as exc:
                raise PluginError("Ticket forms are invalid:\n" + "\n".join(exc.problems)) from None
        pages += account_pages()
        pages += request_pages()
        if self.config.search_index:
            pages.append(search_page())
        return pages

    def on_nav(self, nav, *, config, files):
        """Portal names for the tabs and sections; kbgen's utility pages stay out of the menus."""
        nav.items = _portal_nav(nav.items, self.generated)
        self.nav = nav
        return nav

    def _start_index(self) -> None:
        self.indexer, self.changed = None, []
        if not self.config.search_index:
            return
        incremental = self.dirty and self.index_dir.exists() and any(self.index_dir.iterdir())
        if not incremental:
            self.indexer = IndexBuilder(self.index_dir, self.synonyms_path)

    def on_page_content(self, html: str, *, page, config, files) -> str:
        self._progress()
        src = page.file.src_uri
        root = site_root(page.url)
        if src in self.generated:
            return self.generated[src].render(root)
        article = self.articles.get(src)
        if article is None:
            return html
        if self.config.search_index and page.meta.get("search", {}) != {"exclude": True}:
            self._index(page, article, html)
        if article.product:
            html += contact_footer(root, article.product)
        return html

    def _progress(self) -> None:
        """Long builds say how far they are, every tenth of the pages."""
        self.rendered += 1
        step = max(self.total_pages // 10, 1)
        if self.total_pages >= 200 and (self.rendered % step == 0 or self.rendered == self.total_pages):
            log.info(f"kbgen: rendered {self.rendered}/{self.total_pages} pages")

    def _index(self, page, article: Article, html: str) -> None:
        tags = article.meta.get("tags") or []
        record = PageRecord(url=page.url, path=article.path, title=_title_text(page) or article.title, html=html,
                            product=article.product, type=article.type,
                            tags=[str(t) for t in tags] if isinstance(tags, list) else [],
                            summary=str(article.meta.get("summary") or ""))
        if self.indexer is not None:
            self.indexer.add(record)
        else:
            self.changed.append(record)

    def on_env(self, env, *, config, files):
        """Every writer's text becomes escaped text before the first template renders.

        MkDocs renders templates without autoescape, and Material prints titles, section names
        and front matter values as they are; escaping them here (as Markup, so a template's own
        `| e` leaves them alone) keeps a title like `<img onerror=...>` from becoming markup
        anywhere it shows: the nav of every page, the tabs, the <title>, the heading."""
        for file in files.documentation_pages():
            if file.page is not None:
                _escape_page(file.page)
        for item in _nav_items(self.nav.items if self.nav is not None else []):
            if not getattr(item, "is_page", False) and isinstance(item.title, str) \
                    and not isinstance(item.title, Markup):
                item.title = escape(item.title)  # a section's folder name, a nav config entry or .pages
        return env

    def on_page_context(self, context, *, page, config, nav):
        article = self.articles.get(page.file.src_uri)
        context["kbgen_article"] = _article_facts(article) if article is not None else None
        return context

    def on_post_page(self, output: str, *, page, config) -> str:
        self._hash_theme_scripts(output, page.content or "")
        return output

    def on_post_template(self, output_content: str, *, template_name: str, config) -> str:
        if template_name.endswith(".html"):
            self._hash_theme_scripts(output_content, "")
        return output_content

    def _hash_theme_scripts(self, output: str, content: str) -> None:
        """The Content-Security-Policy trusts the theme's inline scripts by hash; a writer's script in
        the page body is never trusted (kbgen check reports it), so the body is left out first."""
        writers = set(inline_scripts(content)) if content else set()
        theme_part = output.replace(content, "") if content else output
        for text in inline_scripts(theme_part):
            if text not in writers:
                self.policy.script_hashes.add(source_hash(text))

    def on_post_build(self, *, config) -> None:
        site = Path(config.site_dir)
        if self.dirty and (site / POLICY_FILE).is_file():
            try:  # a preview rebuild renders only the changed pages: keep what the others needed
                self.policy.script_hashes |= BuiltPolicy.read(site / POLICY_FILE).script_hashes
            except (OSError, ValueError):
                pass
        self.policy.write(site)
        if self.indexer is not None:
            self.indexer.finish()
            log.info(f"kbgen: search index written to {self.index_dir}")
        elif self.changed:
            update_pages(self.index_dir, self.changed, synonyms_file=self.synonyms_path)
            log.info(f"kbgen: search index updated for {len(self.changed)} page(s)")

    def on_build_error(self, *, error) -> None:
        if self.indexer is not None:
            self.indexer.abort()
            self.indexer = None


# Order of the portal's tabs, then of sections inside them; other folders keep MkDocs' order after these.
_TAB_ORDER = ("index.md", "kb", "wiki", "license", "support", "requests")
_SECTION_ORDER = (*(p.slug for p in PRODUCTS), *(t.slug for t in ARTICLE_TYPES), "technical")
_SECTION_TITLES = {"kb": "Knowledge Base", "wiki": "Advanced Wiki", "technical": "Technical resources",
                   "support": "Contact us", "requests": "My requests",
                   **{p.slug: p.name for p in PRODUCTS}, **{t.slug: t.label for t in ARTICLE_TYPES}}


def _folder(item) -> str | None:
    """The docs folder a nav section stands for (MkDocs titles it from the folder name)."""
    page = next((p for p in _pages(item)), None)
    if page is None:
        return None
    parts = page.file.src_uri.split("/")
    depth = 0
    parent = item.parent
    while parent is not None:
        depth, parent = depth + 1, parent.parent
    return parts[depth] if len(parts) > depth + 1 else None


def _pages(item):
    if getattr(item, "is_page", False):
        yield item
    for child in getattr(item, "children", None) or []:
        yield from _pages(child)


def _portal_nav(items: list, generated: dict, top: bool = True) -> list:
    kept = []
    for item in items:
        if getattr(item, "is_page", False) and item.file.src_uri in generated \
                and not generated[item.file.src_uri].in_nav:
            continue
        if getattr(item, "is_section", False):
            item.children = _portal_nav(item.children, generated, top=False)
            if not item.children:
                continue
            folder = _folder(item)
            if folder in _SECTION_TITLES:
                item.title = _SECTION_TITLES[folder]
        kept.append(item)

    order = _TAB_ORDER if top else _SECTION_ORDER

    def rank(item) -> int:
        if getattr(item, "is_page", False):
            key = item.file.src_uri if top else item.file.src_uri.rstrip("/").split("/")[-1]
            if not top and key == "index.md":
                return -1  # a section's own page comes first
        else:
            key = _folder(item)
        return order.index(key) if key in order else len(order)

    return sorted(kept, key=rank)


def _title_text(page) -> str | None:
    """A page's title as plain text, whichever of MkDocs' sources it comes from."""
    title = page.title
    if title is None or isinstance(title, Markup):
        return None if title is None else title.unescape()
    if "title" in vars(page) or "title" in (page.meta or {}):
        return str(title)  # nav config, a plugin or front matter: written as text
    if page._title_from_render:
        return html.unescape(page._title_from_render)  # the rendered <h1>: tags stripped, entities kept
    return str(title)  # the file name, or "Home"


def _writer_text(value):
    """Front matter as the theme may print it: strings escaped, lists and mappings through."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return escape(value)
    if isinstance(value, list):
        return [_writer_text(v) for v in value]
    if isinstance(value, dict):
        return {k: _writer_text(v) for k, v in value.items()}
    return value


def _escape_page(page) -> None:
    title = _title_text(page)
    if page.meta:
        page.meta.update({key: _writer_text(value) for key, value in page.meta.items()})
    if title is not None:
        page.title = escape(title)
    for anchor in _anchors(page.toc or []):
        if not isinstance(anchor.title, Markup):
            anchor.title = escape(html.unescape(anchor.title or ""))  # Markdown's heading text: entities kept


def _nav_items(items):
    for item in items:
        yield item
        yield from _nav_items(getattr(item, "children", None) or [])


def _anchors(toc):
    for anchor in toc:
        yield anchor
        yield from _anchors(anchor.children)


def _article_facts(article: Article) -> dict | None:
    """What the article header shows, from the catalog's names rather than the front matter's spelling."""
    product = next((p.name for p in PRODUCTS if p.slug == article.product), None)
    kind = next((t.label for t in ARTICLE_TYPES if t.slug == article.type), None)
    if not (product and kind):
        return None
    updated = article.meta.get("updated")
    return {"product": product, "type": kind, "updated": updated if hasattr(updated, "strftime") else None}


# Parsed front matter by source file, kept across the rebuilds of one `kbgen preview`
# (MkDocs makes new plugin objects for each rebuild, so this lives at module level).
_PARSED: dict[tuple[str, tuple[str, ...]], tuple[int, int, Article]] = {}


def _parsed(file: File, required: tuple[str, ...]) -> Article:
    if file.abs_src_path is None:
        return parse_article(file.src_uri, file.content_string, required)
    stat = os.stat(file.abs_src_path)
    key = (file.abs_src_path, required)
    cached = _PARSED.get(key)
    if cached and cached[:2] == (stat.st_mtime_ns, stat.st_size):
        return cached[2]
    article = parse_article(file.src_uri, file.content_string, required)
    _PARSED[key] = (stat.st_mtime_ns, stat.st_size, article)
    return article
