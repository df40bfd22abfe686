"""Pages kbgen adds to a site that no writer keeps by hand (product lists, forms, requests)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class GeneratedPage:
    src_uri: str  # where it pretends to live in the docs dir, e.g. "support/xcally/index.md"
    title: str
    # Returns the page body HTML; gets the relative URL of the site root from this page
    # (e.g. "../../"), so links keep working when the site is published under a sub-path.
    render: Callable[[str], str]
    hide: tuple[str, ...] = ("toc",)
    template: str | None = None  # theme template, when the page needs more than the body
    searchable: bool = False
    in_nav: bool = True  # False for utility pages (sign in, search results, one ticket)

    def source(self) -> str:
        """The Markdown source MkDocs reads: front matter only; the plugin supplies the body."""
        # JSON's string syntax is YAML's double-quoted string: any title survives (repr() is not YAML).
        lines = ["---", f"title: {json.dumps(self.title)}"]
        if self.hide:
            lines.append("hide: [" + ", ".join(self.hide) + "]")
        if self.template:
            lines.append(f"template: {self.template}")
        if not self.searchable:
            lines.append("search: {exclude: true}")
        lines += ["---", ""]
        return "\n".join(lines)
