"""`kbgen orgs ...`, `kbgen users ...` and `kbgen db ...`: thin Click wrappers over kbgen.accounts
and kbgen.migrations, on the database of Settings.from_env(".") (KBGEN_DATABASE_URL, KBGEN_DATA_DIR).

SQLAlchemy is imported inside the commands: every `kbgen` command loads this module, and
`kbgen build` should not wait for a database library it does not use.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import click

from kbgen.cli.database import opened

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@contextmanager
def _database() -> Iterator[Session]:
    """One transaction on the configured database, brought up to date first so a fresh install just works."""
    from kbgen import accounts

    with opened() as database:
        try:
            with database.sessionmaker.begin() as db:
                yield db
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def _read_password(from_stdin: bool) -> str:
    if not from_stdin:
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.ClickException("--password-stdin: standard input held no password")
    return password


@click.group("orgs")
def orgs() -> None:
    """Organizations: every user belongs to one (agents to the vendor's own)."""


@orgs.command("add")
@click.argument("name")
def orgs_add(name: str) -> None:
    """Add an organization called NAME."""
    from kbgen import accounts

    with _database() as db:
        org = accounts.add_organization(db, name)
        click.echo(f"Added organization {org.name!r} (id {org.id}).")


@orgs.command("list")
def orgs_list() -> None:
    """List organizations and how many users each has."""
    from kbgen import accounts

    with _database() as db:
        rows = [(str(org.id), org.name, str(count)) for org, count in accounts.list_organizations(db)]
    if not rows:
        click.echo("No organizations yet: add one with 'kbgen orgs add NAME'.")
        return
    _table(rows, ("ID", "NAME", "USERS"))


@click.group("users")
def users() -> None:
    """People who sign in to the portal: customers, partners and agents (the support team)."""


@users.command("add")
@click.option("--org", "organization", required=True, help="The organization's name (see 'kbgen orgs list').")
@click.option("--email", required=True, help="Sign-in email; unique across the portal.")
@click.option("--role", required=True, metavar="ROLE",
              help="customer or partner (their organization's requests) or agent (the support team).")
@click.option("--name", default="", help="Name shown in the portal header and on requests.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def users_add(organization: str, email: str, role: str, name: str, password_stdin: bool) -> None:
    """Add a user who can sign in; asks for the password unless --password-stdin."""
    from kbgen import accounts

    if role not in accounts.ROLES:  # before the password prompt, not after it
        raise click.BadParameter(f"{role!r} is not one of {', '.join(accounts.ROLES)}", param_hint="'--role'")
    password = _read_password(password_stdin)
    with _database() as db:
        user = accounts.add_user(db, organization=organization, email=email, role=role, password=password, name=name)
        click.echo(f"Added {user.role} {user.email} to {user.organization.name!r} (id {user.id}).")


@users.command("invite")
@click.option("--org", "organization", required=True, help="The organization's name (see 'kbgen orgs list').")
@click.option("--email", required=True, help="The address to email the invitation to; their sign-in email.")
@click.option("--role", required=True, metavar="ROLE",
              help="customer or partner (their organization's requests), agent (the support team) or admin.")
@click.option("--name", default="", help="Their name, as a suggestion they can change when they accept.")
def users_invite(organization: str, email: str, role: str, name: str) -> None:
    """Email someone a link to join an organization with a role; they choose their own password.
    The link works KBGEN_INVITATION_DAYS days; the email goes out with the service's outbox."""
    from kbgen import accounts
    from kbgen.accounts import invitations
    from kbgen.cli.database import settings
    from kbgen.mail.account_mail import moment

    config = settings()
    with opened(config) as database:
        try:
            with database.sessionmaker.begin() as db:
                org = accounts.find_organization(db, organization)
                if org is None:
                    raise accounts.AccountError(f"organization {organization!r} does not exist: see 'kbgen orgs list'")
                row = invitations.invite(db, config, email=email, organization_id=org.id, role=role, name=name)
                address, expires = row.email, moment(row.expires_at)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Invitation emailed to {address}; it expires on {expires}.")


@users.command("set-password")
@click.option("--email", required=True, help="The user's sign-in email.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def users_set_password(email: str, password_stdin: bool) -> None:
    """Give a user a new password; signs them out everywhere."""
    from kbgen import accounts

    password = _read_password(password_stdin)
    with _database() as db:
        user = accounts.set_password(db, email, password)
        click.echo(f"New password set for {user.email}; their open sessions are closed.")


@users.command("list")
@click.option("--org", "organization", default=None, help="Only this organization's users.")
def users_list(organization: str | None) -> None:
    """List users with their organization, role and last sign-in."""
    from kbgen import accounts

    with _database() as db:
        rows = [(str(u.id), u.email, u.name, u.role, u.organization.name,
                 f"{u.last_login_at:%Y-%m-%d %H:%M} UTC" if u.last_login_at else "never")
                for u in accounts.list_users(db, organization)]
    if not rows:
        click.echo("No users yet: add one with 'kbgen users add --org ORG --email EMAIL --role ROLE'.")
        return
    _table(rows, ("ID", "EMAIL", "NAME", "ROLE", "ORGANIZATION", "LAST SIGN-IN"))


@click.group("db")
def db() -> None:
    """The portal database (KBGEN_DATABASE_URL; a SQLite file in the data folder by default)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema; keeps existing data. Safe to run while the service runs."""
    from kbgen import migrations

    with opened(upgrade=False) as database:
        try:
            before, after = migrations.upgrade(database.engine)
        except migrations.SchemaTooNew as exc:
            raise click.ClickException(str(exc)) from None
        where = _where(database)
    if before == after:
        click.echo(f"{where} is up to date (revision {after}).")
    else:
        click.echo(f"Upgraded {where} from {before or 'an empty database'} to revision {after}.")


@db.command("current")
def db_current() -> None:
    """Show the database's schema revision and the newest this kbgen knows; changes nothing."""
    from kbgen import migrations

    with opened(upgrade=False) as database:
        current, where = migrations.current_revision(database.engine), _where(database)
    latest = migrations.head()
    state = "up to date" if current == latest else "run 'kbgen db upgrade'"
    click.echo(f"{where}: revision {current or 'none (empty)'}; newest {latest} ({state}).")


@db.command("revision", hidden=True)
@click.argument("message")
def db_revision(message: str) -> None:
    """For kbgen's developers: write the next migration from what the models changed."""
    from kbgen import migrations

    click.echo(f"Wrote {migrations.new_revision(message)}: read it, adjust it, and test it.")


def _where(database) -> str:
    return database.engine.url.render_as_string(hide_password=True)
