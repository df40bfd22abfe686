"""Account emails: invitations, password resets, sign-up checks and approvals, queued in the outbox.

`queue_account_email()` composes one from its words' template (kbgen/theme/mail/account.<kind>.txt:
line 1 the subject, line 2 the lead that says why the person got it, line 3 the label of the link
(empty when there is none), then one paragraph per further line), wraps it in the parts every
account email shares (account_body.txt, account_body.html) and adds it to the same Outbox table
as the ticket notifications, in the caller's transaction (kbgen/mail/notifications.py: the header
hygiene and the Message-ID are the same). An account email never holds a password; links are
KBGEN_PUBLIC_URL + a page of kbgen.facts.SERVICE_PAGES (`link()`).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from kbgen.facts import page, service_page
from kbgen.mail.notifications import Email, Outbox, one_line, outbox_row, queue
from kbgen import dates
from kbgen.settings import Settings
from kbgen.site.brand import for_settings
from kbgen.templates import render

KINDS = ("invitation", "password_reset", "verify_sign_up", "sign_up_approved", "sign_up_awaiting_approval",
         "sign_up_needs_approval")
EVENT_PREFIX = "account."  # Outbox.event of these emails: "account.invitation", ...
NO_REPLY_NOTE = "Please do not reply to this email: replies to this address are not read."


def moment(value: dt.datetime) -> str:
    """A stored time (naive UTC) as emails say it (kbgen/dates.py): "7 Mar 2025, 14:05 UTC"."""
    return dates.when(value)


def link(settings: Settings, name: str, **parts: object) -> str:
    """The public address of a service page (kbgen.facts.SERVICE_PAGES) for an email."""
    return settings.public_url.rstrip("/") + service_page(name, **parts)


def site_link(settings: Settings, name: str, **parts: str) -> str:
    """The public address of a page of the site (kbgen.facts.PAGES), e.g. the sign-in page."""
    return settings.public_url.rstrip("/") + "/" + page(name, **parts)


def compose(settings: Settings, kind: str, *, to_email: str, to_name: str = "", link: str = "",
            **words: Any) -> Email:
    """One account email of `kind` (see KINDS); `words` fill its template (each made one line)."""
    if kind not in KINDS:
        raise ValueError(f"unknown account email {kind!r}; expected one of {', '.join(KINDS)}")
    lines = render(f"mail/account.{kind}.txt", email=one_line(to_email, 320),
                   **{k: one_line(v, 1000) for k, v in words.items()}).splitlines()
    parts = {"greeting": f"Hello {one_line(to_name, 200)}," if to_name.strip() else "Hello,",
             "lead": lines[1], "action": lines[2] if len(lines) > 2 else "", "link": link,
             "notes": [line for line in lines[3:] if line.strip()], "no_reply_note": NO_REPLY_NOTE,
             "support_email": one_line(settings.support_team_email, 320), "brand": for_settings(settings)}
    return Email(to_email=to_email, to_name=to_name, subject=lines[0],
                 text=render("mail/account_body.txt", **parts), html=render("mail/account_body.html", **parts))


def queue_account_email(db: Session, settings: Settings, kind: str, *, to_email: str, to_name: str = "",
                        link: str = "", **words: Any) -> Outbox:
    """Compose an account email and add it to the outbox in the caller's transaction (the caller commits)."""
    email = compose(settings, kind, to_email=to_email, to_name=to_name, link=link, **words)
    [row] = queue(db, settings, [outbox_row(settings, EVENT_PREFIX + kind, email)])
    return row
