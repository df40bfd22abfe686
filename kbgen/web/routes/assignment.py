"""Assigning a request to an agent (the rules are kbgen.tickets.service.assign_to's).

    PUT /api/tickets/{key}/assignee    {"assignee": email | id | null}
"""
from __future__ import annotations

from fastapi import APIRouter, Depends

from kbgen import tickets
from kbgen.web import bodies
from kbgen.web.deps import CurrentUser, FormsDep, SessionDep, SettingsDep
from kbgen.web.errors import ErrorOut
from kbgen.web.schemas import AssigneeIn, TicketOut, ticket_out

router = APIRouter(tags=["tickets"])

ASSIGNEE_JSON = 'Send JSON like {"assignee": "sam@vendor.example"}, or {"assignee": null} to unassign.'


@router.put("/api/tickets/{key}/assignee", response_model=TicketOut, summary="Assign a request to an agent",
            responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
                       415: {"model": ErrorOut}, 422: {"model": ErrorOut}},
            openapi_extra=bodies.request_body(AssigneeIn))
def assign(key: str, viewer: CurrentUser, session: SessionDep, settings: SettingsDep, catalog: FormsDep,
           body: AssigneeIn = Depends(bodies.json_body(AssigneeIn, expected=ASSIGNEE_JSON))) -> TicketOut:
    ticket = tickets.get_ticket(session, viewer, key)
    tickets.assign_to(session, settings, ticket, viewer, body.assignee)
    return ticket_out(session, settings, ticket, viewer, catalog)
