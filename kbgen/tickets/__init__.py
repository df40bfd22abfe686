"""Tickets: what a customer asked, who asked, and everything that happened to it since.

    models.py        the tables: Ticket, TicketEvent (the timeline), Attachment, TicketConsent, KeyCounter
    workflow.py      the statuses, who may move a ticket where, the reopen window
    keys.py          ticket keys (XC-42): their pattern, their numbering, their page
    queries.py       who may see which ticket; one ticket; the filtered, sorted requests list
    service.py       changing tickets: create, comment, transition, assign, with their rules
    ratings.py       satisfaction: the requester rates a closed request once; the email that asks
    attachments.py   the checks a file passes, and its durable storage
    presentation.py  what the customer entered under the form's labels; people; times
    errors.py        refusals, each with the HTTP status the API answers with
    markup.py, filetypes.py, automations.py, servers.py: comment HTML, file types, new-ticket automations

    limits.py        the requests list's filters, sorts and page sizes, a comment's length (no database)
    views.py         the support team's queues

The HTTP routes (kbgen/web/routes/) and the CLI (kbgen/cli/tickets.py) are thin adapters
over these functions. The names below stay importable from `kbgen.tickets`, each module
imported when one of its names is first used (kbgen/exports.py).
"""
from __future__ import annotations

from kbgen.exports import lazy

__getattr__ = lazy(__name__, globals(), {
    "attachments": "Stored Upload attachment_path attachment_rows check_upload_limits clean_filename discard "
                   "store_files",
    "errors": "AttachmentNotAccepted AttachmentRejected CommentRejected FilterInvalid NotAllowed OrganizationInvalid "
              "TicketClosed TicketError TicketNotFound",
    "keys": "KEY_PATTERN format_key next_number page_url",
    "markup": "plain_text_html render_markdown",
    "models": "ASSIGNED AUTOMATION AUTOMATION_FAILED COMMENT CREATED EVENT_KINDS PRIORITY RATING SLA_BREACH Rating "
              "Watcher MAX_FILENAME MAX_SUMMARY NOTE STATUS Attachment KeyCounter Ticket TicketConsent TicketEvent "
              "utcnow",
    "presentation": "EnteredField entered_fields iso person situation",
    "limits": "MAX_ID MAX_PAGE MAX_PER_PAGE MAX_COMMENT_CHARS TicketFilter",
    "queries": "MAX_REQUESTER_CHOICES SORTS TicketPage agents get_attachment get_ticket is_agent list_tickets "
               "requesters_of sees_everything user_named visible_attachments visible_events",
    "ratings": "MAX_RATING_COMMENT SCALE RatingRefused can_rate rate",
    "service": "add_comment assign assign_to auto_close auto_close_on change_priority closed_message create_ticket "
               "record_breaches new_request_url run_automations transition",
})
