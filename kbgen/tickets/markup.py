"""The one place where text people type becomes HTML: comments, internal notes, automation outcomes.

The HTML is rendered once, when the text is written, stored next to it, and put as is into
customers' and agents' pages (the requests page sets it as innerHTML), so it must be safe
against anything a signed-in customer can type, and rendering it must not let one comment
tie up the service.  Three layers:

1. markdown-it-py, a CommonMark parser whose work grows linearly with the text (Python-Markdown,
   used before, is quadratic on runs of `[`: 20,000 of them took 112 s of CPU).  Raw HTML is
   off, so tags people type are shown as text; a link is made only from a URL that `safe_url`
   accepts, otherwise the brackets stay text; images become plain links.
2. A work budget: linear is not cheap in pure Python (a 20,000-character run of `[` still
   costs markdown-it-py about a second), so the parser's steps are counted and a text that
   needs more than WORK_BUDGET of them is shown as written instead.
3. nh3 (ammonia) over the result, with an allowlist of the tags and attributes Markdown
   produces: whatever slips through the first layer still cannot carry a script, a style or
   an event handler, and every link gets rel="nofollow noopener noreferrer".
"""
from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"
# Parser steps one text may take: a step is a position the inline parser tries, a line the
# block parser tries, or a table cell.  See render_markdown.
WORK_BUDGET = 2_000
_WORK_LEFT = "kbgen_work_left"

_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ALIGN = re.compile(r"text-align:(left|right|center)")

_TAGS = {"p", "br", "strong", "em", "s", "code", "pre", "blockquote", "ul", "ol", "li", "hr", "a",
         "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"}
_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags={"script", "style"},
    # "*": no attribute on every tag (nh3's default allows lang and title everywhere).
    attributes={"*": set(), "a": {"href", "title"}, "ol": {"start"}},
    tag_attribute_values={cell: {"align": {"left", "right", "center"}} for cell in ("th", "td")},
    url_schemes=set(SAFE_SCHEMES),
    link_rel=LINK_REL,
    strip_comments=True,
)


def safe_url(value: str) -> str | None:
    """The URL as the browser will read it, or None when it could run code or leave the web.

    An allowlist: http, https, mailto, or a relative address.  Entities are decoded first
    (`java&#115;cript:`) and control characters and spaces dropped (`java\\tscript:`), as a
    browser does, before the scheme is looked at.
    """
    decoded = value
    for _ in range(5):  # entities inside entities: decode until nothing changes
        again = html.unescape(decoded)
        if again == decoded:
            break
        decoded = again
    else:
        return None
    cleaned = _INVISIBLE.sub("", decoded)
    scheme = urlsplit(cleaned).scheme.lower()
    head = re.split(r"[/?#]", cleaned, maxsplit=1)[0]
    if ":" in head and scheme not in SAFE_SCHEMES:
        return None
    return decoded.strip()


def _alignment_as_attribute(state: StateCore) -> None:
    """Table alignment as the align attribute: the sanitizer drops every style attribute."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open"):
            match = _ALIGN.fullmatch(str(token.attrs.pop("style", "")))
            if match:
                token.attrs["align"] = match.group(1)


def _images_as_links(state: StateCore) -> None:
    """Images become links to the image: an image in a comment would load unasked in agents'
    browsers, which tells whoever wrote it who read it and when (tracking)."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        in_link = 0
        for token in block.children:
            if token.type == "link_open":
                in_link += 1
            elif token.type == "link_close":
                in_link -= 1
            if token.type != "image":
                children.append(token)
                continue
            src = str(token.attrs.get("src", ""))
            label = state.md.renderer.renderInlineAsText(token.children or [], state.md.options, state.env)
            text = Token("text", "", 0, content=label or src or "image")
            if in_link:  # a link inside a link is not HTML: the outer link keeps the label
                children.append(text)
            else:
                children += [Token("link_open", "a", 1, attrs={"href": src}), text, Token("link_close", "a", -1)]
        block.children = children


def _keep_deep_text(md: MarkdownIt) -> None:
    """Text nested deeper than maxNesting (`>>>>...`, lists in lists) is kept as a paragraph.

    markdown-it stops there to bound its recursion, and drops the rest of the block: a reader
    would not see what was written, without a sign that something is missing.
    """
    tokenize = md.block.tokenize

    def tokenize_keeping_text(state: StateBlock, start: int, end: int) -> None:
        if state.parentType == "blockquote":
            # Each level of quoting walks all its lines again before any rule is tried on them.
            _charge(state.env, end - start)
        if state.level < state.md.options.maxNesting:
            return tokenize(state, start, end)
        line = last = start
        while line < end:  # the lines the nested block owns, as tokenize would stop
            line = state.skipEmptyLines(line)
            if line >= end or state.sCount[line] < state.blkIndent:
                break
            line += 1
            last = line
        if last == start:
            return None
        state.push("paragraph_open", "p", 1).map = [start, last]
        inline = state.push("inline", "", 0)
        inline.content = state.getLines(start, last, state.blkIndent, False).strip()
        inline.map = [start, last]
        inline.children = []
        state.push("paragraph_close", "p", -1)
        state.line = last
        return None

    md.block.tokenize = tokenize_keeping_text  # type: ignore[method-assign]


class _OverBudget(Exception):
    """The text needs more parsing work than WORK_BUDGET allows."""


def _charge(env: dict, amount: int = 1) -> None:
    env[_WORK_LEFT] -= amount
    if env[_WORK_LEFT] < 0:
        raise _OverBudget


def _count_inline_step(state: StateInline, silent: bool) -> bool:
    # Where a link or an image may start, the parser also looks ahead for the end of its text.
    _charge(state.env, 3 if state.src[state.pos] in "[!" else 1)
    return False  # only counts: the real rules come after


def _count_block_step(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    _charge(state.env)
    return False


def _budgeted_tables(md: MarkdownIt) -> None:
    """A table is charged for every cell it will make before it is built.

    markdown-it fills short rows up to the header's width (up to 65,536 empty cells), so a
    20,000-character body could become 200,000 tokens without parsing one character of them.
    """
    table = md.block.ruler.__rules__[md.block.ruler.__find__("table")].fn

    def table_within_budget(state: StateBlock, start: int, end: int, silent: bool) -> bool:
        if not table(state, start, end, True):
            return False
        if not silent:
            delimiter_row = state.src[state.bMarks[start + 1] + state.tShift[start + 1]:state.eMarks[start + 1]]
            columns = delimiter_row.strip().strip("|").count("|") + 1
            row = start
            while row < end and not state.isEmpty(row):
                _charge(state.env, 2 * columns)
                row += 1
            return table(state, start, end, False)
        return True

    md.block.ruler.at("table", table_within_budget, {"alt": ["paragraph", "reference"]})


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "xhtmlOut": False, "linkify": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = lambda url: safe_url(url) is not None  # type: ignore[method-assign]
    md.core.ruler.push("kbgen_images_as_links", _images_as_links)
    md.core.ruler.push("kbgen_alignment_as_attribute", _alignment_as_attribute)
    _keep_deep_text(md)
    _budgeted_tables(md)
    # Every position the inline parser tries (also while it looks ahead for the end of a link
    # text) and every line the block parser tries counts against the budget.
    md.inline.ruler.before("text", "kbgen_budget", _count_inline_step)
    md.block.ruler.before("table", "kbgen_budget", _count_block_step,
                          {"alt": ["paragraph", "reference", "blockquote", "list"]})
    # markdown-it compiles its rule lists on first use, and a thread that comes in while another
    # compiles sees an empty list: compile them now, before requests render in parallel threads.
    md.render("x", {_WORK_LEFT: WORK_BUDGET})
    return md


_MD = _parser()


def _valid_unicode(text: str) -> str:
    # A lone surrogate (JSON allows "\ud800") cannot be encoded, so the sanitizer would fail on it.
    return _SURROGATE.sub("\ufffd", text)


def render_markdown(text: str) -> str:
    """Comment Markdown as HTML in which no script, raw HTML or javascript: link survives.

    Text that would take the parser more than WORK_BUDGET steps is shown as written, as
    plain_text_html does, so rendering time has a bound whatever the text holds.  20,000
    characters of the demo's articles take about 1,600 steps; runs of `[` or `*_` made to tie
    up the service take 20,000 and more; an unfenced log paste of that size also goes over,
    and reads better as written anyway.
    """
    text = _valid_unicode(text)
    try:
        rendered = _MD.render(text, {_WORK_LEFT: WORK_BUDGET})
    except _OverBudget:
        return plain_text_html(text)
    return _CLEANER.clean(rendered).strip()


def plain_text_html(text: str) -> str:
    """Text shown as written (automation outcomes), line breaks kept."""
    return "<p>" + html.escape(text).replace("\n", "<br>\n") + "</p>" if text else ""
