"""The server inventory: importing YAML and CSV exports, updating by ID, and errors that point at the line."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from textwrap import dedent

import pytest
from click.testing import CliRunner

from kbgen import migrations
from kbgen.cli import cli
from kbgen.db import make_engine, make_sessionmaker
from kbgen.tickets.servers import InventoryError, find_server, find_server_by_host, import_inventory, list_servers

DEMO = Path(__file__).resolve().parent.parent / "demo" / "servers.yml"


@pytest.fixture
def db(database_url):
    engine = make_engine(database_url)
    migrations.upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(dedent(text).lstrip("\n"))
    return path


def test_demo_inventory_imports_and_a_second_import_updates(db):
    with db() as session:
        first = import_inventory(session, DEMO)
        session.commit()
    assert (first.created, first.updated) == (4, 0)
    with db() as session:
        again = import_inventory(session, DEMO)
        session.commit()
        assert (again.created, again.updated) == (0, 4)
        assert len(list_servers(session)) == 4
        acme = find_server(session, " xc-lic-10421 ")
        assert acme.hostname == "pbx1.acme-telecom.example"
        assert acme.product == "xcally" and acme.product_version == "3.42.1"
        assert acme.license_expiry == dt.date(2027, 3, 31)
        assert acme.last_contact == dt.datetime(2026, 11, 24, 8, 15)
        assert acme.extra == {"channels": ["voice", "chat", "email"], "seats": 120}
        assert find_server(session, "srv-a41c77").product == "xplany"


def test_csv_export_updates_by_server_id_and_keeps_unknown_columns(db, tmp_path):
    with db() as session:
        import_inventory(session, DEMO)
        session.commit()
    csv_file = write(tmp_path, "export.csv", """
        Server ID,Hostname,Product Version,License Expiry,Last Contact,Datacenter
        srv-19bd02,motion2.globex.example,3.44.0,2028-01-31,2026-11-25 10:00:00+01:00,Milan
        srv-new001,new.example,3.44.0,,,Rome
        """)
    with db() as session:
        result = import_inventory(session, csv_file)
        session.commit()
        assert (result.created, result.updated, result.extra_fields) == (1, 1, ["datacenter"])
        globex = find_server(session, "XC-LIC-10587")  # same row, found by its license too
        assert globex.hostname == "motion2.globex.example" and globex.product_version == "3.44.0"
        assert globex.license_expiry == dt.date(2028, 1, 31)
        assert globex.last_contact == dt.datetime(2026, 11, 25, 9, 0)  # stored as UTC
        assert globex.support_plan == "Standard"  # a column the export lacks keeps its value
        assert globex.extra == {"datacenter": "Milan"}
        assert find_server(session, "srv-new001").license_expiry is None


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(db, tmp_path):
    bad = write(tmp_path, "servers.yml", """
        - license_id: XC-1
          hostname: ok.example
        - hostname: no-id.example
          product: XCALLY
        - license_id: XC-3
          license_expiry: 31/12/2027
        - license_id: XC-4
          product: Asterisk
        - license_id: xc-1
        """)
    with db() as session, pytest.raises(InventoryError) as caught:
        import_inventory(session, bad)
    messages = [str(p) for p in caught.value.problems]
    assert messages == [
        f"{bad}:3: missing license_id and server_id; give at least one of them, so the row can be updated later",
        f"{bad}:6: license_expiry '31/12/2027' is not a valid date; the date the license ends, YYYY-MM-DD",
        f"{bad}:8: unknown product 'Asterisk'; one of: XCALLY, XPLANY, WitiOp, Vidaoo, License",
        f"{bad}:9: license_id 'xc-1' appears twice; first at line 1",
    ]
    with db() as session:
        assert list_servers(session) == []


def test_csv_errors_name_the_csv_line(db, tmp_path):
    bad = write(tmp_path, "servers.csv", """
        license_id,hostname,license_expiry
        XC-1,a.example,2027-01-01
        XC-2,b.example,soon
        """)
    with db() as session, pytest.raises(InventoryError, match=r"servers.csv:3: license_expiry 'soon' is not a valid date"):
        import_inventory(session, bad)


def test_yaml_ids_keep_their_leading_zeros(db, tmp_path):
    path = write(tmp_path, "servers.yml", """
        - license_id: 00123
          server_id: 0x1F
        """)
    with db() as session:
        import_inventory(session, path)
        session.commit()
        server = find_server(session, "00123")
        assert (server.license_id, server.server_id) == ("00123", "0x1F")


def test_ids_of_two_different_servers_in_one_row_are_refused(db, tmp_path):
    with db() as session:
        import_inventory(session, DEMO)
        session.commit()
    path = write(tmp_path, "mixed.yml", """
        - license_id: XC-LIC-10421
          server_id: srv-19bd02
        """)
    with db() as session, pytest.raises(InventoryError, match="belong to two different servers"):
        import_inventory(session, path)


def test_host_lookup_prefers_the_ticket_organization(db, tmp_path):
    path = write(tmp_path, "servers.yml", """
        - {license_id: A-1, hostname: pbx.local, organization: Acme}
        - {license_id: B-1, hostname: PBX.local, organization: Globex}
        """)
    with db() as session:
        import_inventory(session, path)
        session.commit()
        assert find_server_by_host(session, "pbx.local", prefer_organization="globex").license_id == "B-1"
        assert find_server_by_host(session, "pbx.local").license_id == "A-1"


def test_not_a_list_or_unknown_format_says_what_to_write(tmp_path, db):
    mapping = write(tmp_path, "servers.yml", "license_id: XC-1\n")
    with db() as session, pytest.raises(InventoryError, match=r"servers.yml:1: expected a list of servers"):
        import_inventory(session, mapping)
    other = write(tmp_path, "servers.json", "[]")
    with db() as session, pytest.raises(InventoryError, match=r"unknown inventory format '.json'"):
        import_inventory(session, other)


# -- the commands -----------------------------------------------------------------------------


def run(tmp_path: Path, database_url: str, *args: str):
    env = {"KBGEN_DATABASE_URL": database_url, "KBGEN_DATA_DIR": str(tmp_path / "data"), "KBGEN_SMTP_URL": ""}
    return CliRunner().invoke(cli, [*args, "--project", str(tmp_path)], env=env, catch_exceptions=False)


def test_cli_imports_lists_and_reports_updates(tmp_path, database_url):
    first = run(tmp_path, database_url, "servers", "import", str(DEMO))
    assert first.exit_code == 0, first.output
    assert first.output == "imported 4 servers (0 updated)\n"
    second = run(tmp_path, database_url, "servers", "import", str(DEMO))
    assert second.output == "imported 4 servers (4 updated)\n"

    listing = run(tmp_path, database_url, "servers", "list", "--organization", "acme telecom")
    lines = listing.output.splitlines()
    assert lines[0].split() == ["LICENSE", "SERVER", "ORGANIZATION", "HOSTNAME", "VERSION", "EXPIRES", "PLAN",
                                "LAST", "CONTACT"]
    assert len(lines) == 3 and "pbx1.acme-telecom.example" in listing.output and "Globex" not in listing.output


def test_cli_import_errors_exit_nonzero_with_lines(tmp_path, database_url):
    bad = write(tmp_path, "bad.yml", "- hostname: x.example\n")
    result = run(tmp_path, database_url, "servers", "import", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:1: missing license_id and server_id" in result.output
    assert "1 problem(s) in" in result.output and "nothing was imported" in result.output
