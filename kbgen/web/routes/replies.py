"""The support team's saved replies (kbgen/replies.py), for the ticket page's "Insert a saved reply".

    GET /api/replies[?ticket=KEY]   agents: [{slug, title, product, tags, body}]; with a ticket, its product's
                                    replies come first and the placeholders are filled for it

Read from Settings.content_dir, again whenever a reply file changes; a file with a problem is left
out and logged (`kbgen check` says what to fix), never an error of the service.
"""
from __future__ import annotations

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from kbgen import replies, tickets
from kbgen.web.deps import AgentUser, SessionDep, SettingsDep
from kbgen.web.errors import ErrorOut

router = APIRouter(tags=["replies"])


class ReplyOut(BaseModel):
    slug: str = Field(description="The file's name in the replies folder, without .md")
    title: str
    product: str | None = Field(description="The product slug it is written for; null: every product")
    tags: list[str]
    body: str = Field(description="Markdown; with `ticket`, the placeholders are filled for that request")


PLACEHOLDERS_HELP = "; ".join(f"{{{p.name}}}: {p.meaning}" for p in replies.PLACEHOLDERS)


@router.get("/api/replies", response_model=list[ReplyOut], summary="The support team's saved replies",
            description="Placeholders a reply may hold, filled when `ticket` is given: " + PLACEHOLDERS_HELP + ".",
            responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
                       422: {"model": ErrorOut}})
def list_replies(viewer: AgentUser, session: SessionDep, settings: SettingsDep, response: Response,
                 ticket: str | None = Query(None, max_length=40, description="A request's key, e.g. XC-42: its "
                                            "product's replies first, placeholders filled for it")) -> list[ReplyOut]:
    shelf = replies.shelf(settings.content_dir).replies()
    product, values = None, None
    if ticket:
        found = tickets.get_ticket(session, viewer, ticket)  # 404 for a key that names no request
        product, values = found.product, replies.values_for(found, viewer)
    response.headers["Cache-Control"] = "no-store"
    return [ReplyOut(slug=r.slug, title=r.title, product=r.product, tags=list(r.tags),
                     body=replies.fill(r.body, values) if values else r.body)
            for r in replies.ordered(shelf, product)]
