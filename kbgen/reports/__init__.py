"""Reports for the support team: how many requests came and went, how fast, how well, how satisfied.

    numbers.py  the figures over the last N ISO weeks, aggregated by the database (SQLite or PostgreSQL)
    tables.py   the same figures as text tables: the page's tables, the CSV export, `kbgen report tickets`
    charts.py   the same figures as SVG charts drawn on the server (pygal), without scripts

The page and its CSV (kbgen/web/routes/reports.py) and the CLI (kbgen/cli/search.py) are thin adapters.
"""
from __future__ import annotations

from kbgen.reports.numbers import (DEFAULT_WEEKS, MAX_WEEKS, WEEK_CHOICES, Period, TicketReport, period,
                                   ticket_report)
from kbgen.reports.tables import Table, csv_rows, tables, to_csv, to_text

__all__ = ["DEFAULT_WEEKS", "MAX_WEEKS", "WEEK_CHOICES", "Period", "Table", "TicketReport", "csv_rows", "period",
           "tables", "ticket_report", "to_csv", "to_text"]
