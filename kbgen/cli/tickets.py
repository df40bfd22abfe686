"""`kbgen tickets ...`: the support team's side of the requests, at the command line.

Thin Click wrappers over kbgen.tickets on the database of Settings.from_env(".")
(KBGEN_DATABASE_URL, KBGEN_DATA_DIR). Whoever runs them has the database, so
they see every organization's requests and internal notes, as agents do.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import click

from kbgen.cli.database import opened, settings as project_settings
from kbgen.tickets import SORTS, TicketFilter, workflow
from kbgen.tickets.views import VIEWS
from kbgen.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

AGENT_OPTION = click.option(
    "--as", "agent_email", envvar="KBGEN_AGENT_EMAIL", metavar="EMAIL",
    help="The agent acting (history and emails name them); default: $KBGEN_AGENT_EMAIL.")


@contextmanager
def _database() -> Iterator[tuple["Session", Settings]]:
    settings = project_settings()
    with opened(settings) as database, database.sessionmaker() as session:
        yield session, settings


def _ticket(session, key: str):
    from kbgen import tickets

    try:
        return tickets.get_ticket(session, None, key)
    except tickets.TicketNotFound:
        raise click.ClickException(f"no request {key.upper()}; list them with 'kbgen tickets list'") from None


def _agent(session, email: str | None, required: bool):
    from sqlalchemy import func, select

    from kbgen.accounts import User

    if not email:
        if required:
            raise click.ClickException("say which agent writes: --as EMAIL (or set KBGEN_AGENT_EMAIL)")
        return None
    user = session.scalars(select(User).where(func.lower(User.email) == email.strip().lower())).first()
    if user is None or not user.is_agent:
        raise click.ClickException(f"{email} is not an agent; list agents with 'kbgen users list'")
    return user


def _catalog(settings: Settings):
    from kbgen.forms import FormDefinitionError, load_catalog

    try:
        return load_catalog(settings.forms_dir)
    except FormDefinitionError:
        return None  # labels fall back to field names; the values are what matter here


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""


@click.group("tickets")
def tickets_group() -> None:
    """Requests: list, show, move between statuses, comment (the support team's side)."""


@tickets_group.command("list")
@click.option("--status", "statuses", multiple=True, help="A status name or slug (repeat for several).")
@click.option("--product", "products", multiple=True, help="A product slug or name (repeat for several).")
@click.option("--priority", "priorities", multiple=True, help="A priority slug (repeat for several).")
@click.option("--org", "organization", help="Only this organization's requests (its name).")
@click.option("--requester", help="Only this person's requests (their email).")
@click.option("-q", "--search", default="", help="Text in the key or the summary.")
@click.option("--view", default="", help="A queue of the support team: " + ", ".join(v.slug for v in VIEWS) + ".")
@click.option("--sort", default=None, help=", ".join(SORTS) + f"; '-' descending  [default: the view's order, else "
                                              f"{TicketFilter.sort}]")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100))
@click.option("--page", default=1, show_default=True, type=click.IntRange(1))
@AGENT_OPTION
def list_command(statuses, products, priorities, organization, requester, search, view, sort, limit, page,
                 agent_email) -> None:
    """List requests of every organization, newest first (or in a view's order)."""
    from kbgen import tickets
    from kbgen.accounts import find_organization
    from kbgen.sla import for_forms

    with _database() as (session, settings):
        viewer = _agent(session, agent_email, required=view == "mine")
        org_id = None
        if organization:
            org = find_organization(session, organization)
            if org is None:
                raise click.ClickException(f"no organization {organization!r}; list them with 'kbgen orgs list'")
            org_id = org.id
        filters = tickets.TicketFilter(status=list(statuses), product=list(products), priority=list(priorities),
                                       requester=[requester] if requester else [], organization=org_id,
                                       q=search, view=view, sort=sort, page=page, per_page=limit)
        try:
            found = tickets.list_tickets(session, viewer, filters, for_forms(settings.forms_dir))
        except tickets.TicketError as exc:
            raise click.ClickException(exc.message) from None
        rows = [(t.key, t.status, t.priority, t.product, t.organization.name, t.requester.email,
                 t.assignee.email if t.assignee else "", _when(t.sla_due_at), _when(t.updated_at), t.summary)
                for t in found.items]
    if not rows:
        click.echo("No requests match." if any([statuses, products, priorities, organization, requester, search, view])
                   else "No requests yet.")
        return
    _table(rows, ("KEY", "STATUS", "PRIORITY", "PRODUCT", "ORGANIZATION", "REQUESTER", "ASSIGNEE", "DUE", "UPDATED",
                  "SUMMARY"))
    if found.pages > 1:
        click.echo(f"Page {found.page} of {found.pages} ({found.total} requests); see more with --page.")


@tickets_group.command("show")
@click.argument("key")
def show_command(key: str) -> None:
    """Everything about request KEY: fields, attachments and the whole timeline, internal notes included."""
    from kbgen import tickets

    with _database() as (session, settings):
        ticket = _ticket(session, key)
        status = workflow.find_status(ticket.status)
        click.echo(f"{ticket.key}  {ticket.summary}")
        facts = [("Status", f"{status.name} ({status.meaning})"), ("Product", ticket.product),
                 ("Request type", ticket.request_type), ("Priority", ticket.priority),
                 ("Requester", f"{ticket.requester.display_name} <{ticket.requester.email}>"),
                 ("Organization", ticket.organization.name),
                 ("Assigned to", ticket.assignee.display_name if ticket.assignee else "nobody"),
                 ("Created", _when(ticket.created_at)), ("Updated", _when(ticket.updated_at))]
        if ticket.related_key:
            facts.append(("Follows up", ticket.related_key))
        moves = workflow.allowed(ticket.status, workflow.AGENT)
        facts.append(("Can move to", ", ".join(m.target.name for m in moves) or "nothing (final)"))
        for label, value in facts:
            click.echo(f"  {label + ':':<14}{value}")
        click.echo("\nDetails")
        for entered in tickets.entered_fields(ticket, _catalog(settings)):
            lines = entered.display.splitlines() or [""]
            click.echo(f"  {entered.label}: {lines[0]}")
            for line in lines[1:]:
                click.echo(f"    {line}")
        if ticket.attachments:
            click.echo("\nAttachments")
            for attachment in ticket.attachments:
                click.echo(f"  {attachment.filename} ({attachment.size} bytes) "
                           f"{tickets.attachment_path(settings, attachment)}")
        click.echo("\nTimeline")
        if not ticket.events:
            click.echo("  (nothing yet)")
        for event in ticket.events:
            who = event.author.display_name if event.author else "the support team"
            tag = " [internal]" if event.internal else ""
            if event.kind == tickets.STATUS:
                click.echo(f"  {_when(event.created_at)}  {who}: {event.old_status} -> {event.new_status}")
                continue
            click.echo(f"  {_when(event.created_at)}  {who}{tag}: {event.title or event.kind}")
            for line in (event.body or "").splitlines():
                click.echo(f"      {line}")


@tickets_group.command("move")
@click.argument("key")
@click.argument("status", metavar="STATUS")
@AGENT_OPTION
def move_command(key: str, status: str, agent_email: str | None) -> None:
    """Move request KEY to STATUS (a name, in quotes, or a slug such as waiting-for-customer).

    Agents move requests among every status but Closed, which only the customer sets.
    """
    from kbgen import tickets

    with _database() as (session, settings):
        ticket = _ticket(session, key)
        agent = _agent(session, agent_email, required=False)
        old = ticket.status
        try:
            tickets.transition(session, settings, ticket, agent, status)
        except workflow.UnknownStatus as exc:
            raise click.ClickException(str(exc)) from None
        except workflow.TransitionRefused as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"{ticket.key}: {old} -> {ticket.status}")


@tickets_group.command("comment")
@click.argument("key")
@click.option("-m", "--message", help="The comment (Markdown); read from standard input when absent.")
@click.option("--internal", is_flag=True, help="An internal note: only the support team ever sees it.")
@AGENT_OPTION
def comment_command(key: str, message: str | None, internal: bool, agent_email: str | None) -> None:
    """Comment on request KEY as an agent; the customer is emailed unless it is --internal."""
    from kbgen import tickets

    text = message if message is not None else sys.stdin.read()
    with _database() as (session, settings):
        ticket = _ticket(session, key)
        agent = _agent(session, agent_email, required=True)
        try:
            tickets.add_comment(session, settings, ticket, agent, text, internal=internal)
        except tickets.TicketError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"{ticket.key}: {'internal note' if internal else 'comment'} added by {agent.display_name}")


@tickets_group.command("statuses")
def statuses_command() -> None:
    """The statuses, what each means and what can happen next."""
    settings = project_settings()
    for name, meaning, nxt in workflow.help_rows(settings.reopen_days):
        click.echo(f"{name}\n  {meaning}\n  {nxt}")
