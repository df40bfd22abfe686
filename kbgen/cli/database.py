"""How every `kbgen` command that needs the database opens it: settings from the environment,
the schema brought up to date first (so a fresh install just works), and one clear error line
for a setting or a database kbgen cannot use.

SQLAlchemy is imported inside: every `kbgen` command loads the CLI, and `kbgen build` should not
wait for a database library it does not use.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import click

from kbgen.settings import Settings, SettingsError

if TYPE_CHECKING:
    from kbgen.db import Database


def settings(project_dir: Path | str = ".") -> Settings:
    try:
        return Settings.from_env(project_dir)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def open_database(config: Settings, *, upgrade: bool = True) -> "Database":
    from kbgen import db, migrations

    try:
        return db.open_database(config, upgrade=upgrade)
    except migrations.SchemaTooNew as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def opened(config: Settings | None = None, *, upgrade: bool = True) -> Iterator["Database"]:
    """The configured database for the length of a command."""
    database = open_database(config or settings(), upgrade=upgrade)
    try:
        yield database
    finally:
        database.dispose()
