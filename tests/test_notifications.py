"""Who is emailed about a ticket, what the email says, and that it commits with the change.

Tickets and users here are plain stand-ins (data, not code under test); the
outbox, the sender and the SMTP server are real.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kbgen import migrations
from kbgen.db import make_engine, make_sessionmaker
from kbgen.mail.sender import OutboxSender
from kbgen.mail.notifications import Outbox, notify
from kbgen.settings import Settings


@dataclass
class Person:
    email: str
    name: str
    role: str = "customer"


@dataclass
class Org:
    name: str


@dataclass
class Comment:
    body: str
    author: Person
    internal: bool = False


@dataclass
class Ticket:
    key: str = "XC-42"
    product: str = "xcally"
    summary: str = "Calls drop after 30 seconds"
    status: str = "Waiting for Support"
    priority: str = "High"
    requester: Person = field(default_factory=lambda: CUSTOMER)
    organization: Org = field(default_factory=lambda: Org("Acme Telecom"))
    description: str = "Every inbound call drops after exactly 30 seconds."

    @property
    def url(self) -> str:
        return f"requests/{self.key}/"


CUSTOMER = Person("ada@acme.example", "Ada Lovelace", "customer")
COLLEAGUE = Person("bob@acme.example", "Bob Acme", "partner")
AGENT = Person("grace@support.example", "Grace Hopper", "agent")
TEAM = "team@support.example"


def make_settings(tmp_path: Path, database_url: str, smtp_url: str | None) -> Settings:
    return Settings(project_dir=tmp_path, site_dir=tmp_path / "site", index_dir=tmp_path / "index",
                    data_dir=tmp_path / "data", forms_dir=tmp_path / "forms", content_dir=tmp_path / "content",
                    database_url=database_url, smtp_url=smtp_url,
                    mail_from="Support Portal <portal@support.example>", support_team_email=TEAM,
                    public_url="https://support.example/portal",
                    notify_burst_seconds=0)  # each email at once: bursts are tests/test_notification_bursts.py's


@pytest.fixture(scope="module")
def database(module_database_url):
    engine = make_engine(module_database_url)
    migrations.upgrade(engine)
    yield module_database_url, make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def outbox(database, tmp_path, smtp_server):
    """(sessionmaker, settings, deliver) over a migrated database; deliver() sends and returns {rcpt: message}.

    Each test has its own SMTP server, so it sees only the emails its own actions caused.
    """
    database_url, Session = database
    settings = make_settings(tmp_path, database_url, smtp_server.url)

    def deliver() -> dict[str, object]:
        OutboxSender(Session, settings).send_due()
        return {m["X-Rcpt-To"]: m for m in smtp_server.messages}

    yield Session, settings, deliver


def queue(Session, settings, event, ticket, actor, **details) -> list[Outbox]:
    with Session() as session:
        rows = notify(session, settings, event, ticket, actor, **details)
        session.commit()
    return rows


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html_of(message) -> str:
    return message.get_body(("html",)).get_content().replace("\r\n", "\n")


def test_new_ticket_sends_the_requester_a_receipt_and_the_team_the_request(outbox):
    Session, settings, deliver = outbox
    queue(Session, settings, "ticket_created", Ticket(), CUSTOMER)
    mail = deliver()

    assert set(mail) == {CUSTOMER.email, TEAM}
    receipt = mail[CUSTOMER.email]
    assert receipt["Subject"] == "[XC-42] Request received: Calls drop after 30 seconds"
    body = text_of(receipt)
    assert "We received your request XC-42 about XCALLY" in body
    assert "Status: Waiting for Support (Created, pending on the support team.)" in body
    assert "https://support.example/portal/requests/XC-42/" in body
    assert "do not reply to this email" in body
    assert receipt["Reply-To"] == "no-reply@support.example"
    assert receipt["From"] == "Support Portal <portal@support.example>"

    team = text_of(mail[TEAM])
    assert "Ada Lovelace <ada@acme.example> of Acme Telecom opened request XC-42" in team
    assert "> Every inbound call drops after exactly 30 seconds." in team
    assert "Priority: High" in team
    assert mail[TEAM]["Subject"] == "[XC-42] New XCALLY request from Acme Telecom: Calls drop after 30 seconds"


def test_agent_public_comment_reaches_the_requester_with_its_text(outbox):
    Session, settings, deliver = outbox
    comment = Comment("Please send the **SIP trace**:\n\n1. open Tools\n2. export", AGENT)
    queue(Session, settings, "comment_added", Ticket(), AGENT, comment=comment)
    mail = deliver()

    assert set(mail) == {CUSTOMER.email}  # not the team, not the agent who wrote it
    body = text_of(mail[CUSTOMER.email])
    assert "Grace Hopper from the support team replied to your request XC-42" in body
    assert "> Please send the **SIP trace**:\n>\n> 1. open Tools\n> 2. export" in body
    assert "https://support.example/portal/requests/XC-42/" in body
    assert mail[CUSTOMER.email]["Subject"] == "[XC-42] New reply: Calls drop after 30 seconds"


def test_internal_note_is_emailed_to_nobody(outbox):
    Session, settings, deliver = outbox
    rows = queue(Session, settings, "comment_added", Ticket(), AGENT,
                 comment=Comment("Customer is on an expired plan, check with sales", AGENT, internal=True))
    assert rows == []
    assert deliver() == {}


def test_customer_comment_reaches_the_support_team_only(outbox):
    Session, settings, deliver = outbox
    queue(Session, settings, "comment_added", Ticket(), COLLEAGUE,
          comment=Comment("Trace attached, it happens on trunk 2 only.", COLLEAGUE))
    mail = deliver()

    assert set(mail) == {TEAM}
    body = text_of(mail[TEAM])
    assert "Bob Acme of Acme Telecom commented on request XC-42" in body
    assert "> Trace attached, it happens on trunk 2 only." in body


def test_status_change_tells_the_requester_the_new_status_and_its_meaning(outbox):
    Session, settings, deliver = outbox
    ticket = Ticket(status="Resolved")
    queue(Session, settings, "status_changed", ticket, AGENT, old="In progress", new="Resolved")
    mail = deliver()

    assert set(mail) == {CUSTOMER.email}
    message = mail[CUSTOMER.email]
    assert message["Subject"] == "[XC-42] Status changed to Resolved: Calls drop after 30 seconds"
    body = text_of(message)
    assert "changed the status of your request XC-42" in body
    assert "from In progress to Resolved" in body
    assert "New status: Resolved (Resolved by the support team.)" in body


def test_nobody_is_emailed_about_their_own_status_change(outbox):
    Session, settings, deliver = outbox
    rows = queue(Session, settings, "status_changed", Ticket(status="Closed"), CUSTOMER,
                 old="Resolved", new="Closed")
    # Her confirmation of the fix is the team's alert (tests/test_notification_bursts.py), never hers.
    assert [row.to_email for row in rows] == [TEAM]
    assert set(deliver()) == {TEAM}


def test_an_unknown_status_is_still_named(outbox):
    Session, settings, deliver = outbox
    queue(Session, settings, "status_changed", Ticket(), AGENT, old="New", new="Parked by ops")
    assert "New status: Parked by ops" in text_of(deliver()[CUSTOMER.email])


def test_customer_text_is_escaped_in_html_and_cannot_add_headers(outbox):
    Session, settings, deliver = outbox
    ticket = Ticket(summary="Broken <script>alert(1)</script>\r\nBcc: victim@example.com")
    queue(Session, settings, "comment_added", ticket, AGENT,
          comment=Comment('<img src=x onerror="alert(2)"> & more', AGENT))
    message = deliver()[CUSTOMER.email]

    assert message["Bcc"] is None
    assert message["Subject"] == "[XC-42] New reply: Broken <script>alert(1)</script> Bcc: victim@example.com"
    html = html_of(message)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt; &amp; more" in html  # markupsafe's spelling of &quot;
    assert '<a href="https://support.example/portal/requests/XC-42/">' in html


def test_the_html_part_says_what_the_text_part_says(outbox):
    from html.parser import HTMLParser

    class Text(HTMLParser):
        words = ""

        def handle_data(self, data):
            self.words += " " + data

    Session, settings, deliver = outbox
    queue(Session, settings, "ticket_created", Ticket(summary="Calls & <queues> drop"), CUSTOMER)
    for message in deliver().values():
        parser = Text()
        parser.feed(html_of(message))
        shown = " ".join(parser.words.split())
        lines = [line.removeprefix("> ").strip() for line in text_of(message).splitlines()]
        said = [line for line in lines if line and line != ">" and not line.startswith(("View the", "https://"))]
        assert len(said) >= 5  # greeting, lead, facts, the no-reply note
        for line in said:  # a fact's "Label: value" is a table row there
            assert line in shown or line.replace(": ", " ", 1) in shown, line


def test_email_of_a_rolled_back_change_is_never_sent(outbox):
    Session, settings, deliver = outbox
    with Session() as session:
        notify(session, settings, "ticket_created", Ticket(key="XC-404"), CUSTOMER)
        session.rollback()  # the ticket change failed after notify()
    with Session() as session:
        assert session.scalar(select(func.count()).select_from(Outbox).where(Outbox.ticket_key == "XC-404")) == 0
    assert deliver() == {}


def test_each_email_has_its_own_message_id_and_a_thread_per_ticket(outbox):
    Session, settings, deliver = outbox
    queue(Session, settings, "ticket_created", Ticket(), CUSTOMER)
    queue(Session, settings, "status_changed", Ticket(), AGENT, old="Waiting for Support", new="In progress")
    messages = deliver()
    ids = {m["Message-ID"] for m in messages.values()}
    assert len(ids) == 2 and all(i.endswith("@support.example>") for i in ids)
    assert {m["References"] for m in messages.values()} == {"<ticket.XC-42@support.example>"}
    assert all(m["Auto-Submitted"] == "auto-generated" for m in messages.values())


def test_unknown_event_is_refused_naming_the_known_ones(outbox):
    Session, settings, _ = outbox
    with Session() as session, pytest.raises(ValueError, match="ticket_created, comment_added, status_changed"):
        notify(session, settings, "ticket_deleted", Ticket(), AGENT)
