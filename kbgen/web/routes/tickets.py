"""The requests list, one request, and moving it between statuses.

    GET  /api/tickets                          the requests list (filters as query parameters, or a queue's view)
    GET  /api/views                            the support team's queues with their counts
    GET  /api/tickets/{key}                    one ticket with its timeline and the moves the viewer may make
    POST /api/tickets/{key}/transitions        {"to": status}
    PUT  /api/tickets/{key}/priority           {"priority": slug}: agents

Opening a request is kbgen/web/routes/intake.py; comments, attachments and assignment have
their own modules. A ticket of another organization is a 404 everywhere, exactly like a missing one.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from kbgen import tickets
from kbgen.forms import PRIORITY_SLUGS
from kbgen.site.catalog import PRODUCTS
from kbgen.sla import for_forms
from kbgen.tickets import views, workflow
from kbgen.tickets.views import VIEWS
from kbgen.web import bodies
from kbgen.web.deps import AgentUser, CurrentUser, FormsDep, SessionDep, SettingsDep
from kbgen.web.errors import ApiError, ErrorOut, error_response
from kbgen.web.schemas import (PriorityIn, RefusedMoveOut, TicketListOut, TicketOut, TransitionIn, ViewOut,
                               ticket_list_out, ticket_out)

router = APIRouter(tags=["tickets"])

TRANSITION_JSON = 'Send JSON like {"to": "%s"}.' % workflow.FINAL.name
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/api/tickets", response_model=TicketListOut, summary="The requests list",
            description="Customers and partners see their organization's requests; agents see all.",
            responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}})
def list_requests(
    viewer: CurrentUser, session: SessionDep, settings: SettingsDep, catalog: FormsDep, response: Response,
    status: list[str] = Query([], description="Status names or slugs (repeat for several): "
                                              + ", ".join(s.slug for s in workflow.STATUSES)),
    product: list[str] = Query([], description="Product slugs or names: " + ", ".join(p.slug for p in PRODUCTS)),
    priority: list[str] = Query([], description="Priority slugs: " + ", ".join(PRIORITY_SLUGS)),
    requester: list[str] = Query([], description="Requester user ids or emails"),
    mine: bool = Query(False, description="Only the requests the signed-in user created"),
    assignee: str | None = Query(None, description="Agents: an agent's id or email, or 'none'"),
    organization: int | None = Query(None, ge=1, le=tickets.MAX_ID, description="Agents: one organization's id"),
    q: str = Query("", max_length=200, description="Text in the key or the summary"),
    view: str = Query("", max_length=60, description="The support team's queues: " + ", ".join(
        v.slug for v in VIEWS) + " (GET /api/views lists them with their counts)"),
    sort: str | None = Query(None, description=", ".join(tickets.SORTS) + "; '-' descending (default: the view's "
                                                f"order, else {tickets.TicketFilter.sort})"),
    page: int = Query(1, ge=1, le=tickets.MAX_PAGE),
    per_page: int = Query(25, ge=1, le=tickets.MAX_PER_PAGE),
) -> TicketListOut:
    filters = tickets.TicketFilter(status=[s for s in status if s], product=[p for p in product if p],
                                   priority=[p for p in priority if p], requester=[r for r in requester if r],
                                   mine=mine, assignee=assignee or None, organization=organization, q=q,
                                   view=view, sort=sort or None, page=page, per_page=per_page)
    levels = for_forms(settings.forms_dir)
    found = tickets.list_tickets(session, viewer, filters, levels)
    response.headers.update(NO_STORE)
    return ticket_list_out(session, found, viewer, catalog, levels)


@router.get("/api/views", response_model=list[ViewOut], summary="The support team's queues, with their counts",
            responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}})
def list_views(viewer: AgentUser, session: SessionDep, settings: SettingsDep, response: Response) -> list[ViewOut]:
    counts = views.counts(session, viewer, for_forms(settings.forms_dir), tickets.utcnow())
    response.headers.update(NO_STORE)
    return [ViewOut(slug=v.slug, name=v.name, description=v.description, sort=v.sort,
                    count=min(counts[v.slug], views.COUNT_CAP), more=counts[v.slug] > views.COUNT_CAP) for v in VIEWS]


@router.get("/api/tickets/{key}", response_model=TicketOut, summary="One request, with its timeline",
            responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}})
def show(key: str, viewer: CurrentUser, session: SessionDep, settings: SettingsDep, catalog: FormsDep,
         response: Response) -> TicketOut:
    ticket = tickets.get_ticket(session, viewer, key)
    response.headers.update(NO_STORE)
    return ticket_out(session, settings, ticket, viewer, catalog)


@router.post("/api/tickets/{key}/transitions", response_model=TicketOut, summary="Change a request's status",
             description="Refused with 409 (naming the allowed statuses) when the signed-in user may not make "
                         "this move from the current status.",
             responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}, 409: {"model": RefusedMoveOut},
                        415: {"model": ErrorOut}, 422: {"model": ErrorOut}},
             openapi_extra=bodies.request_body(TransitionIn))
def move(key: str, viewer: CurrentUser, session: SessionDep, settings: SettingsDep, catalog: FormsDep,
         body: TransitionIn = Depends(bodies.json_body(TransitionIn, expected=TRANSITION_JSON))) -> TicketOut | Response:
    ticket = tickets.get_ticket(session, viewer, key)
    try:
        tickets.transition(session, settings, ticket, viewer, body.to)
    except workflow.UnknownStatus as exc:
        raise ApiError(422, str(exc), [("to", str(exc))]) from None
    except workflow.TransitionRefused as exc:
        return error_response(409, exc.message, allowed=[s.name for s in exc.allowed])
    return ticket_out(session, settings, ticket, viewer, catalog)


PRIORITY_JSON = 'Send JSON like {"priority": "high"}.'


@router.put("/api/tickets/{key}/priority", response_model=TicketOut, summary="Change a request's priority",
            description="The support team only. The customer sees it on the ticket and is emailed; the targets of "
                        "the new priority apply, counting the time already used.",
            responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
                       409: {"model": ErrorOut}, 415: {"model": ErrorOut}, 422: {"model": ErrorOut}},
            openapi_extra=bodies.request_body(PriorityIn))
def change_priority(key: str, viewer: CurrentUser, session: SessionDep, settings: SettingsDep, catalog: FormsDep,
                    body: PriorityIn = Depends(bodies.json_body(PriorityIn, expected=PRIORITY_JSON))) -> TicketOut:
    ticket = tickets.get_ticket(session, viewer, key)
    tickets.change_priority(session, settings, ticket, viewer, body.priority)
    return ticket_out(session, settings, ticket, viewer, catalog)
