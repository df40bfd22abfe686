"""`kbgen check`: everything a writer can get wrong, found without rendering the site."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kbgen.content import Article, Problem, iter_markdown, parse_article
from kbgen.forms import check_forms
from kbgen.links import check_links


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
    if rules.check_links:
        problems.extend(check_links(articles, other_files))
    return sorted(problems, key=lambda p: (p.path, p.line))


def read_docs(docs_dir: Path, rules: ContentRules) -> tuple[list[Article], set[str]]:
    """Parse every Markdown file under docs_dir; return the articles and the other files' paths."""
    articles = [parse_article(path.relative_to(docs_dir).as_posix(), path.read_text(encoding="utf-8-sig"),
                              rules.required)
                for path in iter_markdown(docs_dir)]
    others = {p.relative_to(docs_dir).as_posix() for p in docs_dir.rglob("*") if p.is_file() and p.suffix != ".md"}
    return articles, others


def check_project(docs_dir: Path, rules: ContentRules, forms_dir: Path | None = None) -> list[str]:
    """All problems of a project as printable lines: content first, then forms."""
    articles, others = read_docs(docs_dir, rules)
    lines = [located(docs_dir, p) for p in check_articles(articles, rules, others)]
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
