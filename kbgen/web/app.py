"""The portal service: one ASGI app that answers search, intake and the requests pages' data.

`create_app(settings)` builds everything from a Settings object, so tests make a
fresh app over a temporary project, database and index.  The built static site
is served last, as a fallback, so `make run` needs nothing else; in production
the static files can live anywhere (README: Deploy).
"""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from kbgen import __version__, migrations

from kbgen.mail import sender as mailer
from kbgen.web import csrf as csrf_protection
from kbgen.site.csp import SitePolicy
from kbgen.web import auth as auth_web
from kbgen.web import errors as api_errors
from kbgen.web.routes import tickets as tickets_web
from kbgen.web.routes import search as search_web
from kbgen.db import make_engine, make_sessionmaker
from kbgen.settings import Settings


def create_app(settings: Settings, *, serve_site: bool = True, send_mail: bool = True) -> FastAPI:
    app = FastAPI(title="kbgen portal service", version=__version__,
                  description="Search, accounts, ticket intake and requests for the kbgen support portal.",
                  lifespan=mailer.lifespan)  # delivers the email outbox while the service runs
    app.state.settings = settings
    app.state.send_mail = send_mail  # False when a separate `kbgen mail run` process delivers the outbox
    app.state.engine = make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    migrations.upgrade(app.state.engine)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    # Routers of each concept are registered here (one line each).
    api_errors.install(app)  # one error shape for every refusal, in the answers and in /openapi.json
    # -- routers --
    app.include_router(auth_web.router)  # /api/session, /api/me
    tickets_web.install(app)  # /api/tickets..., /requests/{key}/
    app.include_router(search_web.router)  # /api/search
    app.state.csp = SitePolicy(settings.site_dir, settings.allowed_origins)  # the built site's script hashes
    csrf_protection.install(app, settings)  # CSRF, body size limit, security headers: every route
    if serve_site and settings.site_dir.is_dir():
        app.mount("/", StaticFiles(directory=settings.site_dir, html=True), name="site")
    return app


def app_from_env() -> FastAPI:
    """The factory `kbgen serve --workers N` gives uvicorn: each worker process builds its own app."""
    import os

    return create_app(Settings.from_env(os.environ.get("KBGEN_PROJECT_DIR", ".")), send_mail=False)
