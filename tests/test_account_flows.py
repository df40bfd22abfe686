"""Invitations, forgot password and sign-up by email domain through the real HTTP app, on SQLite and
PostgreSQL, with the emails delivered over SMTP to a real server and the links read from them."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, select, text, update

from kbgen import accounts
from kbgen.accounts import AccountError, AccountToken, Organization, OrganizationDomain, User, invitations, signup
from kbgen.accounts.audit import AuditEvent
from kbgen.db import utcnow
from kbgen.mail.notifications import Outbox
from kbgen.mail.sender import OutboxSender
from kbgen.web.routes import account as pages
from test_accounts_http import PASSWORD, SITE, browser, make_service, make_settings, password_hash  # noqa: F401

NEW_PASSWORD = "violet otter canoe"


@pytest.fixture
def service(tmp_path, database_url, password_hash, smtp_server):  # noqa: F811
    app = make_service(make_settings(tmp_path, database_url, smtp_url=smtp_server.url), password_hash)
    with app.state.sessionmaker.begin() as db:
        acme = accounts.find_organization(db, "Acme Telecom")
        acme.domains.append(OrganizationDomain(domain="acme.example"))
        acme.signup_enabled = True
        db.add(Organization(name="Closed Corp", domains=[OrganizationDomain(domain="closed.example")]))
    app.state.smtp = smtp_server
    yield app
    app.state.engine.dispose()


def counts(app) -> dict[str, int]:
    """Rows in every table."""
    with app.state.engine.connect() as conn:
        return {table: conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
                for table in inspect(conn).get_table_names()}


def delivered(app) -> list:
    """Send the outbox over SMTP now; every message the SMTP server received so far."""
    OutboxSender(app.state.sessionmaker, app.state.settings).send_due()
    return app.state.smtp.messages


def body(message) -> str:
    return message.get_body(("plain",)).get_content()


def link_in(message) -> str:
    """The service page an email links to, as a path with its query (the link's host is KBGEN_PUBLIC_URL)."""
    found = re.search(r"https://support\.example\.com(/account/\S+)", body(message))
    assert found, body(message)
    return found.group(1)


def last_link(app, to: str) -> str:
    mine = [m for m in delivered(app) if m["X-Rcpt-To"] == to]
    assert mine, f"no email to {to}"
    return link_in(mine[-1])


def db_run(app, work):
    with app.state.sessionmaker.begin() as db:
        return work(db)


def invite(app, email="bob@acme.example", role="customer", org="Acme Telecom", name="Bob", by="sam@vendor.example"):
    def work(db):
        inviter = accounts.find_user(db, by) if by else None
        row = invitations.invite(db, app.state.settings, email=email, role=role, name=name, invited_by=inviter,
                                 organization_id=accounts.find_organization(db, org).id, client="192.0.2.5")
        return row.id
    return db_run(app, work)


def paragraphs(response) -> str:
    found = (re.sub(r"<[^>]+>", "", p) for p in re.findall(r"<p[^>]*>(.*?)</p>", response.text, re.S))
    return " ".join(" ".join(found).replace("&#39;", "'").split())


def field_error(response, name: str) -> str:
    found = re.search(rf'<p class="kbgen-svc-errors" id="kbgen-account-{name}-error">(.*?)</p>', response.text)
    assert found, response.text[-3000:]
    field = re.search(rf'<input id="kbgen-account-{name}"[^>]*>', response.text).group(0)
    assert 'aria-invalid="true"' in field and f"kbgen-account-{name}-error" in field
    return found.group(1).replace("&#39;", "'")


def accept(client, path, name="Bob Builder", password=NEW_PASSWORD, confirm=None):
    return client.post(path, data={"name": name, "password": password,
                                   "confirm": password if confirm is None else confirm}, follow_redirects=False)


# -- invitations ------------------------------------------------------------------------------------


def test_an_invitation_is_emailed_and_accepting_it_signs_the_person_in(service):
    invite(service)
    [message] = delivered(service)
    assert message["X-Rcpt-To"] == "bob@acme.example"
    assert message["Subject"] == "Invitation to the Acme Telecom support portal"
    words = " ".join(body(message).split())
    assert "Sam Agent at Vendor Support invited you to the Acme Telecom support portal, with the role Customer" in words
    assert re.search(r"The link works once, until \d+ \w+ \d{4}, \d\d:\d\d UTC\.", words)
    path = link_in(message)

    client = browser(service)
    page = client.get(path)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    shown = paragraphs(page)
    assert "Sam Agent at Vendor Support invited you to the Acme Telecom support portal" in shown
    assert 'autocomplete="new-password"' in page.text and 'autocomplete="name"' in page.text
    assert 'value="Bob"' in page.text  # the name the inviter gave, to keep or change

    answer = accept(client, path)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    me = client.get("/api/me").json()
    assert me["user"] | {"id": 0} == {"id": 0, "email": "bob@acme.example", "name": "Bob Builder", "role": "customer"}
    assert me["organization"]["name"] == "Acme Telecom"
    with service.state.sessionmaker() as db:
        actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions == ["invitation.sent", "invitation.accepted"]
        assert invitations.open_invitations(db) == []

    again = browser(service).get(path)
    assert again.status_code == 410
    assert "This invitation was already used: sign in, or reset your password." in paragraphs(again)
    before = counts(service)
    assert accept(browser(service), path, name="Mallory").status_code == 410
    assert counts(service) == before


@pytest.mark.parametrize("form, field, message", [
    ({"password": "short"}, "password", "Use at least 8 characters."),
    ({"password": "password123"}, "password", "This password is among those leaked and guessed most often"),
    ({"password": "bob@acme.example"}, "password", "Do not use your email address in your password."),
    ({"password": "BOB@ACME.EXAMPLE"}, "password", "Do not use your email address in your password."),
    ({"confirm": "violet otter canoe!"}, "confirm", "The two passwords differ; type the same password in both fields."),
    ({"name": "B" * 201}, "name", "Use at most 200 characters."),
    ({"name": "   "}, "name", "Enter your name"),
])
def test_bad_input_re_renders_the_invitation_form_next_to_the_field_and_changes_nothing(service, form, field, message):
    invite(service)
    path = link_in(delivered(service)[0])
    before = counts(service)
    values = {"name": "Bob Builder", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD} | form
    if "password" in form and "confirm" not in form:
        values["confirm"] = form["password"]
    answer = browser(service).post(path, data=values)
    assert answer.status_code == 422, (path, answer.text[-1500:])
    assert field_error(answer, field).startswith(message)
    if field != "name":
        assert 'value="Bob Builder"' in answer.text  # what they typed stays
    assert "kbgen_session" not in answer.cookies
    assert counts(service) == before
    assert accept(browser(service), path).status_code == 303  # the link still works


def test_links_that_cannot_be_used_say_why(service):
    first = invite(service)
    old_path = link_in(delivered(service)[-1])
    # Sent again: a new link; the old one is revoked.
    db_run(service, lambda db: invitations.resend(db, service.state.settings, first,
                                                  by=accounts.find_user(db, "sam@vendor.example")))
    new_path = last_link(service, "bob@acme.example")
    assert new_path != old_path
    client = browser(service)
    withdrawn = client.get(old_path)
    assert withdrawn.status_code == 410
    assert "This invitation was withdrawn: ask Sam Agent at Vendor Support or the support team" in paragraphs(withdrawn)

    [row] = db_run(service, lambda db: [r.id for r in invitations.open_invitations(db)])
    db_run(service, lambda db: db.execute(update(AccountToken).where(AccountToken.id == row)
                                          .values(expires_at=accounts.utcnow() - dt.timedelta(minutes=1))))
    expired = client.get(new_path)
    assert expired.status_code == 410
    assert re.search(r"This invitation expired on \d+ \w+ \d{4}, \d\d:\d\d UTC: ask Sam Agent at Vendor Support "
                     r"or the support team to send a new one\.", paragraphs(expired))
    assert "mailto:support@localhost" in expired.text  # a way to ask for help without an account

    unknown = client.get(pages.service_page("invitation", token="not-a-real-token"))
    assert unknown.status_code == 404 and "This invitation link is not valid" in paragraphs(unknown)
    assert client.get(pages.service_page("invitation", token="x" * 5000)).status_code == 404
    assert client.get(pages._path("invitation")).status_code == 404

    before = counts(service)
    for path, status in ((old_path, 410), (new_path, 410), ("/account/invitation/?token=nope", 404)):
        assert accept(client, path).status_code == status
    assert counts(service) == before

    revoked = invite(service, email="carol@acme.example", name="")
    path = last_link(service, "carol@acme.example")
    db_run(service, lambda db: invitations.revoke(db, revoked))
    assert client.get(path).status_code == 410
    with service.state.sessionmaker() as db:
        open_now = invitations.open_invitations(db)
        assert [(r.email, r.state(accounts.utcnow())) for r in open_now] == [("bob@acme.example", "expired")]
        actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions == ["invitation.sent", "invitation.resent", "invitation.sent", "invitation.revoked"]


@pytest.mark.parametrize("changes, message", [
    ({"email": "not an address"}, "email: 'not an address' is not an email address like name@example.com"),
    ({"role": "overlord"}, "role: 'overlord' is not a role; choose one of customer, partner, agent, admin"),
    ({"email": "ann@acme.example"}, "email: ann@acme.example is already a member of Acme Telecom"),
    ({"email": "sam@vendor.example"}, "email: sam@vendor.example is already a member of another organization: "
                                      "move them from the admin pages instead"),
    ({"org": "Closed Corp"}, "organization: Closed Corp is deactivated; reactivate it before inviting people to it"),
    ({"organization_id": 9999}, "organization: there is no organization with id 9999; choose one from the list"),
    ({"name": "x" * 201}, "name: use at most 200 characters"),
])
def test_invitations_that_cannot_be_sent_are_refused_with_what_to_do(service, changes, message):
    db_run(service, lambda db: setattr(accounts.find_organization(db, "Closed Corp"), "deactivated_at",
                                       accounts.utcnow()))
    before = counts(service)
    values = {"email": "bob@acme.example", "role": "customer", "org": "Acme Telecom", "name": "Bob"} | changes

    def work(db):
        org_id = values.pop("organization_id", None) or accounts.find_organization(db, values.pop("org")).id
        values.pop("org", None)
        invitations.invite(db, service.state.settings, organization_id=org_id, **values)

    with pytest.raises(AccountError) as refused:
        db_run(service, work)
    assert str(refused.value).startswith(message)
    assert counts(service) == before


def test_kbgen_users_invite_emails_the_link_and_never_prints_it(tmp_path, database_url, monkeypatch):
    from kbgen.cli import cli

    monkeypatch.chdir(tmp_path)
    env = {"KBGEN_DATABASE_URL": database_url, "KBGEN_SECRET_KEY": "test-secret",
           "KBGEN_PUBLIC_URL": "https://support.example.com"}

    def run(*args):
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    run("orgs", "add", "Acme Telecom")
    done = run("users", "invite", "--org", "acme telecom", "--email", "Bob@Acme.example", "--role", "partner")
    assert done.exit_code == 0, done.output
    assert re.fullmatch(r"Invitation emailed to bob@acme\.example; it expires on \d+ \w+ \d{4}, \d\d:\d\d UTC\.\n",
                        done.output)
    assert "token" not in done.output and "http" not in done.output
    refused = run("users", "invite", "--org", "Nobody", "--email", "x@acme.example", "--role", "customer")
    assert refused.exit_code == 1 and refused.output == ("Error: organization 'Nobody' does not exist: "
                                                         "see 'kbgen orgs list'\n")
    bad_role = run("users", "invite", "--org", "Acme Telecom", "--email", "x@acme.example", "--role", "boss")
    assert bad_role.exit_code == 1 and "role: 'boss' is not a role" in bad_role.output
    from kbgen.db import make_engine
    engine = make_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT to_email, subject, body_text FROM outbox")).all()
    engine.dispose()
    assert [(r[0], r[1]) for r in rows] == [("bob@acme.example", "Invitation to the Acme Telecom support portal")]
    assert "with the role Partner" in " ".join(rows[0][2].split())
    assert "The support team invited you" in " ".join(rows[0][2].split())


# -- forgot password ---------------------------------------------------------------------------------


def forgot(client, email):
    return client.post(pages.service_page("forgot_password"), data={"email": email})


def test_forgot_password_answers_the_same_for_every_address_and_emails_only_accounts(service):
    known, unknown = forgot(browser(service), "ANN@acme.example"), forgot(browser(service), "nobody@acme.example")
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert "If an account exists for that address, we sent it a link to choose a new password. The link works " \
           "for 60 minutes." in paragraphs(known)
    [message] = delivered(service)
    assert message["X-Rcpt-To"] == "ann@acme.example" and message["Subject"] == "Reset your support portal password"
    words = " ".join(body(message).split())
    assert "Someone, probably you, asked to reset the password of your account ann@acme.example" in words
    assert "If it was not you, ignore this email; your password stays as it is." in words
    assert PASSWORD not in body(message)

    bad = forgot(browser(service), "not an address")
    assert bad.status_code == 422 and field_error(bad, "email") == "Enter an email address like name@example.com."


def test_a_reset_sets_the_password_ends_every_other_session_and_signs_this_browser_in(service):
    elsewhere = browser(service, address="203.0.113.4")
    assert elsewhere.post("/api/session", json={"email": "ann@acme.example", "password": PASSWORD}).status_code == 200
    forgot(browser(service), "ann@acme.example")
    path = last_link(service, "ann@acme.example")

    client = browser(service)
    page = client.get(path)
    assert page.status_code == 200 and 'value="ann@acme.example"' in page.text
    before = counts(service)
    weak = client.post(path, data={"password": "ann@acme.example", "confirm": "ann@acme.example"})
    assert weak.status_code == 422 and field_error(weak, "password").startswith("Do not use your email address")
    differ = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "?"})
    assert differ.status_code == 422 and field_error(differ, "confirm").startswith("The two passwords differ")
    assert counts(service) == before
    assert elsewhere.get("/api/me").status_code == 200  # a refused reset ends nothing

    done = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 200 and "Every other browser that was signed in" in paragraphs(done)
    assert client.get("/api/me").json()["user"]["email"] == "ann@acme.example"
    assert elsewhere.get("/api/me").status_code == 401
    assert browser(service).post("/api/session", json={"email": "ann@acme.example",
                                                       "password": PASSWORD}).status_code == 401
    assert browser(service).post("/api/session", json={"email": "ann@acme.example",
                                                       "password": NEW_PASSWORD}).status_code == 200
    used = browser(service).post(path, data={"password": "another fine password", "confirm": "another fine password"})
    assert used.status_code == 410 and "already used" in paragraphs(used)
    with service.state.sessionmaker() as db:
        actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["password.reset_requested", "password.reset_completed", "sign_in.failed"]


def test_an_expired_or_replaced_reset_link_is_refused_and_changes_nothing(service):
    forgot(browser(service), "ann@acme.example")
    first = last_link(service, "ann@acme.example")
    forgot(browser(service), "ann@acme.example")
    second = last_link(service, "ann@acme.example")
    db_run(service, lambda db: db.execute(update(AccountToken).values(expires_at=accounts.utcnow()
                                                                      - dt.timedelta(seconds=1))))
    before = counts(service)
    client = browser(service)
    replaced = client.post(first, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert replaced.status_code == 410 and "replaced by a newer one" in paragraphs(replaced)
    expired = client.post(second, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert expired.status_code == 410 and "This password reset link expired on" in paragraphs(expired)
    assert client.get(pages.service_page("reset_password", token="nope")).status_code == 404
    assert counts(service) == before


def test_reset_emails_are_limited_per_address_and_per_client(tmp_path, database_url, password_hash, smtp_server):  # noqa: F811
    app = make_service(make_settings(tmp_path, database_url, smtp_url=smtp_server.url,
                                     account_emails_per_client_per_hour=4), password_hash)
    app.state.smtp = smtp_server
    try:
        db_run(app, lambda db: db.add(User(organization=accounts.find_organization(db, "Acme Telecom"),
                                           email="cid@acme.example", role="customer", password_hash=password_hash)))
        client = browser(app)
        answers = {forgot(client, "ann@acme.example").text for _ in range(5)}
        assert len(answers) == 1  # the same answer when limited: nothing tells a stranger
        assert [m["X-Rcpt-To"] for m in delivered(app)] == ["ann@acme.example"] * 3  # account_emails_per_hour
        # The client address has its own limit (4): one more email from it, then none, whatever the address.
        for email in ("sam@vendor.example", "cid@acme.example"):
            forgot(client, email)
        assert [m["X-Rcpt-To"] for m in delivered(app)][3:] == ["sam@vendor.example"]
        # From another address, Cid still gets a link; the limit holds back emails, never sign-in.
        forgot(browser(app, address="203.0.113.77"), "cid@acme.example")
        assert delivered(app)[-1]["X-Rcpt-To"] == "cid@acme.example"
        assert browser(app).post("/api/session", json={"email": "ann@acme.example",
                                                       "password": PASSWORD}).status_code == 200
    finally:
        app.state.engine.dispose()


def test_no_reset_link_for_a_deactivated_account(service):
    db_run(service, lambda db: setattr(accounts.find_user(db, "ann@acme.example"), "deactivated_at",
                                       accounts.utcnow()))
    before = counts(service)
    assert forgot(browser(service), "ann@acme.example").status_code == 200
    assert counts(service) == before and delivered(service) == []


# -- sign-up by email domain ---------------------------------------------------------------------------


def sign_up(client, email, name="Dana Doe", password=NEW_PASSWORD, confirm=None):
    return client.post(pages.service_page("sign_up"), data={"email": email, "name": name, "password": password,
                                                            "confirm": password if confirm is None else confirm})


def test_sign_up_by_domain_confirms_the_address_then_signs_in(service):
    client = browser(service)
    sent = sign_up(client, "Dana@Acme.example")
    assert sent.status_code == 200
    assert "If sign-up is open for your address, we sent you a link to confirm it" in paragraphs(sent)
    for email in ("dana@closed.example", "dana@elsewhere.example", "ann@acme.example"):  # closed, unknown, existing
        assert sign_up(browser(service), email).text == sent.text
    [message] = delivered(service)
    assert message["X-Rcpt-To"] == "dana@acme.example"
    assert message["Subject"] == "Confirm your email address for the Acme Telecom support portal"
    assert NEW_PASSWORD not in body(message) and NEW_PASSWORD not in message.get_body(("html",)).get_content()
    path = link_in(message)

    confirm_page = client.get(path)
    assert confirm_page.status_code == 200 and "dana@acme.example" in paragraphs(confirm_page)
    assert counts(service)["users"] == 2  # opening the link alone creates nothing (mail scanners open links)
    done = client.post(path, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/"
    me = client.get("/api/me").json()
    assert (me["user"]["email"], me["user"]["name"], me["user"]["role"], me["organization"]["name"]) == (
        "dana@acme.example", "Dana Doe", "customer", "Acme Telecom")
    assert client.post(path).status_code == 410
    with service.state.sessionmaker() as db:
        assert db.scalar(select(AccountToken.password_hash)) is None  # the account holds it now
        actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["signup.requested", "signup.verified"]


def test_a_sign_up_that_needs_approval_cannot_sign_in_until_an_admin_approves(service):
    def set_up(db):
        accounts.find_organization(db, "Acme Telecom").signup_requires_approval = True
        vendor = accounts.find_user(db, "sam@vendor.example").organization
        db.add_all([User(organization=vendor, email="ada@vendor.example", name="Ada Admin", role="admin",
                         password_hash="x"),
                    User(organization=vendor, email="old@vendor.example", name="Old Admin", role="admin",
                         password_hash="x", deactivated_at=utcnow())])
    db_run(service, set_up)
    client = browser(service)
    sign_up(client, "dana@acme.example")
    waiting = client.post(last_link(service, "dana@acme.example"), follow_redirects=False)
    assert waiting.status_code == 200 and "kbgen_session" not in waiting.cookies
    assert "Acme Telecom has an administrator approve each new account first" in paragraphs(waiting)
    told = {m["X-Rcpt-To"]: m for m in delivered(service)[1:]}
    assert sorted(told) == ["ada@vendor.example", "dana@acme.example"]  # not the agent, not a deactivated admin
    assert told["dana@acme.example"]["Subject"] == ("Your sign-up for the Acme Telecom support portal is waiting "
                                                    "for approval")
    to_admin = told["ada@vendor.example"]
    assert to_admin["Subject"] == "A new account for Acme Telecom waits for your approval: Dana Doe"
    dana = db_run(service, lambda db: accounts.find_user(db, "dana@acme.example").id)
    assert f"https://support.example.com/admin/users/{dana}/" in body(to_admin)
    assert "Dana Doe (dana@acme.example) signed up" in body(to_admin) and NEW_PASSWORD not in body(to_admin)
    refused = client.post("/api/session", json={"email": "dana@acme.example", "password": NEW_PASSWORD})
    assert refused.status_code == 403 and "waiting for an administrator's approval" in refused.json()["detail"]

    def approve(db):
        signup.approve(db, service.state.settings, accounts.find_user(db, "dana@acme.example"),
                       by=accounts.find_user(db, "sam@vendor.example"), client="192.0.2.1")
    db_run(service, approve)
    approved = delivered(service)[-1]
    assert approved["Subject"] == "Your account for the Acme Telecom support portal is approved"
    assert "https://support.example.com/login/" in body(approved)
    assert client.post("/api/session", json={"email": "dana@acme.example", "password": NEW_PASSWORD}).status_code == 200
    with pytest.raises(AccountError, match="is not waiting for approval"):
        db_run(service, approve)


@pytest.mark.parametrize("form, field, message", [
    ({"email": "dana"}, "email", "Enter an email address like name@example.com."),
    ({"name": ""}, "name", "Enter your name"),
    ({"password": "dana@acme.example"}, "password", "Do not use your email address in your password."),
    ({"email": "d.doe@acme.example", "password": "Dana Doe rocks"}, "password",
     "Do not use your name in your password."),
    ({"password": "qwertyuiop"}, "password", "This password is among those leaked"),
    ({"confirm": "something else"}, "confirm", "The two passwords differ"),
])
def test_sign_up_refusals_name_the_field_and_send_nothing(service, form, field, message):
    before = counts(service)
    values = {"email": "dana@acme.example", "name": "Dana Doe", "password": NEW_PASSWORD} | form
    answer = sign_up(browser(service), values["email"], values["name"], values["password"], form.get("confirm"))
    assert answer.status_code == 422 and field_error(answer, field).startswith(message)
    assert f'value="{values["email"]}"' in answer.text  # what they typed stays
    assert f'value="{values["name"]}"' in answer.text or not values["name"]
    assert NEW_PASSWORD not in answer.text  # a password is never sent back
    assert counts(service) == before and delivered(service) == []


def test_a_confirmation_link_stops_working_when_sign_up_closes_or_expires(service):
    sign_up(browser(service), "dana@acme.example")
    path = last_link(service, "dana@acme.example")
    db_run(service, lambda db: setattr(accounts.find_organization(db, "Acme Telecom"), "signup_enabled", False))
    before = counts(service)
    closed = browser(service).post(path)
    assert closed.status_code == 409 and "sign-up for this address is closed now" in paragraphs(closed).lower()
    db_run(service, lambda db: db.execute(update(AccountToken).values(expires_at=accounts.utcnow()
                                                                      - dt.timedelta(seconds=1))))
    expired = browser(service).get(path)
    assert expired.status_code == 410 and "This confirmation link expired on" in paragraphs(expired)
    assert counts(service) == before


# -- what every flow shares ----------------------------------------------------------------------------


def test_links_are_stored_only_as_hashes(service):
    invite(service)
    forgot(browser(service), "ann@acme.example")
    sign_up(browser(service), "dana@acme.example")
    raw = [parse_token(link_in(m)) for m in delivered(service)]
    assert len(raw) == 3 and all(len(t) >= 40 for t in raw)
    with service.state.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            if table == "outbox":  # the email itself, which is what carries the link
                continue
            dump = repr(conn.execute(text(f'SELECT * FROM "{table}"')).all())
            assert not any(t in dump for t in raw), table
        hashes = {r[0] for r in conn.execute(text("SELECT token_hash FROM account_tokens"))}
    assert hashes == {accounts._digest(t) for t in raw}


def parse_token(path: str) -> str:
    return urlsplit(path).query.removeprefix("token=")


@pytest.mark.parametrize("name", ["invitation", "forgot_password", "reset_password", "sign_up", "verify_sign_up"])
@pytest.mark.parametrize("origin", [{"Origin": "https://evil.example"}, {"Origin": "null"},
                                    {"Referer": "https://evil.example/phish.html"}])
def test_cross_site_posts_are_refused_with_or_without_a_session(service, name, origin):
    invite(service)
    path = pages.service_page(name, token=parse_token(link_in(delivered(service)[0])))
    before = counts(service)
    from starlette.testclient import TestClient
    stranger = TestClient(service, base_url=SITE, headers=origin)
    answer = stranger.post(path, data={"email": "ann@acme.example", "name": "Eve", "password": NEW_PASSWORD,
                                       "confirm": NEW_PASSWORD})
    assert answer.status_code == 403 and answer.json()["detail"].startswith("Cross-site request refused")
    assert counts(service) == before
