"""A ticket's life through kbgen.tickets, and the emails it causes, delivered by the real sender."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest

from kbgen import migrations, tickets
from kbgen.accounts import add_organization, add_user
from kbgen.db import make_engine, make_sessionmaker, utcnow
from kbgen.mail.sender import OutboxSender
from kbgen.tickets.servers import import_inventory
from kbgen.settings import Settings

DEMO = Path(__file__).resolve().parent.parent / "demo" / "servers.yml"
TEAM = "team@support.example"


@pytest.fixture
def portal(database_url, tmp_path, smtp_server):
    engine = make_engine(database_url)
    migrations.upgrade(engine)
    Session = make_sessionmaker(engine)
    settings = Settings(project_dir=tmp_path, site_dir=tmp_path / "site", index_dir=tmp_path / "index",
                        data_dir=tmp_path / "data", forms_dir=tmp_path / "forms", content_dir=tmp_path / "content",
                        database_url=database_url, smtp_url=smtp_server.url, mail_from="portal@support.example",
                        support_team_email=TEAM, public_url="https://support.example", notify_burst_seconds=60)
    with Session() as session:
        add_organization(session, "Acme Telecom")
        add_organization(session, "XCALLY Support")
        add_user(session, organization="Acme Telecom", email="ada@acme.example", role="customer",
                 password="correct horse battery", name="Ada Lovelace")
        add_user(session, organization="XCALLY Support", email="grace@support.example", role="agent",
                 password="correct horse battery", name="Grace Hopper")
        import_inventory(session, DEMO)
        session.commit()
    sender = OutboxSender(Session, settings)

    def delivered(after_the_burst: bool = False) -> list[tuple[str, str]]:
        """(recipient, subject) of what the sender delivers now, or once the burst window has passed."""
        before = len(smtp_server.messages)
        sender.send_due(utcnow() + dt.timedelta(seconds=61) if after_the_burst else None)
        return [(m["X-Rcpt-To"], m["Subject"]) for m in smtp_server.messages[before:]]

    yield SimpleNamespace(Session=Session, settings=settings, delivered=delivered, smtp=smtp_server)
    engine.dispose()


def users(session):
    from sqlalchemy import select

    from kbgen.accounts import User

    by_email = {u.email: u for u in session.scalars(select(User))}
    return by_email["ada@acme.example"], by_email["grace@support.example"]


def test_a_ticket_life_emails_the_right_people(portal):
    with portal.Session() as session:
        ada, grace = users(session)
        submission = SimpleNamespace(product="xcally", request_type="technical-issue", priority="High",
                                     summary="Calls drop after 30 seconds", description="Every inbound call drops.",
                                     values={"server_access": "yes", "server_host": "pbx1.acme-telecom.example"},
                                     consents=())
        ticket, created = tickets.create_ticket(session, portal.settings, submission, ada)
        key = ticket.key
        assert created
        assert sorted(portal.delivered()) == [
            ("ada@acme.example", f"[{key}] Request received: Calls drop after 30 seconds"),
            (TEAM, f"[{key}] New XCALLY request from Acme Telecom: Calls drop after 30 seconds")]

        automation, told = tickets.run_automations(session, portal.settings, ticket)
        assert automation.internal and automation.title == "Server information"
        assert "Hostname: pbx1.acme-telecom.example" in automation.body
        assert not told.internal and told.body.startswith("We attached the details")  # the customer reads what
        assert portal.delivered() == []  # automation results are for agents, never emailed

        tickets.add_comment(session, portal.settings, ticket, grace, "Customer is on Premium.", internal=True)
        assert portal.delivered() == []

        # The agent's reply and move within the burst window reach Ada as one email, once the window ends.
        tickets.add_comment(session, portal.settings, ticket, grace, "Which trunk do the calls use?")
        tickets.transition(session, portal.settings, ticket, grace, "Waiting for customer")
        assert portal.delivered() == []
        assert portal.delivered(after_the_burst=True) == [
            ("ada@acme.example", f"[{key}] 2 updates: Calls drop after 30 seconds")]

        # The customer's reply hands the ticket back to support: the team hears of the reply,
        # and Ada is not told about the status change her own reply caused.
        tickets.add_comment(session, portal.settings, ticket, ada, "Trunk 2, the SIP one.")
        assert ticket.status == "Waiting for Support"
        assert portal.delivered() == [(TEAM, f"[{key}] Customer comment: Calls drop after 30 seconds")]

    reply = portal.smtp.messages[-1].get_body(("plain",)).get_content()
    assert "Ada Lovelace of Acme Telecom commented" in reply and "> Trunk 2, the SIP one." in reply
    assert f"https://support.example/requests/{key}/" in reply
