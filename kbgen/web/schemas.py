"""What the API takes and answers, as pydantic models, and the serializers that fill them.

Routes declare these as `response_model` and return them, so /openapi.json describes exactly
what is sent. The values a field can take (statuses, roles, products, priorities, timeline
kinds) come from their one definition (kbgen.tickets.workflow, kbgen.accounts, kbgen.site.catalog,
kbgen.forms, kbgen.tickets.models) and reach the documents as enums.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Iterable

from pydantic import BaseModel, Field, StrictInt
from sqlalchemy.orm import Session

from kbgen import tickets
from kbgen.accounts import ROLES, User
from kbgen.forms import PRIORITIES
from kbgen.settings import Settings
from kbgen.site.catalog import PRODUCTS, find_product
from kbgen.tickets import workflow


def _one_of(values: Iterable[str], description: str | None = None) -> Any:
    """A text field documented as one of `values` (the answer's own data decides; nothing is refused)."""
    return Field(description=description, json_schema_extra={"enum": list(dict.fromkeys(values))})


# -- answers -------------------------------------------------------------------------------------


StatusName = Annotated[str, _one_of(s.name for s in workflow.STATUSES)]
StatusSlug = Annotated[str, _one_of(s.slug for s in workflow.STATUSES)]
Role = Annotated[str, _one_of(ROLES)]


class PersonOut(BaseModel):
    id: int
    name: str
    email: str = Field(description="Empty for an agent, when the viewer is a customer or partner")
    role: Role


class StatusOut(BaseModel):
    name: StatusName
    slug: StatusSlug
    meaning: str


class ChoiceOut(BaseModel):
    slug: str
    name: str


class ProductOut(ChoiceOut):
    slug: str = _one_of(p.slug for p in PRODUCTS)


class PriorityOut(ChoiceOut):
    slug: str = _one_of(p.slug for p in PRIORITIES)


class OrganizationOut(BaseModel):
    id: int
    name: str


class TicketSummaryOut(BaseModel):
    key: str = Field(pattern=f"^{tickets.KEY_PATTERN}$")
    url: str = Field(description="The ticket page, relative to the site root")
    product: ProductOut
    request_type: ChoiceOut
    summary: str
    status: StatusOut
    priority: PriorityOut
    requester: PersonOut
    organization: OrganizationOut
    assignee: PersonOut | None = None
    created_at: str
    updated_at: str


class TicketListOut(BaseModel):
    items: list[TicketSummaryOut]
    total: int
    page: int
    per_page: int
    pages: int
    requesters: list[PersonOut] = Field(description="Who the requester filter can choose")
    agents: list[PersonOut] = Field(description="The support team (agents only; empty for customers)")
    organization: OrganizationOut | None = Field(description="The viewer's organization")
    organizations: list[OrganizationOut] = Field(
        default_factory=list, description="The viewer's organizations when they are several (a partner's); "
                                          "empty for agents")
    viewer: PersonOut


class FieldOut(BaseModel):
    name: str
    label: str
    type: str
    value: Any
    display: str


class AttachmentOut(BaseModel):
    id: int
    filename: str
    size: int
    field: str | None
    url: str = Field(description="Download URL, relative to the service")
    created_at: str


class EventOut(BaseModel):
    id: int
    kind: str = _one_of(tickets.EVENT_KINDS, "comment, note (internal), status, assigned, automation, "
                                             "automation_failed")
    internal: bool
    author: PersonOut | None
    title: str
    html: str = Field(description="The body as safe HTML")
    old_status: str | None
    new_status: str | None
    created_at: str
    attachments: list[AttachmentOut]


class MoveOut(BaseModel):
    to: StatusName
    slug: StatusSlug
    action: str


class ConsentOut(BaseModel):
    field: str
    name: str
    version: str
    text_sha256: str
    accepted_by: str
    accepted_at: str


class ClosedOut(BaseModel):
    detail: str
    new_request_url: str


class TicketOut(TicketSummaryOut):
    description: str
    fields: list[FieldOut]
    attachments: list[AttachmentOut]
    timeline: list[EventOut]
    transitions: list[MoveOut]
    can_comment: bool
    can_add_internal_note: bool
    closed: ClosedOut | None
    reopen_until: str | None
    related_key: str | None
    consents: list[ConsentOut]
    agents: list[PersonOut]
    viewer: PersonOut


class CreatedOut(BaseModel):
    key: str
    url: str


class RefusedMoveOut(BaseModel):
    detail: str
    allowed: list[str]


class AccountUserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role


class AccountOut(BaseModel):
    user: AccountUserOut
    organization: OrganizationOut = Field(description="Their own organization")
    organizations: list[OrganizationOut] = Field(
        description="Every organization they open and follow requests for: their own first, then a partner's "
                    "further ones. Send one's id as `organization` when opening a request.")
    is_admin: bool = Field(False, description="Runs the accounts: the admin pages are theirs")
    csrf_token: str = Field(description="Send it back as X-CSRF-Token with every change")


# -- requests ------------------------------------------------------------------------------------


class CommentIn(BaseModel):
    text: str = Field(description=f"Markdown, at most {tickets.MAX_COMMENT_CHARS} characters; raw HTML is shown "
                                  "as text")
    internal: bool = Field(False, description="An internal note: agents only, never shown to customers")


class TransitionIn(BaseModel):
    to: str = Field(max_length=100,
                    description="A status name or slug: " + ", ".join(s.name for s in workflow.STATUSES))


class AssigneeIn(BaseModel):
    assignee: Annotated[StrictInt, Field(ge=1, le=tickets.MAX_ID)] | Annotated[str, Field(max_length=320)] | None \
        = Field(description="An agent's email or id; null to unassign")


# -- serializers ---------------------------------------------------------------------------------


def person_out(user: User | None, viewer: User | None) -> PersonOut | None:
    data = tickets.person(user, viewer)
    return None if data is None else PersonOut(**data)


def _choice(slug: str, name: str | None) -> dict:
    return {"slug": slug, "name": name or slug}


def _priority_name(slug: str) -> str:
    return next((p.name for p in PRIORITIES if p.slug == slug), slug)


def _organization(org) -> OrganizationOut:
    return OrganizationOut(id=org.id, name=org.name)


def _summary(ticket: tickets.Ticket, viewer: User, catalog: Any) -> dict[str, Any]:
    product = find_product(ticket.product)
    rtype = catalog.request_type(ticket.product, ticket.request_type) if catalog is not None else None
    status = workflow.find_status(ticket.status)
    return {
        "key": ticket.key, "url": ticket.url,
        "product": _choice(ticket.product, product.name if product else None),
        "request_type": _choice(ticket.request_type, rtype.title if rtype else None),
        "summary": ticket.summary,
        "status": StatusOut(name=status.name, slug=status.slug, meaning=status.meaning),
        "priority": _choice(ticket.priority, _priority_name(ticket.priority)),
        "requester": person_out(ticket.requester, viewer),
        "organization": _organization(ticket.organization),
        "assignee": person_out(ticket.assignee, viewer),
        "created_at": tickets.iso(ticket.created_at), "updated_at": tickets.iso(ticket.updated_at),
    }


def summary_out(ticket: tickets.Ticket, viewer: User, catalog: Any = None) -> TicketSummaryOut:
    return TicketSummaryOut(**_summary(ticket, viewer, catalog))


def attachment_out(ticket: tickets.Ticket, attachment: tickets.Attachment) -> AttachmentOut:
    return AttachmentOut(id=attachment.id, filename=attachment.filename, size=attachment.size,
                         field=attachment.field, url=f"/api/tickets/{ticket.key}/attachments/{attachment.id}",
                         created_at=tickets.iso(attachment.created_at))


def event_out(ticket: tickets.Ticket, event: tickets.TicketEvent, viewer: User) -> EventOut:
    return EventOut(id=event.id, kind=event.kind, internal=event.internal, author=person_out(event.author, viewer),
                    title=event.title, html=event.html, old_status=event.old_status, new_status=event.new_status,
                    created_at=tickets.iso(event.created_at),
                    attachments=[attachment_out(ticket, a) for a in event.attachments])


def _agents(session: Session, viewer: User) -> list[PersonOut]:
    return [person_out(a, viewer) for a in tickets.agents(session)] if tickets.is_agent(viewer) else []


def ticket_out(session: Session, settings: Settings, ticket: tickets.Ticket, viewer: User, catalog: Any,
               now: dt.datetime | None = None) -> TicketOut:
    """One ticket as `viewer` may see it, with the moves they may make and until when it can be reopened."""
    now = now or tickets.utcnow()
    moves = workflow.allowed(ticket.status, viewer.role, resolved_at=ticket.resolved_at,
                             reopen_days=settings.reopen_days, now=now)
    closed = ticket.status == workflow.FINAL.name
    deadline = workflow.reopen_deadline(ticket.resolved_at, settings.reopen_days) \
        if ticket.status == workflow.RESOLVED.name else None
    attachments = tickets.visible_attachments(ticket, viewer)
    return TicketOut(
        **_summary(ticket, viewer, catalog),
        description=ticket.description,
        fields=[FieldOut(name=f.name, label=f.label, type=f.type, value=f.value, display=f.display)
                for f in tickets.entered_fields(ticket, catalog)],
        attachments=[attachment_out(ticket, a) for a in attachments if a.event_id is None],
        timeline=[event_out(ticket, e, viewer) for e in tickets.visible_events(ticket, viewer)],
        transitions=[MoveOut(to=m.target.name, slug=m.target.slug, action=m.action) for m in moves],
        can_comment=not closed,
        can_add_internal_note=tickets.is_agent(viewer) and not closed,
        closed=ClosedOut(detail=tickets.closed_message(ticket),
                         new_request_url=tickets.new_request_url(ticket)) if closed else None,
        reopen_until=tickets.iso(deadline) if deadline and deadline > now else None,
        related_key=ticket.related_key,
        consents=[ConsentOut(field=c.field, name=c.name, version=c.version, text_sha256=c.text_sha256,
                             accepted_by=c.user.display_name, accepted_at=tickets.iso(c.accepted_at))
                  for c in ticket.consents],
        agents=_agents(session, viewer),
        viewer=person_out(viewer, viewer),
    )


def ticket_list_out(session: Session, found: tickets.TicketPage, viewer: User, catalog: Any) -> TicketListOut:
    agent = tickets.is_agent(viewer)
    return TicketListOut(
        items=[summary_out(t, viewer, catalog) for t in found.items],
        total=found.total, page=found.page, per_page=found.per_page, pages=found.pages,
        requesters=[person_out(u, viewer) for u in tickets.requesters_of(session, viewer)],
        agents=_agents(session, viewer),
        organization=None if agent else _organization(viewer.organization),
        organizations=[] if agent else [_organization(o) for o in viewer.organizations],
        viewer=person_out(viewer, viewer),
    )


def account_out(user: User, csrf_token: str) -> AccountOut:
    """The body of GET /api/me and of a successful JSON sign-in."""
    return AccountOut(user=AccountUserOut(id=user.id, email=user.email, name=user.name, role=user.role),
                      organization=_organization(user.organization),
                      organizations=[_organization(o) for o in user.organizations], is_admin=user.is_admin,
                      csrf_token=csrf_token)
