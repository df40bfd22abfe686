"""The report's charts as SVG drawn on the server with pygal: no CDN, no script.

Each chart is a standalone SVG document (the page shows it with <img>, next to a table of the same
numbers). pygal's interactive parts are taken out: its <script> and tooltips, and every `style`
attribute; what is left is one <style> element, which `Chart.style_hash` names for the chart's own
Content-Security-Policy. Each SVG starts with a <title> and a <desc> that say what it shows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from kbgen.reports.numbers import TicketReport
from kbgen.site.csp import source_hash
from kbgen.tickets.ratings import SCALE

WIDTH, HEIGHT = 800, 400
# Dark enough for text and thin bars on white (WCAG 3:1 for graphics), told apart by hue.
COLORS = ("#1d3a6e", "#c2410c", "#15803d", "#7e22ce", "#0e7490", "#a16207", "#be123c")
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'


@dataclass(frozen=True)
class Chart:
    name: str
    svg: str
    title: str
    description: str
    style_hash: str  # the CSP source expression that allows exactly the SVG's <style>

    def policy(self) -> str:
        """The Content-Security-Policy of the SVG served on its own: its style, nothing else."""
        return f"default-src 'none'; style-src {self.style_hash}; frame-ancestors 'none'"


def _style() -> Any:
    from pygal.style import Style

    return Style(background="#ffffff", plot_background="#ffffff", foreground="#1f2328",
                 foreground_strong="#1f2328", foreground_subtle="#57606a", colors=COLORS, font_family=FONT,
                 title_font_size=18, label_font_size=13, major_label_font_size=13, legend_font_size=14,
                 value_font_size=12, transition="0ms", opacity="1", opacity_hover="1",
                 guide_stroke_color="#d0d7de", major_guide_stroke_color="#8c959f")


def _cleaned(title: str, description: str, found: dict[str, str]) -> Callable[[Any], Any]:
    """A pygal xml filter: no script, no tooltips, no style attributes; a <title> and <desc> first."""

    def clean(root: Any) -> Any:
        parents = {child: parent for parent in root.iter() for child in parent}
        for node in list(root.iter()):
            tag = str(node.tag).rsplit("}", 1)[-1]
            classes = str(node.get("class") or "").split()
            if tag == "script" or "tooltip-overlay" in classes:
                parents[node].remove(node)
                continue
            node.attrib.pop("style", None)
            if tag == "style":
                found["style"] = node.text or ""
        for old in [n for n in root if str(n.tag).rsplit("}", 1)[-1] in ("title", "desc")]:
            root.remove(old)
        from pygal.etree import etree

        heading, words = etree.Element("title"), etree.Element("desc")
        heading.text, words.text = title, description
        heading.set("id", "title"), words.set("id", "desc")
        root.insert(0, words)
        root.insert(0, heading)
        root.set("role", "img")
        root.set("aria-labelledby", "title desc")
        return root

    return clean


def _render(name: str, chart: Any, title: str, description: str) -> Chart:
    found: dict[str, str] = {}
    chart.add_xml_filter(_cleaned(title, description, found))
    svg = chart.render(is_unicode=True)
    return Chart(name, svg, title, description, source_hash(found.get("style", "")))


def _config(kind: str, title: str, **options: Any) -> Any:
    import pygal

    return getattr(pygal, kind)(title=title, style=_style(), js=[],
                                width=WIDTH, height=HEIGHT, explicit_size=True, disable_xml_declaration=True,
                                legend_at_bottom=True, truncate_legend=-1, truncate_label=-1,
                                print_values=False, margin=16, **options)


def _counts_axis(highest: float) -> dict[str, Any]:
    """Y labels for counts: whole numbers from 0, about eight of them (pygal's own go 0.2, 0.4, ...).
    Nothing to draw: pygal's "No data", which takes no labels."""
    if highest <= 0:
        return {}
    rough = highest / 8
    step = next(n * 10 ** e for e in range(0, 12) for n in (1, 2, 5) if n * 10 ** e >= rough)
    return {"y_labels": list(range(0, math.ceil(highest / step) * step + 1, step))}


def _weeks(report: TicketReport, name: str, counts: dict[str, list[int]]) -> Chart:
    verb = name.removesuffix("_per_week")
    labels = report.period.labels
    every = max(1, len(labels) // 12)
    stacked = [sum(counts.get(slug, [0] * len(labels))[i] for slug, _ in report.products) for i in range(len(labels))]
    chart = _config("StackedBar", f"Requests {verb} per week", x_labels=labels, x_label_rotation=30,
                    show_minor_x_labels=every == 1, x_labels_major=labels[::every], **_counts_axis(max(stacked)))
    total = 0
    for slug, product in report.products:
        values = counts.get(slug, [0] * len(labels))
        total += sum(values)
        if any(values):
            chart.add(product, values)
    description = (f"Stacked bars: requests {verb} in each ISO week from {labels[0]} to {labels[-1]}, one colour "
                   f"per product; {total} in all. The table under the chart holds every number.")
    return _render(name, chart, f"Requests {verb} per week, by product", description)


def _backlog(report: TicketReport) -> Chart:
    chart = _config("HorizontalBar", "Open requests now, by status", show_legend=False,
                    x_labels=[status for status, _ in reversed(report.backlog)],
                    **_counts_axis(max([n for _, n in report.backlog], default=0)))
    chart.add("Open requests", [n for _, n in reversed(report.backlog)])
    total = sum(n for _, n in report.backlog)
    description = f"Bars: {total} open requests, by status: " + ", ".join(f"{s} {n}" for s, n in report.backlog) + "."
    return _render("backlog", chart, "Open requests now, by status", description)


def _times(report: TicketReport) -> Chart:
    chart = _config("Bar", "Median times from creation (wall-clock hours)",
                    x_labels=[m.label for m in report.medians], y_title="hours")
    chart.add("First response", [m.first_response_hours for m in report.medians])
    chart.add("Resolution", [m.resolution_hours for m in report.medians])
    overall = report.medians[-1]
    words = (f"first response {overall.first_response_hours:.1f} hours" if overall.first_response_hours is not None
             else "no first response yet")
    words += (f", resolution {overall.resolution_hours:.1f} hours" if overall.resolution_hours is not None
              else ", no resolution yet")
    description = (f"Bars per priority: the median wall-clock hours from creation to the first response and to the "
                   f"resolution. For all priorities: {words}.")
    return _render("times", chart, "Median first response and resolution times", description)


def _sla(report: TicketReport) -> Chart:
    chart = _config("Bar", "Service-level targets met (%)", x_labels=[row.priority for row in report.sla],
                    range=(0, 100), y_title="% met")
    chart.add("First response", [row.first_response.percent if row.first_response else None for row in report.sla])
    chart.add("Resolution", [row.resolution.percent if row.resolution else None for row in report.sla])
    description = ("Bars per priority: the share of requests created in the period that met their first response "
                   "and resolution targets, among those decided (met or breached)."
                   if report.sla else "No service-level targets are defined (sla.yml).")
    return _render("sla", chart, "SLA compliance per priority", description)


def _satisfaction(report: TicketReport) -> Chart:
    ratings = report.satisfaction
    chart = _config("Bar", "Ratings by score", show_legend=False,
                    x_labels=[str(score) for score, _ in SCALE],
                    x_title=f"Score: {SCALE[0][0]} {SCALE[0][1].lower()} to {SCALE[-1][0]} {SCALE[-1][1].lower()}",
                    **_counts_axis(max(ratings.distribution.values(), default=0)))
    chart.add("Ratings", [ratings.distribution.get(score, 0) for score, _ in SCALE])
    average = f"the average score is {ratings.average:.2f}" if ratings.average is not None else "no average yet"
    description = (f"Bars: how many of the {ratings.count} ratings given in the period chose each score from 1 "
                   f"to 5; {average}.")
    return _render("satisfaction", chart, "Satisfaction ratings", description)


CHARTS: dict[str, Callable[[TicketReport], Chart]] = {
    "created_per_week": lambda report: _weeks(report, "created_per_week", report.created),
    "resolved_per_week": lambda report: _weeks(report, "resolved_per_week", report.resolved),
    "backlog": _backlog,
    "times": _times,
    "sla": _sla,
    "satisfaction": _satisfaction,
}


# The parts of kbgen.reports.numbers.ticket_report each chart draws: all a chart's answer has to count.
NEEDS: dict[str, frozenset[str]] = {
    "created_per_week": frozenset({"created_per_week"}), "resolved_per_week": frozenset({"resolved_per_week"}),
    "backlog": frozenset({"backlog"}),
    "times": frozenset({"medians"}), "sla": frozenset({"sla"}), "satisfaction": frozenset({"satisfaction"}),
}


def chart(report: TicketReport, name: str) -> Chart:
    """The chart `name` (one of CHARTS) of the report; KeyError for another name."""
    return CHARTS[name](report)
