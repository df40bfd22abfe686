"""The report's numbers as tables of text: what the page shows under each chart, the CSV and the CLI print.

One function formats every value (`tables()`), so the page, the CSV export and `kbgen report tickets`
cannot disagree: hours and percentages with one decimal, the average score with two, "" for none.
The CSV is long: one line per number, `section,item,series,value` (item: a table's row, series: its column).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from kbgen.reports.numbers import Compliance, TicketReport
from kbgen.tickets.ratings import MAX_SCORE, MIN_SCORE, SCALE

CSV_COLUMNS = ("section", "item", "series", "value")


@dataclass(frozen=True)
class Table:
    name: str  # the CSV's section, and the chart it goes with
    caption: str
    columns: list[str]
    rows: list[list[str]]
    labels: int = 1  # how many leading columns name the row


def hours(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def average(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _weekly(report: TicketReport, name: str, caption: str, counts: dict[str, list[int]]) -> Table:
    slugs = [slug for slug, _ in report.products]
    zero = [0] * report.period.weeks
    rows = []
    for i, week in enumerate(report.period.labels):
        values = [counts.get(slug, zero)[i] for slug in slugs]
        rows.append([week, *map(str, values), str(sum(values))])
    totals = [sum(counts.get(slug, zero)) for slug in slugs]
    rows.append(["Total", *map(str, totals), str(sum(totals))])
    return Table(name, caption, ["Week", *(product for _, product in report.products), "Total"], rows)


def _compliance(target: str, value: Compliance) -> list[str]:
    return [target, str(value.met), str(value.breached), str(value.pending), percent(value.percent)]


def tables(report: TicketReport) -> list[Table]:
    """Every table of the report, in the page's order."""
    medians = Table("times", "Median times from creation, in wall-clock hours",
                    ["Priority", "Median first response (hours)", "First responses", "Median resolution (hours)",
                     "Resolutions"],
                    [[m.label, hours(m.first_response_hours), str(m.first_responses), hours(m.resolution_hours),
                      str(m.resolutions)] for m in report.medians])
    sla_rows = []
    for row in report.sla:
        for target, value in (("First response", row.first_response), ("Resolution", row.resolution)):
            if value is not None:
                sla_rows.append([row.priority, *_compliance(target, value)])
    sla = Table("sla", "Service-level targets met, per priority, for requests created in the period",
                ["Priority", "Target", "Met", "Breached", "Pending", "Compliance (%)"], sla_rows, labels=2)
    backlog = [[status, str(n)] for status, n in report.backlog]
    backlog.append(["Total", str(sum(n for _, n in report.backlog))])
    ratings = report.satisfaction
    return [
        _weekly(report, "created_per_week", "Requests created per week, by product", report.created),
        _weekly(report, "resolved_per_week", "Requests resolved per week, by product", report.resolved),
        Table("backlog", "Open requests now, by status", ["Status", "Open requests"], backlog),
        medians,
        sla,
        Table("satisfaction", "Ratings given in the period, by score", ["Score", "Ratings"],
              [[f"{score} {label}", str(ratings.distribution.get(score, 0))] for score, label in SCALE]
              + [["Total", str(ratings.count)]]),
        Table("satisfaction_summary", "Satisfaction in the period", ["Measure", "Value"],
              [["Ratings", str(ratings.count)],
               [f"Average score ({MIN_SCORE} to {MAX_SCORE})", average(ratings.average)]]),
    ]


def period_rows(report: TicketReport) -> list[tuple[str, str]]:
    p = report.period
    return [("from", p.start.isoformat(timespec="minutes")), ("to", p.now.isoformat(timespec="minutes")),
            ("weeks", str(p.weeks))]


def csv_rows(report: TicketReport) -> list[tuple[str, str, str, str]]:
    """(section, item, series, value): every number of every table, one per line."""
    rows = [("period", item, "UTC" if item != "weeks" else "", value) for item, value in period_rows(report)]
    for table in tables(report):
        for row in table.rows:
            item = " / ".join(row[:table.labels])
            for series, value in zip(table.columns[table.labels:], row[table.labels:]):
                rows.append((table.name, item, series, value))
    return rows


def to_csv(report: TicketReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(report))
    return out.getvalue()


def to_text(report: TicketReport) -> str:
    """The tables as aligned plain text, for a terminal."""
    p = report.period
    lines = [f"Support report: the last {p.weeks} ISO week(s), {p.start:%Y-%m-%d} to {p.now:%Y-%m-%d %H:%M} UTC",
             "Times are wall-clock hours from creation, not working hours."]
    for table in tables(report):
        lines += ["", table.caption + ":"]
        grid = [table.columns] + [[cell or "-" for cell in row] for row in table.rows]
        widths = [max(len(row[i]) for row in grid) for i in range(len(table.columns))]
        for row in grid:
            cells = [cell.ljust(w) if i < table.labels else cell.rjust(w)
                     for i, (cell, w) in enumerate(zip(row, widths))]
            lines.append("  " + "  ".join(cells).rstrip())
        if not table.rows:
            lines.append("  (none)")
    return "\n".join(lines) + "\n"
