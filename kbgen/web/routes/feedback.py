"""Readers' votes on articles ("Was this helpful?"; the rules are kbgen.feedback.votes').

    POST /api/feedback                  {"path", "helpful", "comment"?}  -> 201 {"id", "token"}
                                        or the article's own form post (no JavaScript): a "Thanks" page
    POST /api/feedback/{id}/comment     {"token", "comment"}             -> 200 {"id"}

Anyone may vote, signed in or not; an address voting too often gets 429 with Retry-After.
An address that is no article of the built site is 404.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field, StrictBool
from starlette.concurrency import run_in_threadpool

from kbgen.feedback import articles, votes
from kbgen.site.brand import for_settings
from kbgen.tickets import MAX_ID
from kbgen.web import bodies
from kbgen.web.deps import MaybeUser, SessionDep, SettingsDep
from kbgen.web.errors import ApiError, ErrorOut
from kbgen.web.pages import service_page
from kbgen.web.redirects import site_root

router = APIRouter(tags=["articles"])

VOTE_JSON = 'Send JSON like {"path": "kb/xcally/how-to/set-up-sip-trunk/", "helpful": true, "comment": ""}.'
COMMENT_JSON = 'Send JSON like {"token": "<the token the vote answered with>", "comment": "What was missing"}.'
MAX_BODY = 16 * 1024  # room for 1,000 characters even when each is a 12-byte escape pair
HELPFUL_FORM = {"yes": True, "no": False}


class VoteIn(BaseModel):
    path: str = Field(max_length=articles.MAX_PATH, description="The article's address from the site's root")
    helpful: StrictBool
    comment: str = Field("", max_length=votes.MAX_COMMENT, description="Optional")


class VoteOut(BaseModel):
    id: int
    token: str = Field(description="Proves this client cast the vote, to add its comment (within an hour)")


class CommentIn(BaseModel):
    token: str = Field(max_length=128)
    comment: str = Field(max_length=votes.MAX_COMMENT)


class CommentOut(BaseModel):
    id: int


REFUSALS = {404: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut},
            422: {"model": ErrorOut}, 429: {"model": ErrorOut}}


def _article(settings, value: object) -> str:
    path = articles.clean_path(value)
    known = articles.read(settings.site_dir)
    if path is not None and known is not None and path not in known and path + "/" in known:
        path += "/"
    if path is None or (known is not None and path not in known):
        raise ApiError.on_field(404, "path", "is not an article of this portal; send the address of the page "
                                             "that shows the question, e.g. kb/xcally/how-to/set-up-sip-trunk/.")
    return path


def _address(request: Request) -> str | None:
    # Behind a reverse proxy uvicorn puts the customer's address here (kbgen serve --forwarded-allow-ips).
    return request.client.host if request.client else None


def _refused(exc: votes.Refused) -> ApiError:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return ApiError(exc.status, exc.message, [(exc.field or "body", exc.message)], headers=headers)


@router.post("/api/feedback", status_code=201, response_model=VoteOut,
             summary="Vote on an article: was it helpful?",
             description="Anyone may vote, signed in or not. A comment of at most "
                         f"{votes.MAX_COMMENT:,} characters may come with the vote, or after it "
                         "(POST /api/feedback/{id}/comment with the token). An address may vote "
                         f"{votes.VOTES_PER_WINDOW} times in {int(votes.WINDOW.total_seconds() // 60)} minutes; "
                         "then 429 with Retry-After. The article's own form post (no JavaScript: path, "
                         "helpful=yes|no, comment) is answered with a page.",
             responses={**REFUSALS, 200: {"description": "Form post: the thank-you page"}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": VoteIn.model_json_schema()},
                 "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
                     "path": {"type": "string"}, "helpful": {"enum": ["yes", "no"]},
                     "comment": {"type": "string"}}}}}}})
async def vote(request: Request, viewer: MaybeUser, session: SessionDep, settings: SettingsDep):
    if bodies.media_type(request) == "application/json":
        data = await bodies.read_json(request, expected=VOTE_JSON, max_bytes=MAX_BODY)
        try:
            body = VoteIn.model_validate(data)
        except ValueError:
            raise ApiError(422, f"The vote is not valid. {VOTE_JSON}",
                           [("body", "needs path (text), helpful (true or false) and an optional comment of "
                                     f"at most {votes.MAX_COMMENT:,} characters")]) from None
        path, helpful, comment, page = _article(settings, body.path), body.helpful, body.comment, False
    else:
        form = await bodies.read_form(request, max_files=0, max_fields=10, max_part_size=MAX_BODY)
        try:
            fields = {name: value for name, value in form.multi_items() if isinstance(value, str)}
        finally:
            await form.close()
        if fields.get("helpful") not in HELPFUL_FORM:
            raise ApiError.on_field(422, "helpful", "must be yes or no.")
        path, helpful, comment, page = (_article(settings, fields.get("path")), HELPFUL_FORM[fields["helpful"]],
                                        fields.get("comment", ""), True)
    try:
        voted = await run_in_threadpool(votes.vote, session, secret=settings.secret_key, path=path, helpful=helpful,
                                        comment=comment, user_id=viewer.id if viewer else None,
                                        address=_address(request))
    except votes.Refused as exc:
        if page:
            return _page(request, settings, path, exc.message, exc.status)
        raise _refused(exc) from None
    if page:
        return _page(request, settings, path, "Thanks for your feedback: it helps us improve this article.", 200)
    return JSONResponse(VoteOut(id=voted.id, token=voted.token).model_dump(), status_code=201)


def _page(request: Request, settings, path: str, message: str, status: int) -> HTMLResponse:
    return service_page("feedback_thanks.html", "Thanks for your feedback" if status < 400 else "Not kept",
                        status, brand=for_settings(settings), message=message,
                        back_href=site_root(request, settings) + path)


@router.post("/api/feedback/{vote_id}/comment", response_model=CommentOut,
             summary="Add the comment to a vote this client cast",
             description=f"At most {votes.MAX_COMMENT:,} characters, once, within an hour of the vote.",
             responses={**REFUSALS, 409: {"model": ErrorOut}}, openapi_extra=bodies.request_body(CommentIn))
def comment(session: SessionDep, settings: SettingsDep,
            body: CommentIn = Depends(bodies.json_body(CommentIn, expected=COMMENT_JSON, max_bytes=MAX_BODY)),
            vote_id: int = Path(ge=1, le=MAX_ID)) -> CommentOut:
    try:
        row = votes.add_comment(session, secret=settings.secret_key, vote_id=vote_id, token=body.token,
                                comment=body.comment)
    except votes.Refused as exc:
        raise _refused(exc) from None
    return CommentOut(id=row.id)
