"""`kbgen audit`: the audit log of account actions, newest first (kbgen/accounts/audit.py)."""
from __future__ import annotations

import click


@click.command("audit")
def audit() -> None:
    """Show the audit log of account actions, newest first."""
    raise click.ClickException("not written yet")
