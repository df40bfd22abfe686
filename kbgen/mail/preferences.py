"""Which emails a person gets: their notification preference (users.notify), defined once.

- all: every email about the requests they follow (and, for an assignee, the team's alerts);
- replies: only replies (the support team's comments; for an assignee, customers' comments);
- none: no request emails at all.
Security emails (account emails: invitations, password resets, sign-up checks) go whatever the
preference. The support team's address is not a person and gets every alert it is sent.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from kbgen.mail.kinds import KINDS, NotificationKind, find_kind


@dataclass(frozen=True)
class Preference:
    slug: str
    label: str
    description: str
    replies_only: bool = False
    nothing: bool = False

    def allows(self, kind: NotificationKind) -> bool:
        if kind.security:
            return True
        if self.nothing:
            return False
        return kind.is_reply or not self.replies_only


PREFERENCES: tuple[Preference, ...] = (
    Preference("all", "All updates",
               "Every email about the requests you follow: replies, status and priority changes, receipts."),
    Preference("replies", "Only replies",
               "Only when someone replies on a request you follow (the support team; for an assignee, the "
               "customer). No status or priority emails.", replies_only=True),
    Preference("none", "None except security",
               "No emails about requests. Account and security emails (invitations, password resets) still come.",
               nothing=True),
)
DEFAULT = PREFERENCES[0]
_BY_SLUG = {p.slug: p for p in PREFERENCES}
MAX_SLUG = 16  # users.notify's length


class PreferenceInvalid(ValueError):
    """Not one of PREFERENCES; the message names them."""


def find_preference(value: object) -> Preference:
    """The preference `value` names (its slug); PreferenceInvalid naming the choices otherwise."""
    preference = _BY_SLUG.get(value.strip().lower()) if isinstance(value, str) and len(value) <= 100 else None
    if preference is None:
        raise PreferenceInvalid("Choose one of: " + ", ".join(f"{p.slug} ({p.label})" for p in PREFERENCES) + ".")
    return preference


def preference_of(user: Any) -> Preference:
    """A person's preference; a stored value no preference has counts as the default."""
    return _BY_SLUG.get(str(getattr(user, "notify", "") or ""), DEFAULT)


def wants(user: Any, kind: NotificationKind | str) -> bool:
    """Whether `user` gets an email of `kind` (a kind or an Outbox.event; unknown events are sent)."""
    found = kind if isinstance(kind, NotificationKind) else find_kind(kind)
    return found is None or preference_of(user).allows(found)


def set_preference(session: Session, user: Any, value: object) -> Preference:
    """Store and commit `user`'s preference (`user` attached to `session`); PreferenceInvalid before any change."""
    preference = find_preference(value)
    from kbgen.tickets.service import _writing  # one writer at a time, as for every change

    with _writing(session):
        user.notify = preference.slug
    return preference


def choices() -> list[dict[str, Any]]:
    """Each preference with the kinds of email it lets through: what the page and the API show."""
    return [{"slug": p.slug, "label": p.label, "description": p.description,
             "kinds": [k.slug for k in KINDS if p.allows(k)]} for p in PREFERENCES]
