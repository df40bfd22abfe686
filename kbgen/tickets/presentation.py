"""Presenting a ticket to people: what the customer entered, under the form's labels; who someone is; times.

Shared by the API and the CLI, so both show a ticket the same way.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kbgen.accounts import User
from kbgen.tickets.models import Ticket, TicketConsent
from kbgen.tickets.queries import is_agent, sees_everything


@dataclass(frozen=True)
class EnteredField:
    name: str
    label: str
    value: Any  # as stored: str, list of str, bool
    display: str  # what people read: option labels instead of values, consents with their version
    type: str = "text"


def entered_fields(ticket: Ticket, catalog: Any = None) -> list[EnteredField]:
    """What the customer entered, in the form's order with the form's labels.

    A field the form no longer defines is still shown, under its own name, so
    nothing a customer wrote disappears when a form changes.
    """
    values = dict(ticket.values or {})
    definition = catalog.request_type(ticket.product, ticket.request_type) if catalog is not None else None
    consents = {c.field: c for c in ticket.consents}
    shown: list[EnteredField] = []
    for form_field in (definition.fields.values() if definition is not None else ()):
        if form_field.name in values:
            value = values.pop(form_field.name)
            shown.append(EnteredField(form_field.name, form_field.label or form_field.name, value,
                                      _display(form_field, value, consents.get(form_field.name)), form_field.type))
    for name, value in values.items():
        shown.append(EnteredField(name, name.replace("_", " ").capitalize(), value, _display(None, value, None)))
    return shown


def _display(form_field: Any, value: Any, consent: TicketConsent | None) -> str:
    if consent is not None:
        return (f"Accepted by {consent.user.display_name} on {consent.accepted_at:%Y-%m-%d %H:%M} UTC "
                f"({consent.name}, version {consent.version})")
    if isinstance(value, bool):
        return "Yes" if value else "No"
    items = value if isinstance(value, list) else [value]
    if form_field is not None and form_field.options:
        items = [form_field.option_label(str(v)) for v in items]
    return ", ".join(str(v) for v in items)


def person(user: User | None, viewer: User | None = None) -> dict[str, Any] | None:
    """Who someone is, as `viewer` may see them (None: the support team, who see everything).

    Customers talk to the support team through the portal, not to personal addresses, so an
    agent's email is left out for them.
    """
    if user is None:
        return None
    email = user.email if not is_agent(user) or sees_everything(viewer) else ""
    return {"id": user.id, "name": user.display_name, "email": email, "role": user.role}


def situation(ticket: Ticket) -> str:
    """What the status means for this ticket now, in the customer's words: a status's definition
    (kbgen/tickets/workflow.py) says how it usually comes about, which is wrong after a reopen or a reply."""
    from kbgen.tickets import workflow
    from kbgen.tickets.models import STATUS

    status = workflow.find_status(ticket.status)
    moves = [e for e in ticket.events if e.kind == STATUS]
    last = moves[-1] if moves else None
    if status is workflow.WAITING_FOR_SUPPORT and last is not None:
        if last.old_status == workflow.RESOLVED.name:
            return "Reopened, pending on the support team again."
        if last.old_status == workflow.WAITING_FOR_CUSTOMER.name:
            return "The customer answered; pending on the support team."
        return "Back with the support team, pending on them."
    if status is workflow.CLOSED and last is not None and last.new_status == workflow.CLOSED.name:
        if last.author is None:
            return "Closed automatically: nobody answered while it was resolved; no more action."
        return f"{last.author.display_name} confirmed the fix; no more action."
    return status.meaning


def iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.replace(microsecond=0).isoformat() + "Z"
