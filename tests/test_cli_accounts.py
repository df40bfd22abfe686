"""`kbgen orgs`, `kbgen users` and `kbgen db` on real SQLite and PostgreSQL databases."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kbgen import accounts, migrations
from kbgen.cli import cli
from kbgen.db import make_engine, make_sessionmaker

PASSWORD = "correct horse battery"


@pytest.fixture
def kbgen(tmp_path, database_url, monkeypatch):
    """Runs `kbgen ARGS` in a fresh project folder on the test database; returns the click Result."""
    monkeypatch.chdir(tmp_path)
    env = {"KBGEN_DATABASE_URL": database_url, "KBGEN_SECRET_KEY": "test-secret"}

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)

    run.database_url = database_url
    return run


def test_orgs_add_and_list(kbgen):
    assert kbgen("orgs", "list").output == "No organizations yet: add one with 'kbgen orgs add NAME'.\n"
    added = kbgen("orgs", "add", "Acme Telecom")
    assert added.exit_code == 0 and added.output == "Added organization 'Acme Telecom' (id 1).\n"
    kbgen("orgs", "add", "Vendor Support")
    listed = kbgen("orgs", "list")
    assert listed.output.splitlines() == ["ID  NAME            USERS", "1   Acme Telecom    0", "2   Vendor Support  0"]


def test_a_duplicate_organization_is_an_error(kbgen):
    kbgen("orgs", "add", "Acme Telecom")
    again = kbgen("orgs", "add", "acme telecom")
    assert again.exit_code == 1
    assert again.output == "Error: organization 'Acme Telecom' already exists\n"


def test_users_add_asks_for_the_password_twice_and_the_user_can_sign_in(kbgen):
    kbgen("orgs", "add", "Acme Telecom")
    added = kbgen("users", "add", "--org", "Acme Telecom", "--email", "Ann@Acme.example", "--role", "customer",
                  "--name", "Ann Example", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    assert added.output.endswith("Added customer ann@acme.example to 'Acme Telecom' (id 1).\n")
    assert PASSWORD not in added.output  # the prompt does not echo it

    engine = make_engine(kbgen.database_url)
    with make_sessionmaker(engine).begin() as db:
        assert accounts.authenticate(db, "ann@acme.example", PASSWORD).name == "Ann Example"
    engine.dispose()


def test_users_add_reads_the_password_from_stdin_and_users_list_shows_everyone(kbgen):
    kbgen("orgs", "add", "Acme Telecom")
    kbgen("orgs", "add", "Vendor Support")
    for org, email, role in [("Acme Telecom", "ann@acme.example", "customer"),
                             ("Acme Telecom", "pat@acme.example", "partner"),
                             ("Vendor Support", "sam@vendor.example", "agent")]:
        result = kbgen("users", "add", "--org", org, "--email", email, "--role", role, "--password-stdin",
                       input=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
    lines = kbgen("users", "list").output.splitlines()
    assert lines[0].split() == ["ID", "EMAIL", "NAME", "ROLE", "ORGANIZATION", "LAST", "SIGN-IN"]
    assert [line.split()[1:3] for line in lines[1:]] == [
        ["ann@acme.example", "customer"], ["pat@acme.example", "partner"], ["sam@vendor.example", "agent"]]
    only_vendor = kbgen("users", "list", "--org", "vendor support").output.splitlines()
    assert len(only_vendor) == 2 and "sam@vendor.example" in only_vendor[1]


@pytest.mark.parametrize("args, stdin, message, code", [
    (["--org", "Globex", "--email", "x@globex.example", "--role", "customer"], PASSWORD,
     "Error: organization 'Globex' does not exist: add it first with 'kbgen orgs add'", 1),
    (["--org", "Acme Telecom", "--email", "ANN@acme.example", "--role", "customer"], PASSWORD,
     "Error: a user with email ann@acme.example already exists", 1),
    (["--org", "Acme Telecom", "--email", "bob@acme.example", "--role", "owner"], PASSWORD,
     "Error: Invalid value for '--role': 'owner' is not one of customer, partner, agent, admin", 2),
    (["--org", "Acme Telecom", "--email", "bob@acme.example", "--role", "customer"], "short",
     "Error: password: use at least 8 characters", 1),
    (["--org", "Acme Telecom", "--email", "bob@acme.example", "--role", "customer"], "",
     "Error: --password-stdin: standard input held no password", 1),
])
def test_users_add_errors_say_what_to_fix(kbgen, args, stdin, message, code):
    kbgen("orgs", "add", "Acme Telecom")
    kbgen("users", "add", "--org", "Acme Telecom", "--email", "ann@acme.example", "--role", "customer",
          "--password-stdin", input=PASSWORD + "\n")
    result = kbgen("users", "add", *args, "--password-stdin", input=stdin + "\n")
    assert result.exit_code == code
    assert result.output.strip().splitlines()[-1] == message
    assert len(kbgen("users", "list").output.splitlines()) == 2  # header and Ann: nothing was added


def test_users_set_password_replaces_the_password_and_signs_the_user_out(kbgen):
    kbgen("orgs", "add", "Acme Telecom")
    kbgen("users", "add", "--org", "Acme Telecom", "--email", "ann@acme.example", "--role", "customer",
          "--password-stdin", input=PASSWORD + "\n")
    engine = make_engine(kbgen.database_url)
    with make_sessionmaker(engine).begin() as db:
        token, _ = accounts.open_session(db, accounts.authenticate(db, "ann@acme.example", PASSWORD))

    changed = kbgen("users", "set-password", "--email", "ANN@acme.example", input="a new secret\na new secret\n")
    assert changed.exit_code == 0
    assert changed.output.endswith("New password set for ann@acme.example; their open sessions are closed.\n")
    with make_sessionmaker(engine).begin() as db:
        assert accounts.find_session(db, token) is None
        assert accounts.authenticate(db, "ann@acme.example", PASSWORD) is None
        assert accounts.authenticate(db, "ann@acme.example", "a new secret") is not None
    engine.dispose()

    unknown = kbgen("users", "set-password", "--email", "bob@acme.example", "--password-stdin", input="whatever1\n")
    assert unknown.exit_code == 1
    assert unknown.output == "Error: no user with email 'bob@acme.example': see 'kbgen users list'\n"


def test_db_upgrade_creates_then_reports_up_to_date(kbgen):
    head = migrations.head()
    assert f"revision none (empty); newest {head} (run 'kbgen db upgrade')." in kbgen("db", "current").output
    first = kbgen("db", "upgrade")
    assert first.exit_code == 0 and f"from an empty database to revision {head}." in first.output
    assert f"up to date (revision {head})" in kbgen("db", "upgrade").output
    engine = make_engine(kbgen.database_url)
    assert migrations.current_revision(engine) == head
    engine.dispose()
    assert f"revision {head}; newest {head} (up to date)." in kbgen("db", "current").output


@pytest.mark.parametrize("name, value", [("KBGEN_LOGIN_ATTEMPTS", "abc"), ("KBGEN_SQLITE_SYNCHRONOUS", "off")])
def test_a_setting_kbgen_cannot_use_is_one_error_line_naming_the_variable(kbgen, name, value):
    # The accounts commands once opened the database without KBGEN_SQLITE_SYNCHRONOUS: now every command
    # opens it as the service does, so a wrong value stops them too.
    result = CliRunner().invoke(cli, ["orgs", "list"], env={"KBGEN_DATABASE_URL": kbgen.database_url, name: value})
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {name} is {value!r}: ")


def test_the_installed_kbgen_command(tmp_path, database_url):
    """Once through the real console script, as an operator runs it."""
    script = Path(sys.executable).parent / "kbgen"
    if not script.exists():
        pytest.fail(f"{script} is missing: install the project into this environment (pip install -e .)")
    env = {**os.environ, "KBGEN_DATABASE_URL": database_url, "KBGEN_SECRET_KEY": "test-secret"}

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([str(script), *args], cwd=tmp_path, env=env, input=stdin, capture_output=True,
                              text=True, timeout=60)

    assert run("orgs", "add", "Acme Telecom").returncode == 0
    added = run("users", "add", "--org", "Acme Telecom", "--email", "ann@acme.example", "--role", "customer",
                "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0 and added.stdout == "Added customer ann@acme.example to 'Acme Telecom' (id 1).\n"
    duplicate = run("users", "add", "--org", "Acme Telecom", "--email", "ann@acme.example", "--role", "customer",
                    "--password-stdin", stdin=PASSWORD + "\n")
    assert duplicate.returncode == 1
    assert duplicate.stderr == "Error: a user with email ann@acme.example already exists\n"
    assert "ann@acme.example" in run("users", "list").stdout
