"""The support team's reports: a page of charts with their numbers, the same numbers as CSV, each chart as SVG.

    GET /team/reports/?weeks=12                      the page (kbgen/theme/service/reports.html), ending with
                                                     the searches that found nothing (kbgen.search.missed)
    GET /team/reports/tickets.csv?weeks=12           the CSV export (an attachment)
    GET /team/reports/charts/<chart>.svg?weeks=12     one chart, an image with its own Content-Security-Policy

Agents only: a signed-out browser is sent to sign in and back, anyone else gets a 403 page. The
numbers are kbgen.reports'; the addresses are kbgen.facts.SERVICE_PAGES'.
"""
from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from kbgen import reports
from kbgen.accounts import User
from kbgen.facts import SERVICE_PAGES, page, safe_next, service_page
from kbgen.reports import charts
from kbgen.search import missed
from kbgen.sla import for_forms
from kbgen.web.deps import AGENTS_ONLY, SessionDep, SettingsDep, current_user
from kbgen.web.errors import ApiError
from kbgen.web.pages import PageAnswer, portal_page
from kbgen.web.redirects import site_root

router = APIRouter(include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}  # the team's figures: never kept by a shared cache
WEEKS_HELP = f"Choose a period of 1 to {reports.MAX_WEEKS} weeks."
MISSES_SHOWN = 20  # the searches that found nothing, most frequent first (`kbgen report searches` lists more)


def _route(name: str) -> str:
    return SERVICE_PAGES[name].split("?")[0]


def _agent(request: Request, session: SessionDep, settings: SettingsDep) -> User:
    user = current_user(request)
    if user is not None and user.is_agent:
        return session.merge(user, load=False)
    if "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get("accept", ""):
        raise ApiError(401 if user is None else 403, "Sign in as a member of the support team" if user is None
                       else AGENTS_ONLY)
    if user is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        back = f"?next={quote(here, safe='/')}" if safe_next(here) else ""
        raise PageAnswer(RedirectResponse(site_root(request, settings) + page("sign_in") + back, status_code=303,
                                          headers=NO_STORE))
    raise PageAnswer(portal_page(request, "reports_refused.html", "Support team only", status=403, viewer=user,
                                 messages=[("error", AGENTS_ONLY + ".")]))


Agent = Annotated[User, Depends(_agent)]


def _weeks(value: str | None) -> int | None:
    """The period asked for, or None when it is not a whole number of weeks from 1 to MAX_WEEKS."""
    if value is None or value == "":
        return reports.DEFAULT_WEEKS
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 4 or not 1 <= int(text) <= reports.MAX_WEEKS:
        return None
    return int(text)


def _weeks_or_refuse(value: str | None) -> int:
    weeks = _weeks(value)
    if weeks is None:
        raise ApiError.on_field(422, "weeks", WEEKS_HELP)
    return weeks


def _query(weeks: int) -> str:
    return "" if weeks == reports.DEFAULT_WEEKS else f"?weeks={weeks}"


@router.get(_route("reports"))
def reports_page(request: Request, agent: Agent, session: SessionDep, settings: SettingsDep,
                 weeks: str | None = None) -> Response:
    wanted = _weeks(weeks)
    messages = [] if wanted is not None else [("error", f"{WEEKS_HELP} Showing the last {reports.DEFAULT_WEEKS}.")]
    wanted = wanted or reports.DEFAULT_WEEKS
    report = reports.ticket_report(session, for_forms(settings.forms_dir), wanted)
    choices = sorted({*reports.WEEK_CHOICES, wanted})
    return portal_page(
        request, "reports.html", "Reports", status=200 if not messages else 422, viewer=agent, messages=messages,
        report=report, tables={t.name: t for t in reports.tables(report)}, weeks=wanted, choices=choices,
        misses=missed.top(session, MISSES_SHOWN, since=report.period.start),
        search_url=lambda query: site_root(request, settings) + page("search") + "?q=" + quote(query, safe=""),
        csv_url=service_page("reports_csv") + _query(wanted),
        chart_url=lambda name: service_page("reports_chart", chart=name) + _query(wanted),
        ticket_url=lambda key: site_root(request, settings) + page("ticket", key=key))


@router.get(_route("reports_csv"))
def reports_csv(agent: Agent, session: SessionDep, settings: SettingsDep, weeks: str | None = None) -> Response:
    report = reports.ticket_report(session, for_forms(settings.forms_dir), _weeks_or_refuse(weeks))
    labels = report.period.labels
    name = f"kbgen-tickets-{labels[0]}-{labels[-1]}.csv"
    return Response(reports.to_csv(report), media_type="text/csv; charset=utf-8",
                    headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'})


@router.get(_route("reports_chart"))
def reports_chart(chart: str, agent: Agent, session: SessionDep, settings: SettingsDep,
                  weeks: str | None = None) -> Response:
    if chart not in charts.CHARTS:
        raise ApiError(404, f"No chart {chart[:40]!r}; the charts are: {', '.join(charts.CHARTS)}.")
    report = reports.ticket_report(session, for_forms(settings.forms_dir), _weeks_or_refuse(weeks),
                                   only=charts.NEEDS[chart])
    drawn = charts.chart(report, chart)
    return Response(drawn.svg, media_type="image/svg+xml",
                    headers={**NO_STORE, "Content-Security-Policy": drawn.policy()})
