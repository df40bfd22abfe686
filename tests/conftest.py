"""Shared fixtures: real databases, a real browser, a served app on a real port."""
from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
PG_URL = os.environ.get("KBGEN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _missing(what: str) -> None:
    """In CI a missing browser or database is a failure, never a silent skip."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"{what} not available")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path) -> str:
    """A fresh, empty database: a SQLite file, or a private schema in the machine's PostgreSQL."""
    yield from _fresh_database(request.param, tmp_path)


@pytest.fixture(scope="module", params=DATABASES)
def module_database_url(request, tmp_path_factory) -> str:
    """Like database_url, but one database for all of a module's tests (which must tolerate each
    other's rows): creating a schema per test is most of a database test's time."""
    yield from _fresh_database(request.param, tmp_path_factory.mktemp("db"))


def _fresh_database(kind: str, folder: Path):
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'kbgen.db'}"
        return
    sqlalchemy = pytest.importorskip("sqlalchemy")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        engine = sqlalchemy.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no PostgreSQL here"
        _missing(f"PostgreSQL at {PG_URL} ({exc.__class__.__name__})")
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    engine.dispose()


@pytest.fixture(scope="session")
def chromium():
    """A real headless Chromium driven by Playwright."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        _missing(f"Chromium at {CHROMIUM} (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def axe_problems(page, impacts=("critical", "serious"), within: str | None = None) -> list[str]:
    """axe-core's violations of these impacts on the page as it is now (or the part `within`, a CSS selector),
    one line each (empty: clean)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=within) if within else Axe().run(page)
    return [f"{v['impact']}: {v['id']} ({v['help']}) at " + ", ".join(str(n["target"]) for n in v["nodes"][:3])
            for v in results.response["violations"] if v.get("impact") in impacts]


class LiveServer:
    """Runs an ASGI app with uvicorn in a thread on a free loopback port."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a loopback port that keeps every message it accepts.

    Created stopped, so a test can hold the port while "the mail server is down"
    and `start()` it later; `refuse` lists recipients it answers 550 for.
    """

    def __init__(self, **controller_options):
        self.port = free_port()
        self.messages: list = []  # email.message.EmailMessage, with X-Rcpt-To added
        self.refuse: set[str] = set()
        self._options = controller_options
        self._controller = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import email
        from email import policy

        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        for rcpt in envelope.rcpt_tos:
            message["X-Rcpt-To"] = rcpt
        self.messages.append(message)
        return "250 Message accepted"

    def start(self) -> "SmtpSink":
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **self._options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 15.0) -> list:
        """The messages, once at least `count` arrived (for senders running in a thread)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@pytest.fixture
def smtp_server():
    """A running SmtpSink; `smtp_server.url` is a KBGEN_SMTP_URL pointing at it."""
    pytest.importorskip("aiosmtpd")
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def copy_project(dest: Path) -> Path:
    """A private copy of the repository's portal project (content, forms, mkdocs.yml)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("content", "forms"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, dest / name)
    for name in ("mkdocs.yml", "sla.yml"):
        shutil.copy(REPO / name, dest / name)
    return dest


def run_kbgen(*args: str, cwd: Path, env: dict | None = None, input: str | None = None):
    """Run the real `kbgen` console script installed in this environment."""
    import subprocess
    import sys

    kbgen = Path(sys.executable).with_name("kbgen")
    return subprocess.run([str(kbgen), *args], cwd=cwd, env={**os.environ, **(env or {})}, input=input,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def built_project(tmp_path_factory) -> Path:
    """The demo portal built once per test session with the real `kbgen build`."""
    project = copy_project(tmp_path_factory.mktemp("portal"))
    result = run_kbgen("build", cwd=project, env={"KBGEN_INDEX_DIR": ""})
    assert result.returncode == 0, result.stdout + result.stderr
    return project


def project_settings(project: Path, database_url: str, **overrides):
    """Settings for a test service over a built project and a given database."""
    from kbgen.settings import Settings

    settings = Settings.from_env(project, env={"KBGEN_DATABASE_URL": database_url,
                                               "KBGEN_DATA_DIR": str(project / ".kbgen" / f"data-{uuid.uuid4().hex[:8]}")})
    for key, value in overrides.items():
        setattr(settings, key, value)
    return settings


@contextmanager
def serve_with_customer(app, organization: str, email: str, password: str, name: str):
    """Run `app` on a LiveServer with one organization and one signed-up customer in it."""
    from kbgen import accounts

    with app.state.sessionmaker.begin() as db:
        accounts.add_organization(db, organization)
        accounts.add_user(db, organization=organization, email=email, role="customer", password=password, name=name)
    try:
        with LiveServer(app) as server:
            yield server
    finally:
        app.state.engine.dispose()
