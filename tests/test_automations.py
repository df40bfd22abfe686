"""New-ticket automations: the built-in server information, plugins, and failures that never block a ticket."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from textwrap import dedent
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from kbgen import migrations
from kbgen.tickets.automations import AutomationOutcome, registered, run_new_ticket, server_info
from kbgen.db import make_engine, make_sessionmaker
from kbgen.tickets.servers import Server, find_server, import_inventory
from kbgen.settings import Settings

DEMO = Path(__file__).resolve().parent.parent / "demo" / "servers.yml"
TODAY = dt.date(2026, 11, 25)


@pytest.fixture(scope="module")
def inventory(module_database_url):
    """The demo inventory, imported once for the module: automations only read it."""
    engine = make_engine(module_database_url)
    migrations.upgrade(engine)
    Session = make_sessionmaker(engine)
    with Session() as session:
        import_inventory(session, DEMO)
        session.commit()
    yield Session
    engine.dispose()


@pytest.fixture
def session(inventory):
    with inventory() as session:
        yield session


@pytest.fixture
def settings(tmp_path, module_database_url):
    return Settings(project_dir=tmp_path, site_dir=tmp_path / "site", index_dir=tmp_path / "index",
                    data_dir=tmp_path / "data", forms_dir=tmp_path / "forms", content_dir=tmp_path / "content",
                    database_url=module_database_url)


def ticket(product="xcally", organization="Acme Telecom", **values):
    return SimpleNamespace(key="XC-9", product=product, values=values, organization=SimpleNamespace(name=organization))


def info(session, settings, ticket) -> AutomationOutcome | None:
    outcomes = run_new_ticket(session, settings, ticket, [server_info], today=TODAY)
    assert all(not o.failed for o in outcomes), outcomes
    return outcomes[0] if outcomes else None


def test_xcally_ticket_shows_the_server_of_its_license(session, settings):
    outcome = info(session, settings, ticket(license_serial="xc-lic-10421", summary="Calls drop"))
    assert (outcome.name, outcome.title) == ("server_info", "Server information")
    assert outcome.body.splitlines()[:5] == [
        "Hostname: pbx1.acme-telecom.example",
        "Product version: 3.42.1",
        "License expiry: 2027-03-31 (expires in 126 days)",
        "Support plan: Premium",
        "Last contact: 24 Nov 2026, 08:15 UTC",
    ]
    assert "Warning" not in outcome.body


def test_expired_license_is_called_expired(session, settings):
    outcome = info(session, settings, ticket(organization="Globex Contact Services", server_id="srv-19bd02"))
    assert "License expiry: 2026-10-15 (expired 41 days ago)" in outcome.body


def test_the_server_host_field_of_the_xcally_form_finds_the_server(session, settings):
    outcome = info(session, settings, ticket(organization="Globex Contact Services", server_access="yes",
                                             server_host="MOTION.globex.example"))
    assert "Hostname: motion.globex.example" in outcome.body


def test_an_id_in_any_field_is_found(session, settings):
    outcome = info(session, settings, ticket(description="It fails since Monday", reference="srv-7f3a9c"))
    assert "Hostname: pbx1.acme-telecom.example" in outcome.body


def test_license_requests_about_xcally_get_server_information_too(session, settings):
    about_xcally = ticket(product="License", licensed_product="xcally", license_serial="XC-LIC-10990",
                          organization="Initech")
    assert "Hostname: xcally.initech.example" in info(session, settings, about_xcally).body


def test_an_xplany_request_without_a_host_gets_the_organizations_xplany_server(session, settings):
    outcome = info(session, settings, ticket(product="xplany", summary="Adherence is wrong", module="adherence"))
    assert "Hostname: wfm.acme-telecom.example" in outcome.body and "Product version: 2.8.3" in outcome.body
    assert "XPLANY server" in outcome.customer_note
    # Nothing known for a product and nothing named: nothing to tell.
    assert info(session, settings, ticket(product="vidaoo", summary="Rooms do not open")) is None


def test_an_ip_address_finds_the_server_that_lists_it(session, settings):
    outcome = info(session, settings, ticket(product="xplany", server_host="192.0.2.10"))
    assert "Hostname: wfm.acme-telecom.example" in outcome.body


def test_an_unknown_license_is_pointed_out_with_the_organizations_known_servers(session, settings):
    outcome = info(session, settings, ticket(license_serial="XC-NOPE-0001", server_host="pbx.unknown.example"))
    assert outcome.body == (
        "No server in the inventory matches 'XC-NOPE-0001' or 'pbx.unknown.example'. Acme Telecom's known XCALLY "
        "servers: pbx1.acme-telecom.example (XCALLY 3.42.1, license XC-LIC-10421). Ask the customer which one it "
        "is, or update the inventory.")
    assert "kbgen" not in outcome.body and "license_serial" not in outcome.body  # plain words, no internals
    assert not outcome.customer_note


@pytest.mark.parametrize("typed", ["https://PBX1.acme-telecom.example:8443/admin", "pbx1.acme-telecom.example.",
                                   " Pbx1.Acme-Telecom.Example ", "pbx1.acme-telecom.example:5060"])
def test_a_host_typed_with_a_scheme_port_or_capitals_is_found(session, settings, typed):
    outcome = info(session, settings, ticket(server_access="yes", server_host=typed))
    assert "Hostname: pbx1.acme-telecom.example" in outcome.body


def test_without_a_host_the_organizations_only_server_is_used_and_the_customer_is_told(session, settings):
    outcome = info(session, settings, ticket(summary="How do I add a queue?", server_access="no"))
    assert outcome.body.splitlines()[0] == ("The request names no server; this is Acme Telecom's only XCALLY "
                                            "server.")
    assert "Hostname: pbx1.acme-telecom.example" in outcome.body
    assert outcome.customer_note == ("We attached the details the support team keeps about your XCALLY server "
                                     "pbx1.acme-telecom.example (its version, license and support plan) to this "
                                     "request, so nobody needs to ask you for them.")


def test_no_identifier_and_no_known_server_means_no_outcome(session, settings):
    assert info(session, settings, ticket(organization="Nobody Corp", summary="How do I add a queue?")) is None


def test_a_server_of_another_organization_is_flagged(session, settings):
    outcome = info(session, settings, ticket(organization="Initech", license_serial="XC-LIC-10421"))
    assert outcome.body.splitlines()[0] == "Warning: this server belongs to Acme Telecom, not to Initech."


def test_failing_automations_are_recorded_and_the_rest_still_run(session, settings):
    def broken_query(context):
        context.session.execute(text("SELECT * FROM no_such_table"))

    def crashes(context):
        raise RuntimeError("CRM unreachable")

    def wrong_type(context):
        return "server is fine"

    # The ticket's own transaction: a change made before the automations run.
    session.add(Server(license_id="XC-NEW-1", organization="Acme Telecom", hostname="new.acme.example"))
    session.flush()
    outcomes = run_new_ticket(session, settings, ticket(license_serial="XC-LIC-10421"),
                              [broken_query, ("crm", crashes), wrong_type, server_info], today=TODAY)

    assert [(o.name, o.failed) for o in outcomes] == [
        ("broken_query", True), ("crm", True), ("wrong_type", True), ("server_info", False)]
    assert outcomes[1].title == "Automation crm failed" and outcomes[1].body == "RuntimeError: CRM unreachable"
    assert "no_such_table" in outcomes[0].body
    assert "returned str" in outcomes[2].body
    session.commit()  # the failed query did not spoil the ticket's transaction
    assert find_server(session, "XC-NEW-1").hostname == "new.acme.example"


def test_automations_come_from_installed_entry_points(session, settings, tmp_path, monkeypatch):
    plugins = tmp_path / "plugins"
    (plugins / "kbgen_test_plugin-1.0.dist-info").mkdir(parents=True)
    (plugins / "kbgen_test_plugin-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: kbgen-test-plugin\nVersion: 1.0\n")
    (plugins / "kbgen_test_plugin-1.0.dist-info" / "entry_points.txt").write_text(dedent("""
        [kbgen.automations]
        org_greeting = kbgen_test_plugin:greet
        missing = kbgen_test_plugin_absent:run
        """))
    (plugins / "kbgen_test_plugin.py").write_text(dedent("""
        from kbgen.tickets.automations import AutomationOutcome

        def greet(context):
            return AutomationOutcome("any", "Organization", "Ticket from " + context.organization)
        """))
    monkeypatch.syspath_prepend(str(plugins))
    registered.cache_clear()
    try:
        outcomes = {o.name: o for o in run_new_ticket(session, settings, ticket(license_serial="XC-LIC-10421"))}
    finally:
        registered.cache_clear()

    assert outcomes["org_greeting"] == AutomationOutcome("org_greeting", "Organization", "Ticket from Acme Telecom")
    assert outcomes["missing"].failed and "kbgen_test_plugin_absent" in outcomes["missing"].body
    assert not outcomes["server_info"].failed  # the built-in, registered by kbgen's pyproject.toml
