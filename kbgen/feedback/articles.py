"""The built site's articles, by address: what a vote may name and what the report calls them.

The build writes them into the site (`write`, from the plugin's on_post_build) as
.kbgen/articles.json, beside csp.json and brand.json, so they are swapped in with the pages;
the service reads them (`read`) again whenever a build replaces the file.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from kbgen.parsed_files import parsed

ARTICLES_FILE = ".kbgen/articles.json"
FORMAT = 1
MAX_PATH = 300  # an article's address in the site ("kb/xcally/how-to/set-up-sip-trunk/")
# An article's address from the site's root, as MkDocs writes it: "kb/xcally/how-to/set-up-sip-trunk/".
_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.~-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.~-]*)*/?")

__all__ = ["ARTICLES_FILE", "clean_path", "read", "write"]


def clean_path(value: object) -> str | None:
    """An article's address as stored ("kb/x/y/"): leading slashes dropped; None when it cannot be one."""
    if not isinstance(value, str):
        return None
    path = value.strip().lstrip("/")
    if not path or len(path) > MAX_PATH or not _PATH.fullmatch(path) or ".." in path.split("/"):
        return None
    return path


def write(site_dir: Path, articles: dict[str, dict[str, str]]) -> None:
    """`articles`: {address: {"title", "product", "source"}} for every writer's article."""
    path = Path(site_dir) / ARTICLES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"format": FORMAT, "articles": dict(sorted(articles.items()))}
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def read(site_dir: Path) -> dict[str, dict[str, str]] | None:
    """The articles of the built site; None when there is no (readable) built site to ask."""
    try:
        return parsed(Path(site_dir) / ARTICLES_FILE, _articles)
    except (OSError, ValueError):
        return None


def _articles(text: str) -> dict[str, dict[str, str]] | None:
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("articles"), dict):
        return None
    return {str(k): v for k, v in data["articles"].items() if isinstance(v, dict)}
