"""The requests pages: static shells that kbgen-requests.js fills from the service's /api/tickets.

Everything a page can know at build time is rendered here (the filters'
choices, the status help table from kbgen.workflow); what depends on who is
signed in comes from the API, so the pages can be hosted as plain files.
The service answers /requests/<KEY>/ with the one ticket shell page.
"""
from __future__ import annotations

from html import escape

from kbgen.tickets import workflow
from kbgen.site.catalog import PRODUCTS
from kbgen.site.generated import GeneratedPage

LIST_PAGE = "requests/index.md"
TICKET_PAGE = "requests/ticket/index.md"
SIGN_IN_PAGE = "login/"  # kbgen.accountpages; the script adds ?next=

SORT_CHOICES = (
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("-updated", "Recently updated"),
    ("key", "Key"),
    ("status", "Status"),
    ("priority", "Priority"),
)


def priorities() -> list[tuple[str, str, str]]:
    """(slug, name, definition) from the forms' definition of priorities."""
    from kbgen.forms import PRIORITIES

    return [(p.slug, p.name, p.definition) for p in PRIORITIES]


def status_table(reopen_days: int | None = None) -> str:
    """The help table: every status, what it means and what can happen next."""
    rows = "".join(
        f'<tr data-status="{escape(name)}"><th scope="row"><span class="kbgen-status" '
        f'data-status-slug="{escape(workflow.find_status(name).slug)}">{escape(name)}</span></th>'
        f"<td>{escape(meaning)}</td><td>{escape(nxt)}</td></tr>"
        for name, meaning, nxt in workflow.help_rows(reopen_days))
    return ('<details class="kbgen-status-help" data-kbgen-status-help>'
            "<summary>What do the statuses mean?</summary>"
            '<table class="kbgen-status-table"><thead><tr><th scope="col">Status</th>'
            '<th scope="col">Meaning</th><th scope="col">What happens next</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></details>")


def _options(choices, selected: str = "") -> str:
    return "".join(f'<option value="{escape(value)}"{" selected" if value == selected else ""}>'
                   f"{escape(label)}</option>" for value, label in choices)


def _signed_out(root: str) -> str:
    return (f'<div class="kbgen-requests-signin" data-kbgen-signin hidden>'
            f'<p>Sign in to see your organization\'s requests.</p>'
            f'<p><a class="md-button md-button--primary" data-kbgen-signin-link '
            f'href="{escape(root + SIGN_IN_PAGE)}">Sign in</a></p></div>')


def _noscript() -> str:
    return ('<noscript><p class="kbgen-notice">This page shows your requests live from the support service, '
            "which needs JavaScript. Turn JavaScript on and reload the page.</p></noscript>")


def render_list(root: str) -> str:
    statuses = [("", "Any status")] + [(s.name, s.name) for s in workflow.STATUSES]
    products = [("", "Any product")] + [(p.slug, p.name) for p in PRODUCTS]
    prios = [("", "Any priority")] + [(slug, name) for slug, name, _ in priorities()]
    return f"""{_noscript()}{_signed_out(root)}
<div class="kbgen-requests" data-kbgen-requests="list" data-root="{escape(root)}" hidden>
  <p class="kbgen-lead">The requests opened by everyone in <span data-kbgen-org>your organization</span>.
    <a class="md-button md-button--primary kbgen-new-request" href="{escape(root)}support/">Open a new request</a></p>
  <form class="kbgen-requests-filters" data-kbgen-filters method="get" role="search" aria-label="Filter requests">
    <label class="kbgen-filter kbgen-filter--q">Search
      <input type="search" name="q" maxlength="200" placeholder="Key or summary, e.g. XC-42 or audio"></label>
    <label class="kbgen-filter">Status <select name="status">{_options(statuses)}</select></label>
    <label class="kbgen-filter">Product <select name="product">{_options(products)}</select></label>
    <label class="kbgen-filter">Priority <select name="priority">{_options(prios)}</select></label>
    <label class="kbgen-filter">Requester <select name="requester" data-kbgen-requesters>
      <option value="">Anyone</option></select></label>
    <label class="kbgen-filter kbgen-filter--agent" data-kbgen-agent-only hidden>Assignee
      <select name="assignee" data-kbgen-assignees><option value="">Anyone</option>
      <option value="none">Nobody</option></select></label>
    <label class="kbgen-filter kbgen-filter--check"><input type="checkbox" name="mine" value="1"> Created by me</label>
    <label class="kbgen-filter">Sort <select name="sort">{_options(SORT_CHOICES)}</select></label>
    <button type="submit" class="md-button">Apply</button>
  </form>
  <p class="kbgen-requests-count" data-kbgen-count aria-live="polite"></p>
  <div class="kbgen-requests-table-wrap">
    <table class="kbgen-requests-table" data-kbgen-table>
      <thead><tr><th scope="col">Key</th><th scope="col">Summary</th><th scope="col">Product</th>
        <th scope="col">Status</th><th scope="col">Priority</th><th scope="col">Requester</th>
        <th scope="col">Updated</th></tr></thead>
      <tbody></tbody>
    </table>
  </div>
  <nav class="kbgen-pager" data-kbgen-pager aria-label="Pages of requests"></nav>
  {status_table()}
</div>
<p class="kbgen-error" data-kbgen-error role="alert" hidden></p>"""


def render_ticket(root: str) -> str:
    return f"""{_noscript()}{_signed_out(root)}
<div class="kbgen-ticket" data-kbgen-requests="ticket" data-root="{escape(root)}" hidden>
  <p class="kbgen-back"><a href="{escape(root)}requests/">&larr; All requests</a></p>
  <header class="kbgen-ticket-head">
    <h1><span data-kbgen-key></span> <span data-kbgen-summary></span></h1>
    <p><span class="kbgen-status" data-kbgen-status></span>
      <span class="kbgen-status-meaning" data-kbgen-status-meaning></span></p>
  </header>
  <div class="kbgen-ticket-grid">
    <section class="kbgen-ticket-main">
      <h2>Details</h2>
      <dl class="kbgen-fields" data-kbgen-fields></dl>
      <h2>Attachments</h2>
      <ul class="kbgen-attachments" data-kbgen-attachments></ul>
      <h2>History</h2>
      <ol class="kbgen-timeline" data-kbgen-timeline></ol>
      <div class="kbgen-closed" data-kbgen-closed hidden role="note"></div>
      <form class="kbgen-comment" data-kbgen-comment enctype="multipart/form-data" hidden>
        <h2>Add a comment</h2>
        <label for="kbgen-comment-text">Your message <small>(Markdown: **bold**, `code`, lists, links)</small></label>
        <textarea id="kbgen-comment-text" name="text" rows="6" maxlength="20000"></textarea>
        <label class="kbgen-files">Attach files <input type="file" name="files" multiple></label>
        <label class="kbgen-internal" data-kbgen-agent-only hidden>
          <input type="checkbox" name="internal" value="1"> Internal note (only the support team sees it)</label>
        <p class="kbgen-error" data-kbgen-comment-error role="alert" hidden></p>
        <button type="submit" class="md-button md-button--primary">Send</button>
      </form>
    </section>
    <aside class="kbgen-ticket-side">
      <dl class="kbgen-facts" data-kbgen-facts></dl>
      <div class="kbgen-actions" data-kbgen-actions></div>
      <form class="kbgen-assign" data-kbgen-assign data-kbgen-agent-only hidden>
        <label>Assigned to <select name="assignee" data-kbgen-assignees>
          <option value="">Nobody</option></select></label>
        <button type="submit" class="md-button">Assign</button>
      </form>
      <p class="kbgen-error" data-kbgen-action-error role="alert" hidden></p>
    </aside>
  </div>
  {status_table()}
</div>
<p class="kbgen-error" data-kbgen-error role="alert" hidden></p>"""


def request_pages() -> list[GeneratedPage]:
    return [
        GeneratedPage(LIST_PAGE, "Requests", render_list, hide=("toc", "navigation")),
        # One shell for every ticket: the service answers /requests/<KEY>/ with it.
        GeneratedPage(TICKET_PAGE, "Request", render_ticket, hide=("toc", "navigation"), in_nav=False),
    ]
