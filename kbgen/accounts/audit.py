"""The audit log: every account action, with who did it, when, to whom and from where.

`record()` runs inside the transaction of the action it describes, so an action and its
record are committed together or not at all. Failed sign-ins are summarized, not logged one
by one: one row per account and hour, whose `count` grows (`sign_in_failed`), and only for
accounts that exist (what strangers type is nobody's business; kbgen/accounts/login_limits.py
keeps only hashes of it). Admins read the log on /admin/audit/ and with `kbgen audit`.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kbgen import dates
from kbgen.accounts.models import MAX_EMAIL, Organization, User
from kbgen.db import Base, utcnow

SYSTEM = "kbgen"  # the actor of what no signed-in person did: the CLI, a link in an email
FAILURE_SUMMARY_WINDOW = dt.timedelta(hours=1)  # one sign_in.failed row per account and hour
MAX_PAGE = 200


@dataclass(frozen=True)
class Action:
    slug: str
    label: str  # how the audit page and `kbgen audit` name it


ACTIONS: tuple[Action, ...] = (
    Action("invitation.sent", "Invitation sent"),
    Action("invitation.resent", "Invitation sent again"),
    Action("invitation.revoked", "Invitation revoked"),
    Action("invitation.accepted", "Invitation accepted"),
    Action("password.reset_requested", "Password reset requested"),
    Action("password.reset_completed", "Password reset completed"),
    Action("password.set", "Password set by an administrator"),
    Action("signup.requested", "Sign-up requested"),
    Action("signup.verified", "Sign-up address confirmed"),
    Action("signup.approved", "Sign-up approved"),
    Action("user.added", "User added"),
    Action("user.role_changed", "Role changed"),
    Action("user.moved", "Moved to another organization"),
    Action("user.deactivated", "User deactivated"),
    Action("user.reactivated", "User reactivated"),
    Action("user.sessions_ended", "Sessions ended"),
    Action("user.membership_added", "Added to an organization (partner)"),
    Action("user.membership_removed", "Removed from an organization (partner)"),
    Action("organization.created", "Organization created"),
    Action("organization.renamed", "Organization renamed"),
    Action("organization.deactivated", "Organization deactivated"),
    Action("organization.reactivated", "Organization reactivated"),
    Action("organization.domain_added", "Sign-up domain added"),
    Action("organization.domain_removed", "Sign-up domain removed"),
    Action("organization.signup_changed", "Sign-up by domain changed"),
    Action("sign_in.failed", "Failed sign-ins"),
)
_BY_SLUG = {a.slug: a for a in ACTIONS}


def action_label(slug: str) -> str:
    found = _BY_SLUG.get(slug)
    return found.label if found else slug


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_action_target_at", "action", "target", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(MAX_EMAIL))  # the actor's email then, or SYSTEM
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(400), default="")  # an email or an organization's name
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"),
                                                        index=True)
    client: Mapped[str] = mapped_column(String(64), default="")  # the client address, "" for the CLI
    details: Mapped[str] = mapped_column(Text(), default="{}")  # JSON: what changed (old and new values)

    @property
    def label(self) -> str:
        return action_label(self.action)

    @property
    def facts(self) -> dict[str, Any]:
        try:
            value = json.loads(self.details or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


def record(db: Session, action: str, *, actor: User | None = None, target: str = "",
           organization: Organization | int | None = None, client: str | None = None,
           **details: Any) -> AuditEvent:
    """Add one event to the caller's transaction. `details` are JSON values (what changed)."""
    if action not in _BY_SLUG:
        raise ValueError(f"unknown audit action {action!r}; add it to kbgen.accounts.audit.ACTIONS")
    org_id = organization.id if isinstance(organization, Organization) else organization
    event = AuditEvent(at=utcnow(), actor_id=actor.id if actor is not None else None,
                       actor=actor.email if actor is not None else SYSTEM, action=action,
                       target=(target or "")[:400], organization_id=org_id, client=(client or "")[:64],
                       details=json.dumps(details, default=str, sort_keys=True))
    db.add(event)
    return event


def sign_in_failed(db: Session, user: User, client: str | None, now: dt.datetime | None = None) -> None:
    """Count a failed sign-in to an existing account in its row of the hour (one row per account and hour)."""
    now = now or utcnow()
    row = db.scalar(select(AuditEvent).where(AuditEvent.action == "sign_in.failed", AuditEvent.target == user.email,
                                             AuditEvent.at >= now - FAILURE_SUMMARY_WINDOW)
                    .order_by(AuditEvent.id.desc()).limit(1).with_for_update())
    if row is None:
        record(db, "sign_in.failed", target=user.email, organization=user.organization_id, client=client,
               count=1, first=now.isoformat(timespec="seconds"), last=now.isoformat(timespec="seconds"),
               addresses=[client] if client else [])
        return
    facts = row.facts
    addresses = [a for a in facts.get("addresses", []) if isinstance(a, str)]
    if client and client not in addresses and len(addresses) < 10:
        addresses.append(client)
    facts.update(count=int(facts.get("count", 0)) + 1, last=now.isoformat(timespec="seconds"), addresses=addresses)
    row.details = json.dumps(facts, sort_keys=True)
    row.client = (client or row.client)[:64]


def events(db: Session, *, limit: int = 50, before: int | None = None, action: str | None = None,
           organization_id: int | None = None, target: str | None = None,
           person: str | None = None) -> list[AuditEvent]:
    """The newest events first; `before` (an event id) pages back. `person` (an email) is who did it or
    whom it was done to."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
    if before is not None:
        query = query.where(AuditEvent.id < before)
    if action:
        query = query.where(AuditEvent.action == action)
    if organization_id is not None:
        query = query.where(AuditEvent.organization_id == organization_id)
    if target:
        query = query.where(AuditEvent.target == target.strip())
    if person:
        wanted = person.strip().lower()
        query = query.where(or_(AuditEvent.target == wanted, AuditEvent.actor == wanted))
    return list(db.scalars(query))


def _words(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_words(v) for v in value) or "none"
    return str(value)


def _moment(value: object) -> str:
    """A stored ISO time in the portal's one format (kbgen/dates.py), or what it was when it is no time."""
    try:
        return dates.when(dt.datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value or "?")


def describe(event: AuditEvent) -> str:
    """An event's details in plain words: "from Customer to Agent; sessions ended: 2"."""
    facts = event.facts
    if event.action == "sign_in.failed":
        count = facts.get("count", 0)
        text = (f"{count} failed sign-in{'s' if count != 1 else ''} from {_moment(facts.get('first'))} "
                f"to {_moment(facts.get('last'))}")
        addresses = facts.get("addresses") or []
        return text + (f" from {_words(addresses)}" if addresses else "")
    parts = []
    if "old" in facts and "new" in facts:
        parts.append(f"from {_words(facts.pop('old'))} to {_words(facts.pop('new'))}")
    parts += [f"{key.replace('_', ' ')}: {_words(value)}" for key, value in sorted(facts.items())]
    return "; ".join(parts)
