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


class SlaOut(BaseModel):
    """The service-level clocks of a ticket (kbgen/sla/clock.py), for the support team only."""

    due_at: str | None = Field(description="The earliest running due time: what the queues sort by")
    first_response_due_at: str | None
    first_response_at: str | None
    resolution_due_at: str | None = Field(description="Empty while the clock is paused or stopped")
    resolution_paused_seconds_left: int | None = Field(
        description="While paused (waiting for the customer, resolved): working seconds left, negative when over")
    breached: list[str] = Field(description="Targets missed: first_response, resolution")
    due_soon: bool
    reopened: bool = Field(description="The customer reopened it and no agent has acted since")


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
    sla: SlaOut | None = Field(None, description="The support team only; null for customers and partners")


class TicketListOut(BaseModel):
    items: list[TicketSummaryOut]
    total: int
    total_is_lower_bound: bool = Field(False, description="Counting stopped at `total`: there are more")
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
    by: str | None = Field(None, description="Who confirmed the fix; null when it closed by itself")
    at: str | None = None


# -- satisfaction: the requester's rating of a closed request (kbgen/tickets/ratings.py) ------------------
# Everything about ratings in the API is here: the body of POST /api/tickets/{key}/rating, the rating agents
# see on a ticket, and what the requester's ticket page needs to ask for one (TicketOut takes SatisfactionOut).


class RatingChoiceOut(BaseModel):
    score: int
    label: str


class RatingOut(BaseModel):
    score: int = Field(ge=tickets.ratings.MIN_SCORE, le=tickets.ratings.MAX_SCORE)
    label: str = Field(description="The score in words")
    comment: str
    rated_at: str
    by: PersonOut | None


class SatisfactionOut(BaseModel):
    rating: RatingOut | None = Field(None, description="The support team only: the requester's rating, once given")
    can_rate: bool = Field(False, description="The viewer is the requester of this closed, unrated request")
    rated: bool = Field(False, description="The requester rated it (for the requester and the support team)")
    rating_scale: list[RatingChoiceOut] = Field(
        default_factory=lambda: [RatingChoiceOut(score=s, label=w) for s, w in tickets.SCALE],
        description="The scores a rating takes, with their words")
    rating_comment_max_chars: int = Field(tickets.MAX_RATING_COMMENT, description="The longest comment a rating takes")


class RatingIn(BaseModel):
    score: Annotated[StrictInt, Field(ge=tickets.ratings.MIN_SCORE, le=tickets.ratings.MAX_SCORE)] = Field(
        description=", ".join(f"{s}: {w}" for s, w in tickets.SCALE))
    comment: str = Field("", max_length=tickets.MAX_RATING_COMMENT, description="Optional")


def rating_out(rating: tickets.Rating, viewer: User) -> RatingOut:
    author = rating.ticket.requester if rating.user_id == rating.ticket.requester_id else None
    return RatingOut(score=rating.score, label=tickets.ratings.label(rating.score), comment=rating.comment or "",
                     rated_at=tickets.iso(rating.created_at), by=person_out(author, viewer))


def satisfaction_fields(ticket: tickets.Ticket, viewer: User) -> dict[str, Any]:
    """SatisfactionOut's fields of `ticket` for `viewer`."""
    rating, agent = ticket.rating, tickets.is_agent(viewer)
    return {"rating": rating_out(rating, viewer) if rating is not None and agent else None,
            "can_rate": tickets.can_rate(ticket, viewer),
            "rated": rating is not None and (agent or viewer.id == ticket.requester_id)}


# -- end of satisfaction ------------------------------------------------------------------------------------


# -- following: watchers and notification preferences (kbgen/mail/watching.py, kbgen/mail/preferences.py) ---
# Everything about following in the API is here: what the ticket page needs for its Watch button (TicketOut takes
# WatchingOut), the answer of POST/DELETE /api/tickets/{key}/watch, and GET/PUT /api/me/notifications.


class WatchingOut(BaseModel):
    watching: bool = Field(False, description="The viewer follows this request: its requester, or a watcher")
    watchers: list[PersonOut] = Field(default_factory=list,
                                      description="Who watches it (its requester follows it without watching)")


class WatchOut(WatchingOut):
    key: str = Field(pattern=f"^{tickets.KEY_PATTERN}$")


def watching_fields(ticket: tickets.Ticket, viewer: User) -> dict[str, Any]:
    """WatchingOut's fields of `ticket` for `viewer`."""
    from kbgen.mail import watching

    return {"watching": watching.is_following(ticket, viewer),
            "watchers": [person_out(user, viewer) for user in watching.watchers(ticket)]}


def watch_out(ticket: tickets.Ticket, viewer: User) -> WatchOut:
    return WatchOut(key=ticket.key, **watching_fields(ticket, viewer))


def _preference_slugs() -> list[str]:
    from kbgen.mail.preferences import PREFERENCES

    return [p.slug for p in PREFERENCES]


class PreferenceChoiceOut(BaseModel):
    slug: str = _one_of(_preference_slugs())
    label: str
    description: str
    kinds: list[str] = Field(description="The kinds of email it lets through")


class NotificationsOut(BaseModel):
    preference: str = _one_of(_preference_slugs(), "Which emails the signed-in person gets")
    choices: list[PreferenceChoiceOut]


class NotificationsIn(BaseModel):
    preference: str = Field(max_length=100, json_schema_extra={"enum": _preference_slugs()})


def notifications_out(user: User) -> NotificationsOut:
    from kbgen.mail import preferences

    return NotificationsOut(preference=preferences.preference_of(user).slug,
                            choices=[PreferenceChoiceOut(**c) for c in preferences.choices()])


# -- end of following ---------------------------------------------------------------------------------------


class TicketOut(WatchingOut, SatisfactionOut, TicketSummaryOut):
    description: str
    fields: list[FieldOut]
    attachments: list[AttachmentOut]
    timeline: list[EventOut]
    transitions: list[MoveOut]
    can_comment: bool
    can_add_internal_note: bool
    closed: ClosedOut | None
    reopen_until: str | None
    closes_on: str | None = Field(None, description="A resolved request closes by itself then, unless reopened")
    related_key: str | None
    consents: list[ConsentOut]
    agents: list[PersonOut]
    viewer: PersonOut
    promise: str = Field(description="The service level promised for its priority, in the customer's words "
                                     "(empty without a target)")
    can_change_priority: bool


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


class ViewOut(BaseModel):
    slug: str
    name: str
    description: str
    sort: str = Field(description="The order the view opens in")
    count: int = Field(description="Requests in the view, counted up to `count_limit`")
    more: bool = Field(description="More than `count` (show it as 999+)")


class PriorityIn(BaseModel):
    priority: str = Field(max_length=40, description="A priority's slug or name: "
                                                      + ", ".join(p.slug for p in PRIORITIES))


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


def _summary(ticket: tickets.Ticket, viewer: User, catalog: Any, levels: Any = None) -> dict[str, Any]:
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
        "sla": sla_out(ticket, levels) if tickets.is_agent(viewer) else None,
    }


def sla_out(ticket: tickets.Ticket, levels: Any = None, now: dt.datetime | None = None) -> SlaOut:
    """`levels`: the project's ServiceLevels (kbgen.sla.for_forms), for the due-soon margin."""
    from kbgen.sla.definitions import DEFAULT_DUE_SOON

    now = now or tickets.utcnow()
    margin = dt.timedelta(seconds=levels.due_soon if levels is not None else DEFAULT_DUE_SOON)
    breached = [name for name, at, due in (("first_response", ticket.response_breached_at, ticket.response_due_at),
                                           ("resolution", ticket.resolution_breached_at, ticket.resolution_due_at))
                if at is not None or (due is not None and due <= now)]
    from kbgen.sla.clock import due_at

    due = due_at(ticket)
    return SlaOut(due_at=tickets.iso(due), first_response_due_at=tickets.iso(ticket.response_due_at),
                  first_response_at=tickets.iso(ticket.first_response_at),
                  resolution_due_at=tickets.iso(ticket.resolution_due_at),
                  resolution_paused_seconds_left=ticket.resolution_remaining, breached=breached,
                  due_soon=due is not None and now < due <= now + margin,
                  reopened=ticket.reopened_at is not None)


def summary_out(ticket: tickets.Ticket, viewer: User, catalog: Any = None, levels: Any = None) -> TicketSummaryOut:
    return TicketSummaryOut(**_summary(ticket, viewer, catalog, levels))


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
    from kbgen.sla import for_forms

    now = now or tickets.utcnow()
    levels = for_forms(settings.forms_dir)
    target = levels.target(ticket.priority)
    moves = workflow.allowed(ticket.status, viewer.role, resolved_at=ticket.resolved_at,
                             reopen_days=settings.reopen_days, now=now)
    closed = ticket.status == workflow.FINAL.name
    deadline = workflow.reopen_deadline(ticket.resolved_at, settings.reopen_days) \
        if ticket.status == workflow.RESOLVED.name else None
    attachments = tickets.visible_attachments(ticket, viewer)
    summary = _summary(ticket, viewer, catalog, levels)
    summary["status"] = summary["status"].model_copy(update={"meaning": tickets.situation(ticket)})
    return TicketOut(
        **summary,
        description=ticket.description,
        fields=[FieldOut(name=f.name, label=f.label, type=f.type, value=f.value, display=f.display)
                for f in tickets.entered_fields(ticket, catalog)],
        attachments=[attachment_out(ticket, a) for a in attachments if a.event_id is None],
        timeline=[event_out(ticket, e, viewer) for e in tickets.visible_events(ticket, viewer)],
        transitions=[MoveOut(to=m.target.name, slug=m.target.slug, action=m.action) for m in moves],
        can_comment=not closed,
        can_add_internal_note=tickets.is_agent(viewer) and not closed,
        closed=_closed_out(ticket) if closed else None,
        reopen_until=tickets.iso(deadline) if deadline and deadline > now else None,
        closes_on=tickets.iso(tickets.auto_close_on(ticket, settings)),
        related_key=ticket.related_key,
        consents=[ConsentOut(field=c.field, name=c.name, version=c.version, text_sha256=c.text_sha256,
                             accepted_by=c.user.display_name, accepted_at=tickets.iso(c.accepted_at))
                  for c in ticket.consents],
        agents=_agents(session, viewer),
        viewer=person_out(viewer, viewer),
        promise=target.promise() if target is not None else "",
        can_change_priority=tickets.is_agent(viewer) and not closed,
        **satisfaction_fields(ticket, viewer),
        **watching_fields(ticket, viewer),
    )


def _closed_out(ticket: tickets.Ticket) -> ClosedOut:
    closing = next((e for e in reversed(ticket.events) if e.kind == tickets.STATUS
                    and e.new_status == workflow.FINAL.name), None)
    return ClosedOut(detail=tickets.closed_message(ticket), new_request_url=tickets.new_request_url(ticket),
                     by=closing.author.display_name if closing is not None and closing.author is not None else None,
                     at=tickets.iso(closing.created_at) if closing is not None else None)


def ticket_list_out(session: Session, found: tickets.TicketPage, viewer: User, catalog: Any,
                    levels: Any = None) -> TicketListOut:
    agent = tickets.is_agent(viewer)
    return TicketListOut(
        items=[summary_out(t, viewer, catalog, levels) for t in found.items],
        total=found.total, total_is_lower_bound=found.more, page=found.page, per_page=found.per_page,
        pages=found.pages,
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
