"""What an email is about: the notification kinds, defined once.

Every email the portal sends is of one kind. The kind says who hears of it (its audience), whether
it counts as a reply for people who want "only replies" (kbgen/mail/preferences.py), whether it is
a security email that goes out whatever the preference, and whether a burst of them becomes one
email (kbgen/mail/bursts.py). Outbox.event holds the kind's slug (an email listing several updates
holds BURST_EVENT; account emails hold "account.<what>").

Audiences:
- FOLLOWERS: the requester (who follows by default) and the ticket's watchers, never the person who acted;
- TEAM: the ticket's assignee, else the support team's address (Settings.support_team_email);
- REQUESTER: the requester alone;
- PERSON: whoever the account email is for.
"""
from __future__ import annotations

from dataclasses import dataclass

FOLLOWERS, TEAM, REQUESTER, PERSON = "followers", "team", "requester", "person"


@dataclass(frozen=True)
class NotificationKind:
    slug: str
    label: str  # what the preferences page calls it
    audience: str
    is_reply: bool = False  # sent to people who chose "only replies"
    security: bool = False  # sent whatever the preference
    burst: bool = False  # several within the burst window become one email per person


KINDS: tuple[NotificationKind, ...] = (
    NotificationKind("ticket_created", "The receipt of a request you open", FOLLOWERS),
    NotificationKind("new_request", "A new request (the support team)", TEAM),
    NotificationKind("comment_added", "A reply from the support team", FOLLOWERS, is_reply=True, burst=True),
    NotificationKind("customer_comment", "A customer's comment (the support team)", TEAM, is_reply=True),
    NotificationKind("status_changed", "A change of status", FOLLOWERS, burst=True),
    NotificationKind("priority_changed", "A change of priority", FOLLOWERS, burst=True),
    NotificationKind("reopened", "A customer reopened a request (the support team)", TEAM),
    NotificationKind("confirmed", "A customer confirmed a fix and closed the request (the support team)", TEAM),
    # Queued by kbgen/tickets/ratings.py when a request is closed (its EMAIL_EVENT).
    NotificationKind("satisfaction", "A request to rate a closed request", REQUESTER),
    NotificationKind("account", "Account and security emails: invitations, password resets, sign-up checks",
                     PERSON, security=True),
)

BURST_EVENT = "ticket_updates"  # Outbox.event of one email listing several updates of a request
ACCOUNT_PREFIX = "account."  # Outbox.event of account emails: "account.invitation", ... (kbgen/mail/account_mail.py)

_BY_SLUG = {k.slug: k for k in KINDS}
CREATED, NEW_REQUEST, REPLY, CUSTOMER_COMMENT, STATUS, PRIORITY, REOPENED, CONFIRMED, SATISFACTION, ACCOUNT = (
    _BY_SLUG[s] for s in ("ticket_created", "new_request", "comment_added", "customer_comment", "status_changed",
                          "priority_changed", "reopened", "confirmed", "satisfaction", "account"))


def find_kind(event: str | None) -> NotificationKind | None:
    """The kind of an Outbox.event (an account email's "account.<what>" is ACCOUNT); None for one no kind has."""
    text = str(event or "")
    if text.startswith(ACCOUNT_PREFIX):
        return ACCOUNT
    return _BY_SLUG.get(text)
