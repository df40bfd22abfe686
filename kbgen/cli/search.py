"""`kbgen report ...`: what writers and the support team learn from the service's data."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click


@click.group()
def report() -> None:
    """Reports from the portal service's database: for writers (searches) and the support team (tickets)."""


@report.command("searches")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="How many queries.")
@click.option("--days", type=click.IntRange(1), default=None, help="Only queries seen in the last N days.")
@click.option("--project", "project_dir", default=".", type=click.Path(file_okay=False, path_type=Path),
              help="Project folder (its .kbgen/ holds the database unless KBGEN_DATABASE_URL is set).")
def searches(limit: int, days: int | None, project_dir: Path) -> None:
    """The searches that found nothing, most frequent first: articles worth writing."""
    from kbgen.cli.database import opened, settings
    from kbgen.db import utcnow
    from kbgen.search import missed

    with opened(settings(project_dir)) as database, database.sessionmaker() as session:
        since = utcnow() - dt.timedelta(days=days) if days else None
        rows = missed.top(session, limit, since)
    period = f"last {days} day(s)" if days else "all time"
    if not rows:
        click.echo(f"No searches without results recorded ({period}).")
        return
    click.echo(f"Searches that found nothing, top {len(rows)} ({period}):")
    click.echo(f"{'count':>7}  {'last seen (UTC)':<16}  query")
    for row in rows:
        click.echo(f"{row.count:>7}  {row.last_seen:%Y-%m-%d %H:%M}  {row.query}")


@report.command("tickets")
@click.option("--weeks", default=12, show_default=True, type=click.IntRange(1),
              help="The last N ISO weeks, this one included (at most 104).")
@click.option("--csv", "as_csv", is_flag=True, help="Print the CSV the reports page exports instead of tables.")
@click.option("--project", "project_dir", default=".", type=click.Path(file_okay=False, path_type=Path),
              help="Project folder (its .kbgen/ holds the database unless KBGEN_DATABASE_URL is set).")
def tickets(weeks: int, as_csv: bool, project_dir: Path) -> None:
    """Requests created and resolved per week by product, the backlog by status, median first response
    and resolution times (wall-clock hours), SLA compliance per priority and satisfaction: the numbers
    of the reports page (/team/reports/)."""
    from kbgen import reports
    from kbgen.cli.database import opened, settings
    from kbgen.sla import for_forms

    config = settings(project_dir)
    try:
        reports.period(weeks)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--weeks") from None
    with opened(config) as database, database.sessionmaker() as session:
        report = reports.ticket_report(session, for_forms(config.forms_dir), weeks)
    click.echo(reports.to_csv(report) if as_csv else reports.to_text(report), nl=False)


@report.command("articles")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 3660),
              help="Votes cast and requests opened in the last N days.")
@click.option("--minutes", default=30, show_default=True, type=click.IntRange(1, 60),
              help="What a requester saw in the N minutes before opening a request (the browser keeps 60).")
@click.option("--csv", "as_csv", is_flag=True, help="One CSV table instead of text (a row per article and per step).")
@click.option("--project", "project_dir", default=".", type=click.Path(file_okay=False, path_type=Path),
              help="Project folder (its .kbgen/ holds the database unless KBGEN_DATABASE_URL is set).")
def articles(days: int, minutes: int, as_csv: bool, project_dir: Path) -> None:
    """For writers: how helpful readers found each article ("Was this helpful?": yes, no, the share of yes,
    the latest comments; least helpful first), and what failed to deflect new requests (the searches
    and articles each requester saw just before opening one)."""
    from kbgen.cli.database import opened, settings
    from kbgen.db import utcnow
    from kbgen.feedback import articles as site_articles
    from kbgen.feedback.report import articles_report, to_csv, to_text

    config = settings(project_dir)
    titles = {path: str(item.get("title") or "") for path, item in (site_articles.read(config.site_dir) or {}).items()}
    with opened(config) as database, database.sessionmaker() as session:
        result = articles_report(session, utcnow() - dt.timedelta(days=days), minutes, titles)
    click.echo(to_csv(result) if as_csv else to_text(result), nl=False)
