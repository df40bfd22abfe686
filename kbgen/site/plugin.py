"""The MkDocs plugin: a thin adapter between MkDocs' build events and kbgen's modules.

Everything MkDocs-specific lives here and in kbgen/theme/, so moving to a successor
of MkDocs means rewriting this file, not the content model, the forms, the index, the
menus' rules (kbgen/site/nav.py) or the escaping of writers' text (kbgen/site/writer_text.py).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files

from kbgen.facts import built_assets, template_globals as facts_globals
from kbgen.feedback import articles as voted_articles
from kbgen.forms import FormDefinitionError, load_catalog
from kbgen.replies import check_replies, is_reply
from kbgen.search.indexer import IndexBuilder, PageRecord, is_current, update_pages
from kbgen.search.versions import VersionsError, page_version, parse_versions
from kbgen.settings import Settings, SettingsError, default_index_dir
from kbgen.site import brand as branding
from kbgen.site.check import ContentRules, check_articles, located
from kbgen.site.content import Article, parse_article
from kbgen.site.csp import POLICY_FILE, BuiltPolicy, api_origin_of, inline_scripts, source_hash
from kbgen.site.generated import GeneratedPage
from kbgen.site.nav import portal_nav
from kbgen.site.pages.account import account_pages
from kbgen.site.pages.article import article_facts, contact_footer
from kbgen.site.pages.listing import Entry, portal_pages
from kbgen.site.pages.requests import request_pages
from kbgen.site.pages.search import search_page
from kbgen.site.pages.support import support_pages
from kbgen.site.related import Candidate, Related, candidates_tags, related_articles
from kbgen.site.writer_text import escape_nav_titles, escape_page, place_of, title_text
from kbgen.templates import THEME_DIR, render

log = logging.getLogger("mkdocs.plugins.kbgen")

SYNONYMS_FILE = "synonyms.yml"
# Theme folders of templates that kbgen renders itself (kbgen/templates.py): MkDocs would publish
# every non-.html file of a theme dir (an email's .txt part), so on_files leaves them out.
PRIVATE_THEME_DIRS = ("mail/", "service/")
BRAND_CSS = "assets/kbgen-brand.css"  # rendered from its template in kbgen/theme/assets/ with the brand


class _PluginConfig(base.Config):
    required = c.ListOfItems(c.Type(str), default=["title"])
    closed_front_matter = c.Type(bool, default=False)
    check_links = c.Type(bool, default=True)
    index_dir = c.Optional(c.Type(str))  # default: Settings' index dir of the project
    forms_dir = c.Type(str, default="forms")
    search_index = c.Type(bool, default=True)
    versions = c.Type(list, default=[])  # [{label, prefix}], preferred first: kbgen/search/versions.py


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
        self.versions = ()
        self.brand = branding.Brand()
        self.related: dict[str, list[Related]] = {}
        self.article_urls: dict[str, str] = {}

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
        try:
            self.versions = parse_versions(self.config.versions)
        except VersionsError as exc:
            raise PluginError(f"kbgen plugin config: {exc}") from None
        self._apply_brand(config)
        return config

    def _apply_brand(self, config) -> None:
        """extra.kbgen.brand (kbgen/site/brand.py) as MkDocs and Material settings: the name, logo, favicon
        and a "custom" palette, whose colours assets/kbgen-brand.css defines."""
        docs_dir = Path(config.docs_dir)
        folders = [docs_dir, *(Path(d) for d in config.theme.dirs)]
        try:
            brand = branding.brand_from_config(
                config.extra, site_name=config.site_name,
                config_file=Path(config.config_file_path) if config.config_file_path else None,
                file_exists=lambda path: any((folder / path).is_file() for folder in folders))
        except branding.BrandError as exc:
            raise PluginError("The portal's brand is invalid:\n" + "\n".join(exc.problems)) from None
        self.brand = brand
        config.site_name = brand.name
        if brand.logo:
            config.theme["logo"] = brand.logo
        if brand.favicon:
            config.theme["favicon"] = brand.favicon
        if brand.primary or brand.accent:
            palettes = config.theme["palette"] if "palette" in config.theme else None
            listed = palettes if isinstance(palettes, list) else [palettes or {}]
            config.theme["palette"] = [{**(p or {}), **({"primary": "custom"} if brand.primary else {}),
                                        **({"accent": "custom"} if brand.accent or brand.primary else {})}
                                       for p in listed]
            if not isinstance(palettes, list):
                config.theme["palette"] = config.theme["palette"][0]

    def on_files(self, files: Files, *, config) -> Files:
        docs_dir = Path(config.docs_dir)
        for file in [f for f in files if _private_theme_file(f) or is_reply(f.src_uri)]:
            files.remove(file)  # saved replies are for agents (kbgen/replies.py): never a page, never indexed
        for path, text in built_assets().items():  # made from kbgen/facts.py, not copied from the theme
            if (theme_copy := files.get_file_from_path(path)) is not None:
                files.remove(theme_copy)
            files.append(File.generated(config, path, content=text))
        if (theme_copy := files.get_file_from_path(BRAND_CSS)) is not None:
            files.remove(theme_copy)
        files.append(File.generated(config, BRAND_CSS, content=render(BRAND_CSS, brand=self.brand)))
        self.articles.clear()
        for file in files.documentation_pages():
            self.articles[file.src_uri] = _parsed(file, self.rules.required)
        other_files = {f.src_uri for f in files if not f.is_documentation_page()}
        problems = check_articles(list(self.articles.values()), self.rules, other_files) + check_replies(docs_dir)
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
        self._relate(files)
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

    def _relate(self, files: Files) -> None:
        """Each writer's article's related ones (kbgen/site/related.py), once per build, before any page renders."""
        candidates = [Candidate(src, files.get_file_from_path(src).url, a.title, a.product,
                                candidates_tags(a.meta.get("tags")), str(a.meta.get("summary") or ""), a.body)
                      for src, a in self.articles.items() if article_facts(a) is not None]
        self.article_urls = {c.url: c.key for c in candidates}
        self.related = related_articles(candidates)

    def _generated_pages(self, entries: list[Entry], existing: set[str]) -> list[GeneratedPage]:
        pages = list(portal_pages(entries, existing))
        if self.forms_dir.is_dir():
            try:
                # The limits the service enforces, read from the same KBGEN_* settings it reads.
                pages += support_pages(load_catalog(self.forms_dir), Settings.from_env(self.project_dir))
            except FormDefinitionError as exc:
                raise PluginError("Ticket forms are invalid:\n" + "\n".join(exc.problems)) from None
            except SettingsError as exc:
                raise PluginError(f"The form pages show the service's limits, and a setting is wrong: {exc}") from None
        pages += account_pages()
        pages += request_pages()
        if self.config.search_index:
            pages.append(search_page())
        return pages

    def on_nav(self, nav, *, config, files):
        """Portal names for the tabs and sections; kbgen's utility pages stay out of the menus."""
        nav.items = portal_nav(nav.items, {src for src, page in self.generated.items() if not page.in_nav})
        self.nav = nav
        return nav

    def _start_index(self) -> None:
        self.indexer, self.changed = None, []
        if not self.config.search_index:
            return
        # An index written by an older kbgen (other fields) is rebuilt whole, not updated.
        incremental = self.dirty and is_current(self.index_dir)
        if not incremental:
            self.indexer = IndexBuilder(self.index_dir, self.synonyms_path, self.versions)

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
        title = title_text(page) or article.title
        version, version_key = page_version(article.path, title, article.meta.get("version"), self.versions)
        record = PageRecord(url=page.url, path=article.path, title=title, html=html,
                            product=article.product, type=article.type,
                            tags=[str(t) for t in tags] if isinstance(tags, list) else [],
                            summary=str(article.meta.get("summary") or ""),
                            version=version, version_key=version_key, place=place_of(page))
        if self.indexer is not None:
            self.indexer.add(record)
        else:
            self.changed.append(record)

    def on_env(self, env, *, config, files):
        """The facts for the theme's templates; every writer's text escaped before the first one renders."""
        env.globals.update(facts_globals())
        env.globals["kbgen_brand"] = self.brand
        for file in files.documentation_pages():
            if file.page is not None:
                escape_page(file.page)
        escape_nav_titles(self.nav.items if self.nav is not None else [])
        return env

    def on_page_context(self, context, *, page, config, nav):
        article = self.articles.get(page.file.src_uri)
        context["kbgen_article"] = article_facts(article) if article is not None else None
        context["kbgen_related"] = self.related.get(page.file.src_uri, [])
        # The reader's version, for search: its copy of a versioned page comes first (kbgen/search/versions.py).
        context["kbgen_version"] = page_version(article.path, article.title, article.meta.get("version"),
                                                self.versions)[0] if article is not None else ""
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
        branding.write(site, self.brand)  # the service's pages and emails show the same brand
        voted_articles.write(site, {url: {"title": self.articles[src].title, "product": self.articles[src].product or "",
                                          "source": src} for url, src in self.article_urls.items()})
        if self.indexer is not None:
            self.indexer.finish()
            log.info(f"kbgen: search index written to {self.index_dir}")
        elif self.changed:
            update_pages(self.index_dir, self.changed, synonyms_file=self.synonyms_path, versions=self.versions)
            log.info(f"kbgen: search index updated for {len(self.changed)} page(s)")

    def on_build_error(self, *, error) -> None:
        if self.indexer is not None:
            self.indexer.abort()
            self.indexer = None


def _private_theme_file(file: File) -> bool:
    src = file.abs_src_path
    return src is not None and any(Path(src).is_relative_to(THEME_DIR / d) for d in PRIVATE_THEME_DIRS)


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
