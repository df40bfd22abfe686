"""A portal for the tickets tests: the real app over a real database, with people of two organizations.

Imported by tests/test_intake*.py, test_tickets*.py, test_workflow*.py and
test_requests*.py; it holds no tests itself.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from kbgen import accounts
from kbgen.accounts import Organization, User
from kbgen.web.app import create_app
from kbgen.settings import Settings
from kbgen.tickets import Attachment, Ticket, TicketEvent

REPO = Path(__file__).resolve().parent.parent
SITE = "http://portal.test"  # where the browser thinks it is (Host and Origin)
PASSWORD = "correct horse battery"

PEOPLE = {  # email: (organization, role, name)
    "ann@acme.example": ("Acme Telecom", "customer", "Ann Acme"),
    "bob@acme.example": ("Acme Telecom", "customer", "Bob Acme"),
    "pat@acme.example": ("Acme Telecom", "partner", "Pat Partner"),
    "gina@globex.example": ("Globex", "customer", "Gina Globex"),
    "sam@vendor.example": ("Vendor Support", "agent", "Sam Agent"),
    "alex@vendor.example": ("Vendor Support", "agent", "Alex Agent"),
}
ANN, BOB, PAT, GINA, SAM, ALEX = PEOPLE

_HASH: list[str] = []


def add_people(db) -> None:
    """PEOPLE's organizations and users, all with PASSWORD, in the caller's transaction."""
    orgs = {name: Organization(name=name) for name in {o for o, _, _ in PEOPLE.values()}}
    db.add_all(User(organization=orgs[org], email=email, role=role, name=name, password_hash=password_hash())
               for email, (org, role, name) in PEOPLE.items())


def password_hash() -> str:
    if not _HASH:  # argon2 is slow on purpose: hash once per test run
        _HASH.append(accounts.hash_password(PASSWORD))
    return _HASH[0]


def settings_for(tmp_path: Path, database_url: str, **overrides) -> Settings:
    return Settings(project_dir=tmp_path, site_dir=tmp_path / "site", index_dir=tmp_path / "index",
                    data_dir=tmp_path / "data", forms_dir=REPO / "forms", content_dir=tmp_path / "content",
                    database_url=database_url, public_url=SITE, secret_key="test-secret",
                    support_team_email="team@vendor.example", **overrides)


def xcally(summary: str = "Calls drop after 30 seconds", *, request_type: str = "technical-issue",
           priority: str = "high", idempotency_key: str | None = None, **fields) -> dict:
    """A valid XCALLY technical issue; keyword arguments replace or add fields (None removes one)."""
    values = {"summary": summary, "description": "Every inbound call drops after thirty seconds.",
              "motion_version": "3.41.2", "deployment": "on-premise", "affected_users": "all",
              "server_access": "no"}
    values.update(fields)
    body = {"product": "xcally", "request_type": request_type, "priority": priority,
            "fields": {k: v for k, v in values.items() if v is not None}}
    if idempotency_key:
        body["idempotency_key"] = idempotency_key
    return body


def xplany(summary: str = "Adherence is wrong since Monday", priority: str = "medium") -> dict:
    return {"product": "xplany", "request_type": "technical-issue", "priority": priority,
            "fields": {"summary": summary, "description": "Every agent shows as out of schedule.",
                       "xplany_version": "2.8.1", "module": "reports", "deployment": "cloud"}}


class Portal:
    def __init__(self, tmp_path: Path, database_url: str, **overrides):
        self.settings = settings_for(tmp_path, database_url, **overrides)
        self.app = create_app(self.settings)
        self.Session = self.app.state.sessionmaker
        with self.Session.begin() as db:
            add_people(db)

    def client(self, email: str | None = None) -> TestClient:
        """A browser on the portal's pages (it sends Origin), signed in as `email`."""
        client = TestClient(self.app, base_url=SITE, headers={"Origin": SITE})
        if email:
            with self.Session.begin() as db:
                user = db.scalars(select(User).where(User.email == email)).one()
                token, login = accounts.open_session(db, user)
            client.cookies.set(accounts.SESSION_COOKIE, token)
            client.cookies.set(accounts.CSRF_COOKIE, login.csrf_token)
        return client

    def open(self, email: str = ANN, body: dict | None = None) -> str:
        """Open a ticket through the API; its key."""
        response = self.client(email).post("/api/tickets", json=body or xcally())
        assert response.status_code == 201, response.text
        return response.json()["key"]

    # -- looking into the database, as an administrator would --

    def count(self, model=Ticket) -> int:
        with self.Session() as db:
            return db.scalar(select(func.count()).select_from(model))

    def ticket(self, key: str) -> Ticket:
        with self.Session() as db:
            ticket = db.scalars(select(Ticket).where(Ticket.key == key)).one()
            _ = ticket.events, ticket.attachments, ticket.consents
            for event in ticket.events:
                _ = event.attachments
            return ticket

    def set_status(self, key: str, status: str, **values) -> None:
        with self.Session.begin() as db:
            db.execute(update(Ticket).where(Ticket.key == key).values(status=status, **values))

    def outbox(self) -> list:
        from kbgen.mail.notifications import Outbox

        with self.Session() as db:
            return list(db.scalars(select(Outbox).order_by(Outbox.id)))

    def close(self) -> None:
        self.app.state.engine.dispose()


__all__ = ["ALEX", "ANN", "Attachment", "BOB", "GINA", "PAT", "PASSWORD", "Portal", "REPO", "SAM", "SITE",
           "Ticket", "TicketEvent", "xcally", "xplany"]
