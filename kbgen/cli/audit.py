"""`kbgen audit`: the audit log of account actions, newest first (kbgen/accounts/audit.py)."""
from __future__ import annotations

import json

import click

from kbgen.cli.database import opened


@click.command("audit")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True, help="How many events.")
@click.option("--action", default=None, metavar="ACTION",
              help="Only this action, e.g. user.deactivated (see the list in 'kbgen audit --help-actions').")
@click.option("--org", "organization", default=None, help="Only events of this organization (its name).")
@click.option("--email", default=None, help="Only events done by or to this person.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, for scripts.")
@click.option("--help-actions", is_flag=True, help="List the actions and exit.")
def audit(limit: int, action: str | None, organization: str | None, email: str | None, as_json: bool,
          help_actions: bool) -> None:
    """Show the audit log of account actions, newest first: when (UTC), who, what, to whom, which
    organization, from where, and the details."""
    from kbgen import accounts
    from kbgen.accounts import audit as log

    if help_actions:
        for known in log.ACTIONS:
            click.echo(f"{known.slug:32} {known.label}")
        return
    if action and action not in {a.slug for a in log.ACTIONS}:
        raise click.BadParameter(f"{action!r} is not an action; see 'kbgen audit --help-actions'",
                                 param_hint="'--action'")
    with opened() as database, database.sessionmaker() as db:
        org_id = None
        if organization is not None:
            org = accounts.find_organization(db, organization)
            if org is None:
                raise click.ClickException(f"organization {organization!r} does not exist: see 'kbgen orgs list'")
            org_id = org.id
        events = log.events(db, limit=limit, action=action, organization_id=org_id, person=email)
        names = {org.id: org.name for org, _ in accounts.list_organizations(db)}
        rows = [(event, names.get(event.organization_id, "") if event.organization_id else "") for event in events]
    if not rows and not as_json:
        click.echo("No audit events match.")
    for event, org_name in rows:
        when = event.at.replace(microsecond=0).isoformat() + "Z"
        if as_json:
            click.echo(json.dumps({"id": event.id, "at": when, "actor": event.actor, "action": event.action,
                                   "label": event.label, "target": event.target, "organization": org_name,
                                   "client": event.client, "details": event.facts}, sort_keys=True))
            continue
        details = log.describe(event)
        click.echo("  ".join([when, event.actor, event.label, event.target or "-", org_name or "-",
                              event.client or "-", details]).rstrip())
