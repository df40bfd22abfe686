"""The `kbgen` command: thin Click wrappers over plain functions."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from kbgen import __version__


@click.group()
@click.version_option(__version__, prog_name="kbgen")
def cli() -> None:
    """Build and serve a customer support portal from content/ and forms/."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--project", "project_dir", default=".", type=click.Path(file_okay=False, path_type=Path),
              help="Project folder (holds site/ and .kbgen/).")
def serve(host: str, port: int, project_dir: Path) -> None:
    """Run the portal service: search, accounts, tickets, and the built site."""
    import uvicorn

    from kbgen.app import create_app
    from kbgen.settings import Settings

    settings = Settings.from_env(project_dir)
    if not settings.site_dir.is_dir():
        raise click.ClickException(f"{settings.site_dir} does not exist: run 'kbgen build' first")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


# -- command groups -- (each concept registers its commands below)


def main() -> None:
    cli(prog_name="kbgen")


if __name__ == "__main__":
    sys.exit(main())
