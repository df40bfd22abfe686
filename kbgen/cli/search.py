"""`kbgen report ...`: what writers learn from the service's data."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click


@click.group()
def report() -> None:
    """Reports for writers, from the portal service's database."""


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
