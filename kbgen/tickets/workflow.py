"""Ticket statuses and who may move a ticket from one to another: defined once.

The intake sets the first status, the API and the CLI validate every move
against `TRANSITIONS`, the requests pages render `STATUSES` as their help
table, and the ticket page offers exactly the moves `allowed()` returns.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from kbgen.accounts.roles import Role, role_of


@dataclass(frozen=True)
class Status:
    slug: str
    name: str  # what customers and agents see, and what the database stores
    meaning: str
    tone: str  # its colour family on status chips (kbgen-requests.css: --kbgen-tone-<tone>-bg/-fg)


STATUSES: tuple[Status, ...] = (
    Status("waiting-for-support", "Waiting for Support", "Created, pending on the support team.", "support"),
    Status("in-progress", "In progress", "The support team is handling it.", "working"),
    Status("waiting-for-customer", "Waiting for customer", "The support team waits for the customer's feedback.", "customer"),
    Status("escalated", "Escalated", "Escalated to 3rd level support, e.g. bug fixing.", "specialists"),
    Status("under-investigation", "Under Investigation", "Needs further investigation by specialists.", "specialists"),
    Status("under-development", "Under Development", "The development team is working on it.", "specialists"),
    Status("resolved", "Resolved", "Resolved by the support team.", "resolved"),
    Status("closed", "Closed", "The customer confirmed the fix; no more action.", "closed"),
)

_BY_SLUG = {s.slug: s for s in STATUSES}
WAITING_FOR_SUPPORT = _BY_SLUG["waiting-for-support"]
WAITING_FOR_CUSTOMER = _BY_SLUG["waiting-for-customer"]
RESOLVED = _BY_SLUG["resolved"]
CLOSED = _BY_SLUG["closed"]
INITIAL = WAITING_FOR_SUPPORT
FINAL = CLOSED

AGENT = Role.AGENT  # the support team
CUSTOMER = "customer"  # partners act on their organization's tickets exactly as customers do
ON_CUSTOMER_COMMENT = "customer comment"  # not a person: the move a customer's reply triggers


@dataclass(frozen=True)
class Transition:
    source: Status
    target: Status
    by: str  # AGENT, CUSTOMER or ON_CUSTOMER_COMMENT
    action: str  # the button label
    reopen_window: bool = False  # only within Settings.reopen_days after the ticket was resolved


def _agent_moves() -> list[Transition]:
    # Agents move freely among every status but Closed: only the customer closes a ticket.
    working = [s for s in STATUSES if s is not CLOSED]
    return [Transition(a, b, AGENT, f"Move to {b.name}") for a in working for b in working if a is not b]


TRANSITIONS: tuple[Transition, ...] = tuple(_agent_moves()) + (
    Transition(RESOLVED, CLOSED, CUSTOMER, "Confirm the fix"),
    Transition(RESOLVED, WAITING_FOR_SUPPORT, CUSTOMER, "Reopen", reopen_window=True),
    Transition(WAITING_FOR_CUSTOMER, WAITING_FOR_SUPPORT, ON_CUSTOMER_COMMENT, "Reply"),
)


class UnknownStatus(ValueError):
    pass


class TransitionRefused(Exception):
    """A move the user may not make now; `allowed` lists the statuses they may move to."""

    def __init__(self, message: str, allowed: list[Status]):
        super().__init__(message)
        self.message = message
        self.allowed = allowed


def find_status(value: object) -> Status:
    """Match a status by name or slug, ignoring case: 'Waiting for customer' or 'waiting-for-customer'."""
    if isinstance(value, Status):
        return value
    if isinstance(value, str):
        wanted = value.strip().lower().replace("_", "-")
        for status in STATUSES:
            if wanted in (status.slug, status.name.lower(), status.name.lower().replace(" ", "-")):
                return status
    raise UnknownStatus(f"unknown status {value!r}; use one of: " + ", ".join(s.name for s in STATUSES))


def role_for(user_role: str) -> str:
    """The side of the workflow a person's role acts on: the support team (agents, admins) or the customer."""
    role = role_of(user_role)
    return AGENT if user_role == AGENT or (role is not None and role.can_answer_tickets) else CUSTOMER


def reopen_deadline(resolved_at: _dt.datetime | None, reopen_days: int) -> _dt.datetime | None:
    return None if resolved_at is None else resolved_at + _dt.timedelta(days=reopen_days)


def allowed(current: str | Status, user_role: str, *, resolved_at: _dt.datetime | None = None,
            reopen_days: int = 14, now: _dt.datetime | None = None) -> list[Transition]:
    """The moves a user with this role may make from `current` right now."""
    source = find_status(current)
    role = role_for(user_role)
    now = now or _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)  # naive UTC, as stored
    deadline = reopen_deadline(resolved_at, reopen_days)
    return [t for t in TRANSITIONS
            if t.source is source and t.by == role
            and not (t.reopen_window and (deadline is None or now > deadline))]


def check(current: str | Status, target: str | Status, user_role: str, **window) -> Transition:
    """The transition from `current` to `target`, or TransitionRefused naming the allowed ones."""
    source, wanted = find_status(current), find_status(target)
    moves = allowed(source, user_role, **window)
    for move in moves:
        if move.target is wanted:
            return move
    targets = [m.target for m in moves]
    if source is FINAL:
        reason = f"'{source.name}' is final; open a new request that refers to this one"
    elif source is wanted:
        reason = f"The request is already '{source.name}'"
    elif role_for(user_role) == CUSTOMER and source is RESOLVED and wanted is WAITING_FOR_SUPPORT:
        reason = (f"The reopen period of {window.get('reopen_days', 14)} days after resolution has passed;"
                  " confirm the fix, or open a new request that refers to this one")
    else:
        who = "The support team" if role_for(user_role) == AGENT else "A customer"
        reason = f"{who} cannot move a request from '{source.name}' to '{wanted.name}'"
    allowed_text = ", ".join(f"'{s.name}'" for s in targets) if targets else "none"
    raise TransitionRefused(f"{reason}. Allowed from '{source.name}': {allowed_text}", targets)


def on_customer_comment(current: str | Status) -> Status | None:
    """The status a customer's reply moves the ticket to, if any."""
    source = find_status(current)
    for move in TRANSITIONS:
        if move.source is source and move.by == ON_CUSTOMER_COMMENT:
            return move.target
    return None


def help_rows(reopen_days: int | None = None) -> list[tuple[str, str, str]]:
    """(status, meaning, what can happen next) for the help table on the requests pages and the CLI."""
    period = f"within {reopen_days} days" if reopen_days else "within the reopen period"
    rows = []
    for status in STATUSES:
        moves = [m for m in TRANSITIONS if m.source is status]
        parts = []
        for move in moves:
            if move.by == CUSTOMER:
                when = f" {period} after it was resolved" if move.reopen_window else ""
                parts.append(f"the customer can {move.action.lower()} ({move.target.name}){when}")
            elif move.by == ON_CUSTOMER_COMMENT:
                parts.append(f"a reply from the customer moves it to {move.target.name}")
        if any(m.by == AGENT for m in moves):
            parts.append("the support team can move it to any other open status")
        if not moves:
            text = "Final: it takes no more comments; open a new request that refers to it."
        else:
            text = "; ".join(parts)
            text = text[0].upper() + text[1:] + "."
        rows.append((status.name, status.meaning, text))
    return rows
