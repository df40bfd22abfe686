"""The requester rates a closed request (the rules are kbgen.tickets.ratings.rate's).

    POST /api/tickets/{key}/rating    {"score": 1-5, "comment": "..."}

Another organization's request is a 404, as everywhere; anyone but its requester gets 403;
a request not closed yet, or rated already, 409.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends

from kbgen import tickets
from kbgen.web import bodies
from kbgen.web.deps import CurrentUser, SessionDep, SettingsDep
from kbgen.web.errors import ErrorOut
from kbgen.web.schemas import RatingIn, RatingOut, rating_out

router = APIRouter(tags=["tickets"])

RATING_JSON = 'Send JSON like {"score": 5, "comment": "Quick and clear, thank you."}.'
MAX_BODY = 64 * 1024  # room for 2,000 characters even when every one is written as a 12-byte escape pair


@router.post("/api/tickets/{key}/rating", status_code=201, response_model=RatingOut,
             summary="Rate a closed request (its requester, once)",
             description=f"A score from {tickets.ratings.MIN_SCORE} to {tickets.ratings.MAX_SCORE} and an optional "
                         f"comment of at most {tickets.MAX_RATING_COMMENT} characters. The support team sees it on "
                         "the request and in the reports.",
             responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
                        409: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut},
                        422: {"model": ErrorOut}},
             openapi_extra=bodies.request_body(RatingIn))
def rate(key: str, viewer: CurrentUser, session: SessionDep, settings: SettingsDep,
         body: RatingIn = Depends(bodies.json_body(RatingIn, expected=RATING_JSON, max_bytes=MAX_BODY))
         ) -> RatingOut:
    ticket = tickets.get_ticket(session, viewer, key)
    rating = tickets.rate(session, settings, ticket, viewer, body.score, body.comment)
    return rating_out(rating, viewer)
