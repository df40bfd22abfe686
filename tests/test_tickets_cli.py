"""`kbgen tickets list|show|move|comment|statuses`, run through Click on a real database."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from kbgen.cli import cli
from test_tickets_support import ANN, GINA, REPO, SAM, Portal, xcally


@pytest.fixture
def portal(tmp_path, database_url):
    portal = Portal(tmp_path, database_url)
    portal.open(ANN, xcally("Calls drop after 30 seconds", channels=["voice"]))  # XC-1
    portal.open(GINA, xcally("Globex queue is stuck", priority="low"))  # XC-2
    yield portal
    portal.close()


@pytest.fixture
def kbgen(portal, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"KBGEN_DATABASE_URL": portal.settings.database_url, "KBGEN_DATA_DIR": str(portal.settings.data_dir),
           "KBGEN_FORMS_DIR": str(REPO / "forms"), "KBGEN_AGENT_EMAIL": ""}

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)

    return run


def test_list_shows_every_organizations_requests_and_filters(kbgen):
    everything = kbgen("tickets", "list")
    assert everything.exit_code == 0, everything.output
    lines = everything.output.splitlines()
    assert lines[0].split()[:3] == ["KEY", "STATUS", "PRIORITY"]
    assert [line.split()[0] for line in lines[1:]] == ["XC-2", "XC-1"]
    assert "Globex" in everything.output and "Acme Telecom" in everything.output

    acme = kbgen("tickets", "list", "--org", "acme telecom")
    assert [line.split()[0] for line in acme.output.splitlines()[1:]] == ["XC-1"]
    assert "No requests match." in kbgen("tickets", "list", "--status", "Resolved").output
    unknown = kbgen("tickets", "list", "--status", "Done")
    assert unknown.exit_code == 1 and "use one of: Waiting for Support" in unknown.output
    assert "no organization 'Initech'" in kbgen("tickets", "list", "--org", "Initech").output


def test_show_prints_the_fields_with_their_labels_and_the_whole_timeline(kbgen, portal):
    portal.client(SAM).post("/api/tickets/XC-1/comments", json={"text": "Premium customer", "internal": True})
    shown = kbgen("tickets", "show", "xc-1")
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("XC-1  Calls drop after 30 seconds")
    assert "Status:       Waiting for Support (Created, pending on the support team.)" in shown.output
    assert "Where does XCALLY run?: On our servers (on premise)" in shown.output
    assert "Channels affected: Voice" in shown.output
    assert "Sam Agent [internal]: note" in shown.output and "Premium customer" in shown.output
    missing = kbgen("tickets", "show", "XC-99")
    assert missing.exit_code == 1 and "no request XC-99" in missing.output


def test_move_follows_the_workflow_and_names_the_allowed_statuses_when_refused(kbgen, portal):
    moved = kbgen("tickets", "move", "XC-1", "waiting-for-customer", "--as", SAM)
    assert moved.exit_code == 0 and "XC-1: Waiting for Support -> Waiting for customer" in moved.output
    assert portal.ticket("XC-1").events[-1].author_id is not None

    refused = kbgen("tickets", "move", "XC-1", "Closed")
    assert refused.exit_code == 1
    assert "cannot move a request from 'Waiting for customer' to 'Closed'" in refused.output
    assert "'Resolved'" in refused.output
    assert portal.ticket("XC-1").status == "Waiting for customer"
    assert "is not an agent" in kbgen("tickets", "move", "XC-1", "In progress", "--as", ANN).output


def test_comment_from_stdin_or_message_and_internal_notes_stay_internal(kbgen, portal):
    public = kbgen("tickets", "comment", "XC-1", "--as", SAM, input="Which **trunk**?\n")
    assert public.exit_code == 0, public.output
    note = kbgen("tickets", "comment", "XC-1", "--as", SAM, "--internal", "-m", "Reseller owes us money")
    assert note.exit_code == 0 and "internal note added by Sam Agent" in note.output

    customer_view = portal.client(ANN).get("/api/tickets/XC-1").json()
    assert [e["html"] for e in customer_view["timeline"]] == ["<p>Which <strong>trunk</strong>?</p>"]
    assert not any("owes us money" in m.body_text for m in portal.outbox())
    assert any(m.to_email == ANN and "Which **trunk**?" in m.body_text for m in portal.outbox())

    nobody = kbgen("tickets", "comment", "XC-1", "-m", "hello")
    assert nobody.exit_code == 1 and "--as EMAIL" in nobody.output


def test_statuses_lists_each_status_with_its_meaning(kbgen):
    output = kbgen("tickets", "statuses").output
    assert output.splitlines()[0] == "Waiting for Support"
    assert "Escalated to 3rd level support, e.g. bug fixing." in output
    assert "within 14 days after it was resolved" in output
