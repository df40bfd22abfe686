"""The support team's reports, on SQLite and PostgreSQL: the numbers of a known set of requests, the page
(agents only) with its charts and tables, the CSV export with the same numbers, and `kbgen report tickets`."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from conftest import copy_project, run_kbgen
from kbgen import reports, tickets
from kbgen.accounts import User
from kbgen.reports import charts
from kbgen.sla import for_forms
from kbgen.tickets import Rating, Ticket
from test_tickets_support import ANN, BOB, GINA, PAT, SAM, Portal

NOW = dt.datetime(2026, 3, 11, 12, 0)  # a Wednesday of ISO week 2026-W11
WEEKS = 4  # 2026-W08 (from Monday 16 February) to 2026-W11
CLOCKS = ("first_response_at", "resolved_at", "response_due_at", "resolution_due_at", "response_breached_at",
          "resolution_breached_at")


def at(month: int, day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour)


@pytest.fixture
def portal(tmp_path, database_url):
    portal = Portal(tmp_path, database_url)
    yield portal
    portal.close()


def make(portal: Portal, product: str, priority: str, *, requester: str = ANN, **values) -> str:
    """A request made by the tickets service, then moved back in time: `values` set its status and clocks."""
    with portal.Session() as db:
        user = db.scalars(select(User).where(User.email == requester)).one()
        submission = SimpleNamespace(product=product, request_type="technical-issue", priority=priority,
                                     summary=f"{product} {priority}", description="", values={}, consents=())
        ticket, _ = tickets.create_ticket(db, portal.settings, submission, user)
        key = ticket.key
    with portal.Session.begin() as db:
        db.execute(update(Ticket).where(Ticket.key == key).values(**{**dict.fromkeys(CLOCKS), **values}))
    return key


def rate(portal: Portal, key: str, score: int, comment: str = "", *, when: dt.datetime) -> None:
    with portal.Session() as db:
        ticket = db.scalars(select(Ticket).where(Ticket.key == key)).one()
        tickets.rate(db, portal.settings, ticket, ticket.requester, score, comment)
    with portal.Session.begin() as db:
        db.execute(update(Rating).where(Rating.ticket_id == select(Ticket.id).where(Ticket.key == key)
                                        .scalar_subquery()).values(created_at=when))


def known_set(portal: Portal) -> dict[str, str]:
    hours = dt.timedelta(hours=1)
    made = {
        # High, W08: answered in 2 h, resolved in 24 h and closed; both targets met.
        "a": make(portal, "xcally", "high", status="Closed", created_at=at(2, 17, 10),
                  first_response_at=at(2, 17, 12), resolved_at=at(2, 18, 10)),
        # High, W09: answered in 6 h and resolved a week later (W10), both too late.
        "b": make(portal, "xcally", "high", status="Resolved", created_at=at(2, 24, 9),
                  first_response_at=at(2, 24, 15), resolved_at=at(3, 3, 9), response_breached_at=at(2, 24, 13),
                  resolution_breached_at=at(2, 27, 9)),
        # Medium, W10: answered in 4 h, still in progress; its resolution is due next week.
        "c": make(portal, "xplany", "medium", status="In progress", created_at=at(3, 2, 8),
                  first_response_at=at(3, 2, 12), resolution_due_at=at(3, 16, 8)),
        # Low, W11: nobody answered and the first response was due last night: breached, not yet recorded.
        "d": make(portal, "witiop", "low", status="Waiting for Support", created_at=at(3, 10, 8),
                  response_due_at=at(3, 10, 20), resolution_due_at=at(3, 20, 8)),
        # Medium, created before the period, resolved in W08 (1,104 hours later) and closed.
        "e": make(portal, "xcally", "medium", status="Closed", created_at=at(1, 5), resolved_at=at(2, 20)),
        # Lowest (a first response target only), W11: answered in an hour, waiting for the customer.
        "f": make(portal, "vidaoo", "lowest", status="Waiting for customer", created_at=at(3, 9, 9),
                  first_response_at=at(3, 9, 9) + hours),
        # After the period ends (NOW): counted nowhere.
        "g": make(portal, "xcally", "high", status="Waiting for Support", created_at=at(3, 12)),
    }
    rate(portal, made["a"], 5, "Quick and clear", when=at(3, 5))
    rate(portal, made["e"], 2, "Took weeks", when=at(3, 6))
    return made


def test_the_numbers_of_a_known_set_of_requests(portal):
    known_set(portal)
    with portal.Session() as db:
        report = reports.ticket_report(db, for_forms(portal.settings.forms_dir), WEEKS, now=NOW)
    assert report.period.labels == ["2026-W08", "2026-W09", "2026-W10", "2026-W11"]
    assert report.period.start == dt.datetime(2026, 2, 16)
    assert report.created == {"xcally": [1, 1, 0, 0], "xplany": [0, 0, 1, 0], "witiop": [0, 0, 0, 1],
                              "vidaoo": [0, 0, 0, 1], "license": [0, 0, 0, 0]}
    assert report.resolved == {"xcally": [2, 0, 1, 0], "xplany": [0] * 4, "witiop": [0] * 4, "vidaoo": [0] * 4,
                               "license": [0] * 4}
    # The backlog is now's, whatever the period: g (created after NOW in this test's story) is open too.
    assert dict(report.backlog) == {"Waiting for Support": 2, "In progress": 1, "Waiting for customer": 1,
                                    "Escalated": 0, "Under Investigation": 0, "Under Development": 0}
    assert [(m.label, m.first_response_hours, m.first_responses, m.resolution_hours, m.resolutions)
            for m in report.medians] == [
        ("High", 4.0, 2, 96.0, 2), ("Medium", 4.0, 1, 1104.0, 1), ("Lowest", 1.0, 1, None, 0),
        ("All priorities", 3.0, 4, 168.0, 3)]
    sla = {row.priority: row for row in report.sla}
    assert list(sla) == ["Highest", "High", "Medium", "Low", "Lowest"]
    assert (sla["High"].tickets, sla["High"].first_response, sla["High"].resolution) == (
        2, reports.numbers.Compliance(1, 1, 0), reports.numbers.Compliance(1, 1, 0))
    assert sla["High"].first_response.percent == 50.0
    assert sla["Medium"].first_response.percent == 100.0 and sla["Medium"].resolution.pending == 1
    assert sla["Medium"].resolution.percent is None  # nothing decided yet
    assert sla["Low"].first_response == reports.numbers.Compliance(0, 1, 0)
    assert sla["Lowest"].resolution is None  # sla.yml gives Lowest no resolution target
    assert sla["Highest"].tickets == 0 and sla["Highest"].first_response.percent is None
    assert report.satisfaction.distribution == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1}
    assert (report.satisfaction.count, report.satisfaction.average) == (2, 3.5)
    assert [(r.score, r.comment) for r in report.satisfaction.recent] == [(2, "Took weeks"), (5, "Quick and clear")]

    text = reports.to_text(report)
    assert "  All priorities  " in text and "wall-clock hours" in text
    rows = list(csv.reader(io.StringIO(reports.to_csv(report))))
    assert rows[0] == ["section", "item", "series", "value"]
    assert ["created_per_week", "2026-W11", "Vidaoo", "1"] in rows and ["created_per_week", "Total", "Total", "5"] in rows
    assert ["resolved_per_week", "2026-W08", "XCALLY", "2"] in rows
    assert ["times", "All priorities", "Median first response (hours)", "3.0"] in rows
    assert ["sla", "High / First response", "Compliance (%)", "50.0"] in rows
    assert ["sla", "Medium / Resolution", "Compliance (%)", ""] in rows
    assert ["satisfaction_summary", "Average score (1 to 5)", "Value", "3.50"] in rows


def test_an_empty_period_and_a_project_without_service_levels(portal):
    from kbgen.sla.definitions import NONE

    with portal.Session() as db:
        report = reports.ticket_report(db, NONE, 1, now=NOW)
    assert report.period.labels == ["2026-W11"] and report.sla == []
    assert report.medians[-1].first_response_hours is None and report.satisfaction.average is None
    for name in charts.CHARTS:  # every chart draws nothing without failing
        assert "<svg" in charts.chart(report, name).svg


class Tables(HTMLParser):
    """The text of every table cell of a page, by the table's aria-labelledby."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: list[list[str]] | None = None
        self.cell: list[str] | None = None
        self.images: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.current = self.tables.setdefault(attrs["aria-labelledby"].removeprefix("kbgen-report-"), [])
        elif tag == "tr" and self.current is not None:
            self.current.append([])
        elif tag in ("td", "th") and self.current is not None:
            self.cell = []
        elif tag == "img":
            self.images.append(attrs)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.current[-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def test_the_page_and_its_csv_show_the_same_numbers(portal):
    made = known_set(portal)
    with portal.Session.begin() as db:  # into this week, so the page's own period (the last 12 weeks) holds them
        shift = tickets.utcnow() - NOW
        for ticket in db.scalars(select(Ticket)):
            for column in ("created_at", *CLOCKS):
                if getattr(ticket, column) is not None:
                    setattr(ticket, column, getattr(ticket, column) + shift)
        for rating in db.scalars(select(Rating)):
            rating.created_at += shift
    sam = portal.client(SAM)
    answer = sam.get("/team/reports/")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    page = Tables()
    page.feed(answer.text)
    exported = sam.get("/team/reports/tickets.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"].startswith('attachment; filename="kbgen-tickets-')
    rows = list(csv.reader(io.StringIO(exported.text)))[1:]
    from_csv: dict[str, dict[tuple[str, str], str]] = {}
    for section, item, series, value in rows:
        from_csv.setdefault(section, {})[(item, series)] = value
    assert set(page.tables) == set(from_csv) - {"period"}
    for name, table in page.tables.items():
        header, *body = table
        labels = 2 if name == "sla" else 1
        shown = {(" / ".join(row[:labels]), column): ("" if cell == "—" else cell)
                 for row in body for column, cell in zip(header[labels:], row[labels:])}
        assert shown == from_csv[name], name
    assert from_csv["created_per_week"][("Total", "Total")] == "6"  # e, created 65 days before, is in the last 12 weeks now
    assert from_csv["satisfaction_summary"][("Average score (1 to 5)", "Value")] == "3.50"
    # The latest ratings, with their comments (escaped), link to their requests.
    assert f'/requests/{made["e"]}/">{made["e"]}</a>: 2 of 5' in answer.text and "<q>Took weeks</q>" in answer.text
    # One image per chart, each described, each an SVG the service draws.
    assert [i["src"].split("?")[0] for i in page.images] == [f"/team/reports/charts/{n}.svg" for n in charts.CHARTS]
    for image in page.images:
        assert image["alt"].startswith("Chart: ")
        svg = sam.get(image["src"])
        assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
        policy = svg.headers["content-security-policy"]
        assert policy.startswith("default-src 'none'; style-src 'sha256-") and "script" not in policy
        assert "<script" not in svg.text and " style=" not in svg.text
        assert '<title id="title">' in svg.text and '<desc id="desc">' in svg.text
    other = sam.get("/team/reports/?weeks=26")
    assert "The last 26 weeks</option>" in other.text and "/team/reports/tickets.csv?weeks=26" in other.text


def test_a_comment_in_a_rating_is_text_on_the_page(portal):
    key = make(portal, "xcally", "high", status="Closed", created_at=tickets.utcnow())
    rate(portal, key, 1, '<img src=x onerror="alert(1)">', when=tickets.utcnow())
    page = portal.client(SAM).get("/team/reports/").text
    assert "<img src=x" not in page and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


def test_the_searches_customers_found_nothing_for_are_listed_as_text(portal):
    from kbgen.search import missed
    from kbgen.search.indexer import IndexBuilder, PageRecord

    index = IndexBuilder(portal.settings.index_dir)
    index.add(PageRecord(url="kb/xcally/how-to/hold-music/", path="kb/xcally/how-to/hold-music.md",
                         title="Hold music", html="<p>Callers hear music while they wait.</p>", product="xcally",
                         type="how-to"))
    index.finish()
    customer = portal.client(ANN)
    for q in ("zanzibar trunk", "Zanzibar  TRUNK", "<img src=x onerror=alert(1)> quux", "hold music"):
        assert customer.get("/api/search", params={"q": q}).status_code == 200
    with portal.Session() as db:  # a search that found nothing long before the period
        missed.record(db, "ancient gizmo", when=tickets.utcnow() - dt.timedelta(weeks=30))
    page = portal.client(SAM).get("/team/reports/?weeks=4").text
    listed = page.split('id="kbgen-report-misses"', 1)[1]
    assert re.search(r'q=zanzibar%20trunk">zanzibar trunk</a></th>\s*<td data-label="[^"]+">2</td>', listed)
    assert "&lt;img src=x onerror=alert(1)&gt; quux" in listed and "<img src=x" not in page
    assert "hold music" not in listed and "ancient gizmo" not in listed  # found something; before the period
    assert "ancient gizmo" in portal.client(SAM).get("/team/reports/?weeks=52").text


def test_only_agents_see_the_reports(portal):
    for email in (ANN, BOB, PAT, GINA):
        refused = portal.client(email).get("/team/reports/")
        assert refused.status_code == 403 and "not on the support team" in refused.text
        assert portal.client(email).get("/team/reports/tickets.csv").status_code == 403
        assert portal.client(email).get("/team/reports/charts/created_per_week.svg").status_code == 403
    signed_out = portal.client().get("/team/reports/?weeks=8", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/login/?next=/team/reports/%3Fweeks%3D8"
    as_json = portal.client().get("/team/reports/", headers={"Accept": "application/json"})
    assert as_json.status_code == 401 and as_json.json()["detail"]


@pytest.mark.parametrize("weeks", ["0", "105", "-1", "abc", "1e3", "9" * 40, "１２", " ", "\x00"])
def test_a_wrong_period_is_refused_by_name_never_a_failure(portal, weeks):
    sam = portal.client(SAM)
    for path in ("/team/reports/", "/team/reports/tickets.csv", "/team/reports/charts/created_per_week.svg"):
        answer = sam.get(path, params={"weeks": weeks})
        assert answer.status_code == 422, (path, answer.text)
        assert "NUL" in answer.text if weeks == "\x00" else "Choose a period of 1 to 104 weeks" in answer.text
    assert sam.get("/team/reports/charts/nope.svg").status_code == 404
    assert sam.get("/team/reports/charts/%00.svg").status_code == 422


def test_the_cli_prints_the_same_numbers(portal, tmp_path, database_url):
    known_set(portal)
    project = copy_project(tmp_path / "project")
    env = {"KBGEN_DATABASE_URL": database_url, "KBGEN_DATA_DIR": str(tmp_path / "data")}
    as_csv = run_kbgen("report", "tickets", "--weeks", "52", "--csv", cwd=project, env=env)
    assert as_csv.returncode == 0, as_csv.stderr
    with portal.Session() as db:
        expected = reports.to_csv(reports.ticket_report(db, for_forms(portal.settings.forms_dir), 52))
    assert [r for r in as_csv.stdout.splitlines() if not r.startswith("period,")] == \
        [r for r in expected.splitlines() if not r.startswith("period,")]
    as_text = run_kbgen("report", "tickets", "--weeks", "52", cwd=project, env=env)
    assert as_text.returncode == 0, as_text.stderr
    assert "Support report: the last 52 ISO week(s)" in as_text.stdout
    assert "Requests created per week, by product:" in as_text.stdout
    assert re.search(r"\n  Average score \(1 to 5\) +3\.50\n", as_text.stdout)
    wrong = run_kbgen("report", "tickets", "--weeks", "500", cwd=project, env=env)
    assert wrong.returncode == 2 and "weeks must be from 1 to 104" in wrong.stderr
