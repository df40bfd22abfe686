"""The accounts model on real SQLite and PostgreSQL: who exists, who may sign in, for how long, how often."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kbgen import accounts, migrations
from kbgen.accounts import AccountError, LoginSession, RateLimit
from kbgen.db import make_engine, make_sessionmaker

PASSWORD = "correct horse battery"


@pytest.fixture
def make_db(database_url):
    engine = make_engine(database_url)
    migrations.upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def ann(make_db):
    with make_db.begin() as db:
        accounts.add_organization(db, "Acme Telecom")
        return accounts.add_user(db, organization="acme telecom", email="  Ann@Acme.example ", role="customer",
                                 password=PASSWORD, name="Ann Example")


def test_a_user_belongs_to_an_organization_and_signs_in_by_any_case_of_email(make_db, ann):
    assert ann.email == "ann@acme.example"
    assert ann.organization.name == "Acme Telecom"
    with make_db.begin() as db:
        user = accounts.authenticate(db, "ANN@acme.example", PASSWORD)
        assert user is not None and user.id == ann.id and user.last_login_at is not None
        assert accounts.authenticate(db, "ann@acme.example", PASSWORD + "!") is None
        assert accounts.authenticate(db, "nobody@acme.example", PASSWORD) is None
        assert accounts.authenticate(db, "not an email", PASSWORD) is None
        stored = db.scalar(select(accounts.User.password_hash).where(accounts.User.id == ann.id))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize("change, message", [
    (dict(email="ANN@acme.example"), "a user with email ann@acme.example already exists"),
    (dict(organization="Globex"), "organization 'Globex' does not exist: add it first with 'kbgen orgs add'"),
    (dict(role="owner"), "role: 'owner' is not one of customer, partner, agent, admin"),
    (dict(password="short"), "password: use at least 8 characters"),
    (dict(email="ann.acme.example"), "email: 'ann.acme.example' is not an email address"),
])
def test_adding_a_user_refuses_with_a_message_that_says_what_to_change(make_db, ann, change, message):
    fields = dict(organization="Acme Telecom", email="bob@acme.example", role="partner", password=PASSWORD) | change
    with pytest.raises(AccountError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        with make_db.begin() as db:
            accounts.add_user(db, **fields)
    with make_db.begin() as db:
        assert [u.email for u in accounts.list_users(db)] == ["ann@acme.example"]


def test_organization_names_are_unique_whatever_their_case(make_db, ann):
    with pytest.raises(AccountError, match="organization 'Acme Telecom' already exists"):
        with make_db.begin() as db:
            accounts.add_organization(db, "ACME TELECOM")
    with make_db.begin() as db:
        accounts.add_organization(db, "Vendor Support")
        accounts.add_user(db, organization="Vendor Support", email="agent@vendor.example", role="agent",
                          password=PASSWORD)
        assert [(org.name, count) for org, count in accounts.list_organizations(db)] == [
            ("Acme Telecom", 1), ("Vendor Support", 1)]
        assert [u.email for u in accounts.list_users(db, "vendor support")] == ["agent@vendor.example"]


def test_a_session_lasts_while_used_and_ends_after_two_idle_weeks(make_db, ann):
    start = dt.datetime(2025, 1, 1, 9, 0)
    with make_db.begin() as db:
        token, _ = accounts.open_session(db, ann, now=start)
        stored = db.scalar(select(LoginSession))
        assert token not in (stored.token_hash, stored.csrf_token)  # only a hash of the cookie is kept
    for day in (10, 20, 30):  # a visit every ten days keeps it alive
        with make_db.begin() as db:
            found = accounts.find_session(db, token, now=start + dt.timedelta(days=day))
            assert found is not None and found.user.organization.name == "Acme Telecom"
    with make_db.begin() as db:
        assert accounts.find_session(db, token, now=start + dt.timedelta(days=45)) is None
    with make_db.begin() as db:
        assert db.scalar(select(LoginSession)) is None  # the expired row is gone


def test_a_session_ends_after_ninety_days_even_when_used_daily(make_db, ann):
    start = dt.datetime(2025, 1, 1)
    with make_db.begin() as db:
        token, _ = accounts.open_session(db, ann, now=start)
    with make_db.begin() as db:
        for day in range(1, 91):
            assert accounts.find_session(db, token, now=start + dt.timedelta(days=day)) is not None
        assert accounts.find_session(db, token, now=start + dt.timedelta(days=91)) is None


def test_signing_out_or_a_new_password_ends_sessions(make_db, ann):
    with make_db.begin() as db:
        first, _ = accounts.open_session(db, ann)
        second, _ = accounts.open_session(db, ann)
        accounts.close_session(db, first)
    with make_db.begin() as db:
        assert accounts.find_session(db, first) is None
        assert accounts.find_session(db, second) is not None
        accounts.set_password(db, "ann@acme.example", "a brand new secret")
    with make_db.begin() as db:
        assert accounts.find_session(db, second) is None
        assert accounts.authenticate(db, "ann@acme.example", "a brand new secret") is not None


def test_failed_sign_ins_are_limited_per_key_within_the_window(make_db):
    limit = RateLimit(attempts=3, window=dt.timedelta(minutes=5))
    now = dt.datetime(2025, 1, 1, 12, 0)
    ann = accounts.login_keys("Ann@Acme.example", "198.51.100.7")
    with make_db.begin() as db:
        for minute in range(3):
            assert accounts.retry_after(db, ann, limit, now + dt.timedelta(minutes=minute)) is None
            accounts.record_failure(db, ann, now + dt.timedelta(minutes=minute))
    with make_db.begin() as db:
        # The oldest failure leaves the window at 12:05: two minutes after 12:03.
        assert accounts.retry_after(db, ann, limit, now + dt.timedelta(minutes=3)) == 120
        # The same email from elsewhere, and elsewhere's other emails, are counted separately.
        assert accounts.retry_after(db, accounts.login_keys("ann@acme.example", "203.0.113.9"), limit,
                                    now + dt.timedelta(minutes=3)) == 120
        assert accounts.retry_after(db, accounts.login_keys("bob@acme.example", "203.0.113.9"), limit,
                                    now + dt.timedelta(minutes=3)) is None
        assert accounts.retry_after(db, ann, limit, now + dt.timedelta(minutes=5, seconds=1)) is None
        accounts.purge(db, limit, now + dt.timedelta(minutes=10))
        assert db.scalar(select(accounts.LoginFailure)) is None


def test_roles_are_defined_once_and_say_who_answers_tickets(make_db, ann):
    assert accounts.ROLES == ("customer", "partner", "agent", "admin")  # stored as these slugs
    assert [r.label for r in accounts.ROLES] == ["Customer", "Partner", "Agent", "Admin"]
    assert accounts.SUPPORT_ROLES == (accounts.Role.AGENT, accounts.Role.ADMIN) and accounts.Role.AGENT.can_answer_tickets
    assert accounts.ADMIN_ROLES == (accounts.Role.ADMIN,) and not accounts.Role.AGENT.can_administer
    assert accounts.role_of("agent") is accounts.Role.AGENT and accounts.role_of("owner") is None
    with make_db.begin() as db:
        accounts.add_organization(db, "Vendor Support")
        sam = accounts.add_user(db, organization="Vendor Support", email="sam@vendor.example", role="agent",
                                password=PASSWORD)
        pat = accounts.add_user(db, organization="Acme Telecom", email="pat@acme.example", role=accounts.Role.PARTNER,
                                password=PASSWORD)
    assert sam.is_agent and not ann.is_agent and not pat.is_agent
    with make_db() as db:  # what was stored is the slug
        assert db.scalar(select(accounts.User.role).where(accounts.User.email == "pat@acme.example")) == "partner"
    with pytest.raises(AccountError, match="role: 'owner' is not one of customer, partner, agent, admin"):
        with make_db.begin() as db:
            accounts.add_user(db, organization="Acme Telecom", email="eve@acme.example", role="owner",
                              password=PASSWORD)
