"""`kbgen servers ...` and `kbgen mail ...`: thin commands over kbgen.servers and kbgen.mailer."""
from __future__ import annotations

from pathlib import Path

import click

from kbgen.cli.database import open_database, settings as project_settings
from kbgen.settings import Settings

_project = click.option("--project", "project_dir", default=".", show_default=True,
                        type=click.Path(file_okay=False, path_type=Path),
                        help="Project folder (holds .kbgen/ with the database, unless KBGEN_DATABASE_URL says otherwise).")


def _sessionmaker(settings: Settings):
    return open_database(settings).sessionmaker


@click.group("servers")
def servers() -> None:
    """The server inventory that support sees on new XCALLY tickets."""


@servers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_project
def import_command(file: Path, project_dir: Path) -> None:
    """Create or update servers from a YAML list or a CSV file (all rows or none).

    Rows are matched by license_id or server_id. Columns: license_id, server_id,
    organization, hostname, product, product_version, license_expiry
    (YYYY-MM-DD), support_plan, last_contact, extra; other columns are kept in extra.
    """
    from kbgen.tickets.servers import InventoryError, import_inventory

    Session = _sessionmaker(project_settings(project_dir))
    with Session() as session:
        try:
            result = import_inventory(session, file)
        except InventoryError as exc:
            session.rollback()
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            raise click.ClickException(f"{len(exc.problems)} problem(s) in {file}; nothing was imported")
        session.commit()
    noun = "server" if result.imported == 1 else "servers"
    click.echo(f"imported {result.imported} {noun} ({result.updated} updated)")
    if result.extra_fields:
        click.echo("stored under extra: " + ", ".join(result.extra_fields))


@servers.command("list")
@click.option("--organization", help="Only this organization's servers.")
@_project
def list_command(organization: str | None, project_dir: Path) -> None:
    """Show the inventory, one server a line."""
    from kbgen.tickets.servers import list_servers

    Session = _sessionmaker(project_settings(project_dir))
    with Session() as session:
        rows = list_servers(session, organization)
    if not rows:
        click.echo("no servers; import some with 'kbgen servers import FILE'")
        return
    header = ("LICENSE", "SERVER", "ORGANIZATION", "HOSTNAME", "VERSION", "EXPIRES", "PLAN", "LAST CONTACT")
    table = [header] + [(s.license_id or "-", s.server_id or "-", s.organization or "-", s.hostname or "-",
                         s.product_version or "-", s.license_expiry.isoformat() if s.license_expiry else "-",
                         s.support_plan or "-",
                         s.last_contact.strftime("%Y-%m-%d %H:%M") if s.last_contact else "-") for s in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@click.group("mail")
def mail() -> None:
    """The outbox of notification emails."""


@mail.command("run")
@_project
@click.option("--interval", default=1.0, show_default=True, help="Seconds between looks at the outbox.")
@click.option("--stop-with-parent", is_flag=True, hidden=True,
              help="Stop when the process that started this one is gone (used by `kbgen serve`).")
def run_command(project_dir: Path, interval: float, stop_with_parent: bool) -> None:
    """Deliver the outbox until stopped (`kbgen serve` starts one of these beside the service)."""
    import os
    import signal
    import threading
    import time

    from kbgen.mail.sender import OutboxSender

    settings = project_settings(project_dir)
    try:
        sender = OutboxSender(_sessionmaker(settings), settings, interval=interval)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    def stop(*_) -> None:
        sender._stop.set()
        sender.wake()

    signal.signal(signal.SIGTERM, stop)
    if stop_with_parent:  # uvicorn ends `kbgen serve` by re-raising SIGTERM, so no cleanup code runs there
        parent = os.getppid()

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            stop()

        threading.Thread(target=watch, daemon=True).start()
    try:
        sender.run_forever()
    except KeyboardInterrupt:
        pass


@mail.command("send-pending")
@_project
def send_pending(project_dir: Path) -> None:
    """Send every email that is due now, once, and report what is left."""
    from kbgen.mail.sender import OutboxSender

    settings = project_settings(project_dir)
    try:
        sender = OutboxSender(_sessionmaker(settings), settings)
    except ValueError as exc:  # a KBGEN_SMTP_URL that cannot work; the message says how to fix it
        raise click.ClickException(str(exc)) from exc
    sent = sender.send_due()
    counts = sender.counts()
    target = settings.smtp_url and "SMTP" or f"files in {settings.mail_dir}"
    click.echo(f"sent {sent} email{'s' if sent != 1 else ''} ({target}); "
               f"{counts.get('pending', 0)} waiting to retry, {counts.get('failed', 0)} failed")
