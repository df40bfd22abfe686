"""Each fact the portal shows is written once: these tests fail where one is written out again.

The facts are read from their definitions (through kbgen/facts.py), so a new status or product
is looked for too. Every test lists every place it finds, as file:line: the written-out text,
so that the list says what to replace with the definition (Python: import it; templates: the
`facts` global; JavaScript: window.kbgen from kbgen-core.js; CSS: the generated kbgen-status.css).

What is not a second copy: the definition itself, tests, documentation and comments. Words
that are also ordinary English (a status called "Closed", the sort key "status") are looked
for only where they can be nothing but the fact: as a whole quoted string, or next to what
names it.
"""
from __future__ import annotations

import re
from pathlib import Path

from kbgen import facts
from kbgen.accounts import ROLES, SUPPORT_ROLES
from kbgen.site.catalog import PRODUCTS, SECTIONS, ARTICLE_TYPES
from kbgen.tickets import KEY_PATTERN, SORTS, workflow

REPO = Path(__file__).resolve().parent.parent
KBGEN = REPO / "kbgen"
THEME = KBGEN / "theme"

# Where each fact is defined: the one file allowed to write it.
HOME = {
    "status": KBGEN / "tickets" / "workflow.py",
    "product": KBGEN / "site" / "catalog.py",
    "role": KBGEN / "accounts",
    "key": KBGEN / "tickets" / "keys.py",
    "sort": KBGEN / "tickets" / "limits.py",
    "page": KBGEN / "facts.py",
}
# Theme templates of built assets: they hold the facts only as {{ facts... }}.
BUILT = {THEME / path for path in facts.BUILT_ASSETS}


def _files(root: Path, *suffixes: str) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in suffixes and p.is_file() and "__pycache__" not in p.parts)


def theme_files() -> list[Path]:
    return _files(THEME, ".js", ".css", ".html")


def python_files() -> list[Path]:
    return _files(KBGEN, ".py")


def _outside(home: Path, files: list[Path]) -> list[Path]:
    return [f for f in files if not (f == home or home in f.parents)]


_COMMENT_LINE = re.compile(r"^\s*(?:#|//|/\*|\*|\{#)")
_TRAILING_COMMENT = re.compile(r"\s{2}(?:#|//) .*$")  # code  # a comment, code;  // a comment


def code(line: str) -> str:
    """The line without its comment: examples in comments are documentation."""
    return "" if _COMMENT_LINE.match(line) else _TRAILING_COMMENT.sub("", line)


def hits(files: list[Path], pattern: re.Pattern, keep=lambda line, match: True) -> list[str]:
    """file:line: text for every match of `pattern` in the code of `files` that `keep` accepts."""
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in pattern.finditer(code(line)):
                if keep(line, match):
                    found.append(f"{path.relative_to(REPO)}:{number}: {match.group(0)!r} in: {line.strip()[:140]}")
    return found


def quoted(values) -> re.Pattern:
    """A whole quoted string equal to one of `values`: "closed", 'Closed', ="closed"."""
    words = "|".join(re.escape(v) for v in sorted(set(values), key=len, reverse=True))
    return re.compile(r"""(["'])(?:%s)\1""" % words)


def report(found: list[str], what: str) -> str:
    return f"{len(found)} place(s) write {what} again instead of reading its definition:\n" + "\n".join(found)


STATUS_WORDS = [s.slug for s in workflow.STATUSES] + [s.name for s in workflow.STATUSES]


def test_no_status_slug_or_name_is_written_in_the_theme():
    found = hits([f for f in theme_files() if f not in BUILT], quoted(STATUS_WORDS))
    # A slug is also a CSS class or data-attribute value: [data-status-slug=closed] without quotes.
    bare = re.compile(r"data-status-slug\s*=\s*(?:%s)\b" % "|".join(re.escape(s.slug) for s in workflow.STATUSES))
    found += hits(theme_files(), bare)
    assert not found, report(found, "a status")


def test_no_status_slug_or_name_is_written_in_python_outside_the_workflow():
    found = hits(_outside(HOME["status"], python_files()), quoted(STATUS_WORDS))
    assert not found, report(found, "a status")


def _role_comparison(role: str) -> re.Pattern:
    q = rf"""["']{re.escape(role)}["']"""
    return re.compile(rf"""(?:[=!]==?|\bin)\s*[(\[]?\s*{q}|{q}\s*[=!]==?|\b[A-Z_]+\s*(?::\s*\w+\s*)?=\s*{q}""")


def test_the_support_role_is_compared_only_where_roles_are_defined():
    found = []
    for role in SUPPORT_ROLES:
        found += hits(_outside(HOME["role"], python_files()), _role_comparison(role))
    found += hits(theme_files(), quoted(SUPPORT_ROLES))
    assert not found, report(found, "a support team's role")


def test_no_role_is_written_in_the_theme():
    found = hits(theme_files(), quoted(ROLES))
    assert not found, report(found, "a role")


def test_no_product_name_is_written_in_the_theme():
    # "License" is a product, an article type and a section: it is a word there, not one fact.
    names = {p.name for p in PRODUCTS} - {t.label for t in ARTICLE_TYPES} - {s.name for s in SECTIONS}
    found = hits([f for f in theme_files() if f not in BUILT],
                 re.compile(r"\b(?:%s)\b" % "|".join(re.escape(n) for n in sorted(names))))
    found += hits(theme_files(), quoted(p.slug for p in PRODUCTS))
    assert not found, report(found, "a product")


def test_the_ticket_key_pattern_is_written_only_where_keys_are_made():
    written = re.compile(re.escape(KEY_PATTERN) + r"|\{0,9\}-\[0-9\]\{1,10\}|-(?:\[0-9\]|\\d)\{1,10\}")
    found = hits(_outside(HOME["key"], python_files()), written) + hits(theme_files(), written)
    assert not found, report(found, "the ticket key's pattern")


def test_no_script_or_page_writes_a_sort_key():
    keys = list(SORTS)
    descending = quoted("-" + k for k in keys)
    found = hits(theme_files(), descending)
    # "status" is also a filter's name: a sort key only on a line about sorting (sort, not "sort").
    about_sorting = re.compile(r"""(?<!["'])\bsort\b(?!["'])""")
    found += hits(theme_files(), quoted(keys), keep=lambda line, match: about_sorting.search(line) is not None)
    found += hits(_outside(HOME["sort"], python_files()), descending)
    assert not found, report(found, "a sort key")


def test_the_sites_own_pages_are_addressed_through_facts_pages():
    paths = sorted({template.split("{")[0].split("?")[0] for template in facts.PAGES.values()} - {""})
    written = re.compile(r"""(?:["'`]|\bf["'])/?(?:%s)""" % "|".join(re.escape(p) for p in paths))
    found = hits(theme_files(), written)
    found += hits([f for f in _outside(HOME["page"], python_files()) if f != HOME["key"]], written)
    # A regular expression for one of them: /\/requests\/ ... / in a script.
    found += hits(theme_files(), re.compile(r"\\/(?:%s)\\/" % "|".join(re.escape(p.rstrip("/")) for p in paths)))
    assert not found, report(found, "a page's address")


def test_the_next_rule_is_written_once():
    defined = re.compile(r"^\s*(?:def safe_next\b|MAX_NEXT\s*=\s*\d)")
    found = hits([f for f in python_files() if f != KBGEN / "facts.py"], defined)
    found += hits([f for f in theme_files() if f.name != "kbgen-core.js"], re.compile(r"function safeNext\b|\\u0000-\\u001f"))
    assert not found, report(found, "the rule for a next address")


def test_the_shared_helpers_are_defined_only_in_the_core_script():
    helper = re.compile(r"\bfunction (?:cookie|apiUrl|siteRoot|meta|el|element|safeNext|crossOrigin)\s*\(")
    found = hits([f for f in theme_files() if f.suffix == ".js" and f.name != "kbgen-core.js"], helper)
    assert not found, report(found, "a kbgen-core.js helper")
