"""`kbgen check`: everything a writer can get wrong, found without rendering the site."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from kbgen.site.content import Article, Problem, iter_markdown, parse_article
from kbgen.forms import check_forms
from kbgen.replies import check_replies
from kbgen.site.links import check_links, code_free_lines, links_of


@dataclass
class ContentRules:
    """What the project requires of its articles (the plugin's options in mkdocs.yml)."""

    required: tuple[str, ...] = ("title",)
    closed_front_matter: bool = False  # unknown front matter keys are errors
    check_links: bool = True


def check_articles(articles: list[Article], rules: ContentRules, other_files: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    for article in articles:
        problems.extend(p for p in article.problems
                        if rules.closed_front_matter or not p.message.startswith("unknown front matter key"))
    for article in articles:
        problems.extend(script_problems(article))
    if rules.check_links:
        problems.extend(check_links(articles, other_files))
    return sorted(problems, key=lambda p: (p.path, p.line))


_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SCRIPT = re.compile(r"<script\b", re.I)
# A start tag, possibly over several lines, or a Markdown attribute list ({: #id onclick="..."}).
_TAG = re.compile(r"<[a-z][\w:-]*(?:\s[^<>]*)?>|\{:?[^{}\n]*=[^{}\n]*\}", re.I)
_HANDLER = re.compile(r"(?:^|[\s\"'/{])(on[a-z]+)\s*=", re.I)
_URL_ATTR = re.compile(r"""(?:^|[\s"'/{])(?:href|src|action|formaction|xlink:href|data|poster|background)\s*=\s*"""
                       r"""(?:"([^"]*)"|'([^']*)'|([^\s>}]+))""", re.I)
_CSP_BLOCKS = "the portal's Content-Security-Policy blocks scripts written in articles"
_URL_HINT = f"link to a page or an https:// address instead ({_CSP_BLOCKS})"


def _script_url(url: str) -> bool:
    # Browsers ignore entities, tabs, newlines and case in a URL's scheme: "Java&#115;cript:" runs too.
    plain = re.sub(r"[\x00-\x20]", "", html.unescape(url)).lower()
    return plain.startswith(("javascript:", "vbscript:"))


def script_problems(article: Article) -> list[Problem]:
    """Script in an article body: <script> elements, on*= handler attributes and javascript: URLs.

    Code spans and fenced code are left out: a code sample is text, not a script."""
    lines = [""] * (article.body.count("\n") + 1)
    for index, line in code_free_lines(article.body):
        lines[index] = line
    text = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), "\n".join(lines))

    def line_at(offset: int) -> int:
        return article.body_line + text.count("\n", 0, offset)

    problems: list[Problem] = []
    for match in _SCRIPT.finditer(text):
        problems.append(Problem(article.path, line_at(match.start()), "raw <script> in the article",
                                f"remove it ({_CSP_BLOCKS}); to show code, put it in a fenced code block"))
    for tag in _TAG.finditer(text):
        for handler in _HANDLER.finditer(tag.group(0)):
            problems.append(Problem(
                article.path, line_at(tag.start() + handler.start(1)),
                f"event handler attribute '{handler.group(1)}='",
                f"remove it ({_CSP_BLOCKS}); links and buttons work without one"))
        for attr in _URL_ATTR.finditer(tag.group(0)):
            url = next(g for g in attr.groups() if g is not None)
            if _script_url(url):
                problems.append(Problem(article.path, line_at(tag.start() + attr.start()),
                                        "javascript: URL in an HTML attribute", _URL_HINT))
    for index, target in links_of(article.body):
        if _script_url(target):
            problems.append(Problem(article.path, article.body_line + index, "link to a javascript: URL", _URL_HINT))
    return problems


def read_docs(docs_dir: Path, rules: ContentRules) -> tuple[list[Article], set[str]]:
    """Parse every Markdown file under docs_dir; return the articles and the other files' paths."""
    articles = [parse_article(path.relative_to(docs_dir).as_posix(), path.read_text(encoding="utf-8-sig"),
                              rules.required)
                for path in iter_markdown(docs_dir)]
    others = {p.relative_to(docs_dir).as_posix() for p in docs_dir.rglob("*") if p.is_file() and p.suffix != ".md"}
    return articles, others


def check_project(docs_dir: Path, rules: ContentRules, forms_dir: Path | None = None) -> list[str]:
    """All problems of a project as printable lines: articles, saved replies, then forms."""
    articles, others = read_docs(docs_dir, rules)
    lines = [located(docs_dir, p) for p in check_articles(articles, rules, others) + check_replies(docs_dir)]
    if forms_dir is not None and forms_dir.is_dir():
        lines.extend(check_forms(forms_dir))
    return lines


def located(docs_dir: Path, problem: Problem) -> str:
    """The problem with the docs folder in its path, so it can be clicked in an editor or terminal."""
    try:
        prefix = docs_dir.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        prefix = docs_dir.as_posix()
    return str(Problem(f"{prefix}/{problem.path}" if prefix != "." else problem.path,
                       problem.line, problem.message, problem.hint))
