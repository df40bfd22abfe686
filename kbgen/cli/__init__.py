"""The `kbgen` command: thin Click wrappers over plain functions."""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import click

from kbgen import __version__
from kbgen.site.catalog import ARTICLE_TYPES, PRODUCTS  # the help lists them


class _Commands(click.Group):
    """The commands of each concept (accounts, tickets, mail...) are imported when one of them runs or is
    listed: `kbgen build` does not load the service's database layer (about 20 MB less memory per build)."""

    LAZY = {  # command name -> "module:attribute"
        "orgs": "kbgen.cli.accounts:orgs", "users": "kbgen.cli.accounts:users", "db": "kbgen.cli.accounts:db",
        "servers": "kbgen.cli.servers:servers", "mail": "kbgen.cli.servers:mail",
        "tickets": "kbgen.cli.tickets:tickets_group", "report": "kbgen.cli.search:report",
        "audit": "kbgen.cli.audit:audit",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.LAZY:
            import importlib

            module, attribute = self.LAZY[name].split(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


@click.group(cls=_Commands)
@click.version_option(__version__, prog_name="kbgen")
def cli() -> None:
    """Build and serve a customer support portal from content/ and forms/."""


def _log_to_terminal(verbose: bool = False) -> None:
    """Show MkDocs' and kbgen's messages the way `mkdocs build` does."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
    logger = logging.getLogger("mkdocs")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


config_option = click.option("-f", "--config-file", type=click.Path(dir_okay=False, path_type=Path),
                             default=None, help="mkdocs.yml of the project (default: ./mkdocs.yml).")


@cli.command()
@config_option
@click.option("-d", "--site-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the site (default: site_dir of mkdocs.yml, usually site/).")
@click.option("-s", "--strict", is_flag=True, help="Fail on any warning, writing nothing.")
@click.option("-v", "--verbose", is_flag=True)
def build(config_file: Path | None, site_dir: Path | None, strict: bool, verbose: bool) -> None:
    """Build the static site, the ticket form pages and the search index."""
    from kbgen.site.build import BuildFailed, build_site

    _log_to_terminal(verbose)
    started = time.monotonic()
    try:
        final = build_site(config_file, site_dir, strict)
    except BuildFailed as exc:
        raise click.ClickException(f"build failed, nothing was written: {exc}") from None
    click.echo(f"Site built in {time.monotonic() - started:.1f} s: {final}")


@cli.command()
@config_option
def check(config_file: Path | None) -> None:
    """Validate front matter, links, anchors and forms without building (fast)."""
    from kbgen.site.build import BuildFailed
    from kbgen.site.build import check as run_check

    try:
        problems, pages = run_check(config_file)
    except BuildFailed as exc:
        raise click.ClickException(str(exc)) from None
    for line in problems:
        click.echo(line, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in {pages} page(s)")
    click.echo(f"OK: {pages} page(s), no problems")


@cli.command()
@config_option
@click.option("-a", "--dev-addr", default="127.0.0.1:8001", show_default=True, help="IP:PORT to serve the preview on.")
def preview(config_file: Path | None, dev_addr: str) -> None:
    """Live-reloading preview for writers: an edit re-renders only that page."""
    from mkdocs.commands.serve import serve as mkdocs_serve

    _log_to_terminal()
    mkdocs_serve(str(config_file) if config_file else None, livereload=True, build_type="dirty",
                 dev_addr=dev_addr)


@cli.command()
@click.argument("title")
@click.option("--product", required=True, help=", ".join(p.name for p in PRODUCTS) + ".")
@click.option("--type", "type_", required=True, help=", ".join(t.slug for t in ARTICLE_TYPES) + ".")
@click.option("--summary", default="", help="One sentence shown in lists and search results.")
@click.option("--content-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("content"),
              show_default=True)
def new(title: str, product: str, type_: str, summary: str, content_dir: Path) -> None:
    """Create an article with valid front matter in the right folder."""
    from kbgen.site.scaffold import ScaffoldError, new_article

    try:
        path = new_article(content_dir, title, product, type_, summary)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {path}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--project", "project_dir", default=".", type=click.Path(file_okay=False, path_type=Path),
              help="Project folder (holds site/ and .kbgen/).")
@click.option("--forwarded-allow-ips", default=None,
              help="Reverse proxies whose X-Forwarded-For is trusted (comma-separated IPs, or '*').")
@click.option("--mailer/--no-mailer", default=True, show_default=True,
              help="Start a `kbgen mail run` process beside the service to deliver emails "
                   "(--no-mailer when you run it elsewhere).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Service processes; each answers requests on its own (use the number of cores).")
def serve(host: str, port: int, project_dir: Path, forwarded_allow_ips: str | None, mailer: bool,
          workers: int) -> None:
    """Run the portal service: search, accounts, tickets, and the built site."""
    import subprocess

    import uvicorn

    from kbgen.cli.database import settings as project_settings
    from kbgen.web.app import create_app, settle

    settings = project_settings(project_dir)
    if not settings.site_dir.is_dir():
        raise click.ClickException(f"{settings.site_dir} does not exist: run 'kbgen build' first")
    app = create_app(settings, send_mail=False)  # the schema is upgraded before the sender starts
    sender = subprocess.Popen([sys.executable, "-m", "kbgen.cli", "mail", "run", "--stop-with-parent",
                               "--project", str(settings.project_dir)]) if mailer else None
    if workers > 1:  # uvicorn starts the processes from an import path; they find the project by env
        os.environ["KBGEN_PROJECT_DIR"] = str(settings.project_dir)
        app = "kbgen.web.app:app_from_env"
    else:
        settle()
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True,
                    forwarded_allow_ips=forwarded_allow_ips, workers=workers, factory=workers > 1)
    finally:
        if sender is not None:
            sender.terminate()
            sender.wait(timeout=30)


@cli.command()
@click.option("--inventory", type=click.Path(dir_okay=False, path_type=Path), default=Path("demo/servers.yml"),
              show_default=True, help="Demo server inventory to import when present.")
@click.option("--url", "portal_url", default=None,
              help="Where the portal will be served, to print (default: KBGEN_PUBLIC_URL, else http://127.0.0.1:8000).")
def demo(inventory: Path, portal_url: str | None) -> None:
    """Create the demo organizations and logins (idempotent) and print them."""
    from kbgen.cli.database import opened, settings as project_settings
    from kbgen.cli.demo import DEMO_MEMBERSHIPS, ensure_demo

    settings = project_settings()
    with opened(settings) as database, database.sessionmaker.begin() as db:
        logins = ensure_demo(db, inventory)
    click.echo(f"Demo database: {settings.database_url}")
    click.echo("Demo logins (local demo only):")
    for login in logins:
        also = [org for email, org in DEMO_MEMBERSHIPS if email == login.email]
        orgs = login.organization + (f"; also for {', '.join(also)}" if also else "")
        click.echo(f"  {login.role:<9} {login.email:<28} password: {login.password:<15} ({orgs})")
    click.echo(f"Portal: {(portal_url or settings.public_url).rstrip('/')}/   Emails are written to {settings.mail_dir}/ unless KBGEN_SMTP_URL is set.")


def main() -> None:
    cli(prog_name="kbgen")


if __name__ == "__main__":
    sys.exit(main())
