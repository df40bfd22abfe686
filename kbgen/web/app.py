"""The portal service: one ASGI app that answers search, intake and the requests pages' data.

`create_app(settings)` builds everything from a Settings object, so tests make a
fresh app over a temporary project, database and index.  The built static site
is served last, as a fallback, so `make run` needs nothing else; in production
the static files can live anywhere (README: Deploy).
"""
from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from kbgen import __version__

from kbgen.mail import sender as mailer
from kbgen.search import warm as search_warmup
from kbgen.site.csp import SitePolicy
from kbgen.web import bodies
from kbgen.web import csrf as csrf_protection
from kbgen.web import errors as api_errors
from kbgen.web import openapi
from kbgen.web.routes import (account, admin, assignment, attachments, comments, feedback, intake, live, ratings, replies,
                              reports, search, session, ticket_page, watchers)
from kbgen.web.routes import tickets as tickets_routes
from kbgen.db import open_database
from kbgen.settings import Settings


def create_app(settings: Settings, *, serve_site: bool = True, send_mail: bool = True) -> FastAPI:
    app = FastAPI(title="kbgen portal service", version=__version__,
                  description="Search, accounts, ticket intake and requests for the kbgen support portal.",
                  lifespan=mailer.lifespan)  # delivers the email outbox while the service runs
    app.state.settings = settings
    app.state.send_mail = send_mail  # False when a separate `kbgen mail run` process delivers the outbox
    database = open_database(settings)  # the schema is upgraded first, under a lock (kbgen/migrations)
    app.state.engine, app.state.sessionmaker = database.engine, database.sessionmaker
    api_errors.install(app)  # one error shape for every refusal, in the answers and in /openapi.json
    # -- routers, one per resource --
    app.include_router(session.router)  # /api/session, /api/me
    # Every path and query parameter is checked for what no database holds (NUL), before any route reads it.
    checked = [Depends(bodies.check_url)]
    for resource in (intake, tickets_routes, comments, attachments, assignment, ticket_page, live, replies, ratings,
                     reports, watchers, feedback):
        app.include_router(resource.router, dependencies=checked)  # /api/tickets..., /requests/{key}/
    app.include_router(search.router)  # /api/search
    app.include_router(account.router, dependencies=checked)  # /account/...: invitations, password reset, sign-up
    app.include_router(admin.router, dependencies=checked)  # /admin/...: organizations, users, audit log
    openapi.install(app)  # each product's ticket body (from forms/) in /openapi.json
    app.state.csp = SitePolicy(settings.site_dir, settings.allowed_origins)  # the built site's script hashes
    csrf_protection.install(app, settings)  # CSRF, body size limit, security headers: every route
    if serve_site and settings.site_dir.is_dir():
        app.mount("/", StaticFiles(directory=settings.site_dir, html=True), name="site")
    # Text answers (pages, assets, JSON) gzipped; attachments (octet-stream), images, archives, PDFs and
    # event streams left as they are.
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6, exclude_content_types=(
        *DEFAULT_EXCLUDED_CONTENT_TYPES, "application/pdf", "application/octet-stream"))
    app.state.search_warmup = search_warmup.start(settings.index_dir)  # the first search as fast as the rest
    return app


def app_from_env() -> FastAPI:
    """The factory `kbgen serve --workers N` gives uvicorn: each worker process builds its own app."""
    import os

    app = create_app(Settings.from_env(os.environ.get("KBGEN_PROJECT_DIR", ".")), send_mail=False)
    settle()
    return app


def settle() -> None:
    """Once a serving process has built its app: what start-up made (modules, the app, the ORM's mappers)
    lives as long as the process, so it is kept out of the garbage collector's full collections. Those
    then take about 2 ms instead of 60 ms that landed in the middle of a request (measured on the queue
    bench: one request in thirty waited for one). Not for tests, which build many apps in one process."""
    import gc

    gc.collect()
    gc.freeze()
