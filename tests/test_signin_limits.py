"""Sign-in limits through the real service on a real port, on SQLite and PostgreSQL.

Concurrent bursts come from real threads; client addresses come from X-Forwarded-For, which
uvicorn honours from 127.0.0.1 (what `kbgen serve --forwarded-allow-ips` configures).
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from contextlib import contextmanager

import httpx
import pytest

from kbgen import accounts
from kbgen.accounts import DEVICE_COOKIE, Organization, RateLimit, User
from kbgen.web.app import create_app
from kbgen.settings import Settings

from conftest import LiveServer

PASSWORD = "correct horse battery"
ANN, SAM = "ann@acme.example", "sam@acme.example"


@pytest.fixture(scope="module")
def password_hash() -> str:
    return accounts.hash_password(PASSWORD)


def settings_for(tmp_path, database_url, **overrides) -> Settings:
    settings = Settings(project_dir=tmp_path, site_dir=tmp_path / "site", index_dir=tmp_path / "index",
                        data_dir=tmp_path / "data", forms_dir=tmp_path / "forms", content_dir=tmp_path / "content",
                        database_url=database_url, secret_key="test-secret")
    for name, value in overrides.items():
        setattr(settings, name, value)
    return settings


@contextmanager
def serve(settings: Settings, password_hash: str):
    """The service with Ann and her colleague Sam at Acme Telecom, on a LiveServer."""
    app = create_app(settings, send_mail=False)
    with app.state.sessionmaker.begin() as db:
        acme = Organization(name="Acme Telecom")
        db.add_all([User(organization=acme, email=ANN, name="Ann", role="customer", password_hash=password_hash),
                    User(organization=acme, email=SAM, name="Sam", role="customer", password_hash=password_hash)])
    try:
        with LiveServer(app) as server:
            server.app = app
            yield server
    finally:
        app.state.engine.dispose()


def browser(server, address: str = "198.51.100.7", cookies: dict | None = None) -> httpx.Client:
    """A browser at `address` (as the reverse proxy reports it) on the portal's pages."""
    client = httpx.Client(base_url=server.url, timeout=60,
                          headers={"Origin": server.url, "X-Forwarded-For": address})
    for name, value in (cookies or {}).items():
        client.cookies.set(name, value, domain="127.0.0.1", path="/api/session")
    return client


def sign_in(client: httpx.Client, email: str = ANN, password: str = PASSWORD) -> httpx.Response:
    return client.post("/api/session", json={"email": email, "password": password})


def device_cookie(server, email: str = ANN, address: str = "198.51.100.7") -> str:
    """Sign in once from a browser; the device cookie it keeps afterwards."""
    with browser(server, address) as client:
        response = sign_in(client, email)
        assert response.status_code == 200
        return client.cookies[DEVICE_COOKIE]


def stored_failures(server, email: str) -> int:
    """Failed sign-ins stored against an account: each one is a password check the service ran."""
    settings = server.app.state.settings
    limit = RateLimit(settings.login_attempts_per_window, dt.timedelta(seconds=settings.login_window_seconds))
    with server.app.state.sessionmaker.begin() as db:
        return accounts.recent_failures(db, accounts.login_keys(email, None)[0], limit)


def burst(server, count: int, make_request) -> list[httpx.Response]:
    """`count` requests released at once from their own threads; make_request(i) sends the i-th."""
    start = threading.Barrier(count)
    answers: list = [None] * count

    def one(i: int) -> None:
        start.wait()
        answers[i] = make_request(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert 0 < int(response.headers["retry-after"]) <= 300
    assert response.json()["detail"].startswith("Too many sign-in attempts. Try again in ")


def test_a_burst_of_wrong_passwords_runs_only_the_limits_number_of_password_checks(tmp_path, database_url,
                                                                                  password_hash):
    settings = settings_for(tmp_path, database_url, password_hash_wait_seconds=60)
    with serve(settings, password_hash) as server:
        def guess(i: int) -> httpx.Response:
            with browser(server, address="203.0.113.66") as client:
                return sign_in(client, password=f"guess number {i}")

        answers = burst(server, 40, guess)
        statuses = Counter(a.status_code for a in answers)
        assert statuses == {401: 5, 429: 35}, statuses
        assert stored_failures(server, ANN) == 5
        for answer in answers:
            if answer.status_code == 429:
                assert_throttled(answer)


def test_the_owner_with_a_device_cookie_signs_in_while_a_stranger_has_locked_the_account(tmp_path, database_url,
                                                                                         password_hash):
    with serve(settings_for(tmp_path, database_url), password_hash) as server:
        owners = device_cookie(server)
        with browser(server, address="203.0.113.66") as stranger:
            for n in range(5):
                assert sign_in(stranger, password=f"guess {n}").status_code == 401
            assert_throttled(sign_in(stranger))  # even the right password, from a browser Ann never used

        # Ann on a new browser shares the lockout with every browser she has not signed in from ...
        with browser(server) as new_browser:
            assert_throttled(sign_in(new_browser))
        # ... but her own browser is held only by its own failures: a typo, then she is in.
        with browser(server, cookies={DEVICE_COOKIE: owners}) as own_browser:
            assert sign_in(own_browser, password="a typo").status_code == 401
            response = sign_in(own_browser)
            assert response.status_code == 200 and response.json()["user"]["email"] == ANN
            assert own_browser.get("/api/me").status_code == 200
        # Her sign-in does not reopen the account to the stranger.
        with browser(server, address="203.0.113.66") as stranger:
            assert_throttled(sign_in(stranger, password="another guess"))


def test_a_browser_is_held_by_its_own_failures_too(tmp_path, database_url, password_hash):
    with serve(settings_for(tmp_path, database_url, login_attempts_per_window=3), password_hash) as server:
        cookies = {DEVICE_COOKIE: device_cookie(server)}
        with browser(server, cookies=cookies) as own_browser:
            for n in range(3):
                assert sign_in(own_browser, password=f"forgot it {n}").status_code == 401
            assert_throttled(sign_in(own_browser))
        # The account itself is not locked for others by that browser's failures.
        with browser(server, address="192.0.2.44") as other:
            assert sign_in(other).status_code == 200


def test_a_forged_or_another_accounts_device_cookie_gives_no_allowance(tmp_path, database_url, password_hash):
    with serve(settings_for(tmp_path, database_url), password_hash) as server:
        sams = device_cookie(server, SAM)
        anns = device_cookie(server, ANN)
        with browser(server, address="203.0.113.66") as stranger:
            for n in range(5):
                assert sign_in(stranger, password=f"guess {n}").status_code == 401

        nonce, signature = anns.split(".")
        forged = [
            sams,  # Sam's real cookie, for Ann's account
            "0" * 32 + "." + "f" * 64,  # made up
            f"{nonce}.{signature[:-1]}{'0' if signature[-1] != '0' else '1'}",  # Ann's, tampered with
            accounts.remember_device("another installation's secret", None, ANN),  # signed with another key
        ]
        for value in forged:
            with browser(server, cookies={DEVICE_COOKIE: value}) as client:
                assert_throttled(sign_in(client))
        with browser(server, cookies={DEVICE_COOKIE: anns}) as own_browser:
            assert sign_in(own_browser).status_code == 200


def test_one_address_has_its_own_higher_limit_so_one_person_does_not_lock_out_the_office(tmp_path, database_url,
                                                                                         password_hash):
    settings = settings_for(tmp_path, database_url, login_attempts_per_window=3, login_attempts_per_address=8)
    office, home = "203.0.113.10", "192.0.2.20"
    with serve(settings, password_hash) as server:
        with browser(server, office) as someone:
            for n in range(3):
                assert sign_in(someone, password=f"guess {n}").status_code == 401
            assert_throttled(sign_in(someone))
        # Ann's account is locked; her colleague behind the same address is not.
        with browser(server, office) as colleague:
            assert sign_in(colleague, SAM).status_code == 200
        # Unknown emails count like wrong passwords, against the address too: same answer until
        # the address has failed 8 times, then the same 429 as a known account.
        with browser(server, office) as someone:
            for n in range(5):
                failed = sign_in(someone, f"nobody{n}@acme.example")
                assert failed.status_code == 401
                assert failed.json() == {"detail": "The email or password is incorrect."}
            assert_throttled(sign_in(someone, "nobody9@acme.example"))
        with browser(server, office) as colleague:
            assert_throttled(sign_in(colleague, SAM))
        # Elsewhere Sam signs in as usual.
        with browser(server, home) as elsewhere:
            assert sign_in(elsewhere, SAM).status_code == 200


def test_busy_password_checks_get_a_quick_503_with_retry_after_and_are_not_counted(tmp_path, database_url,
                                                                                 password_hash):
    settings = settings_for(tmp_path, database_url, password_hash_concurrency=1, password_hash_wait_seconds=0)
    emails = [f"visitor{i}@acme.example" for i in range(12)]
    with serve(settings, password_hash) as server:
        def guess(i: int) -> httpx.Response:
            with browser(server, address=f"198.51.100.{i + 1}") as client:
                return sign_in(client, emails[i], "not the password")

        answers = burst(server, len(emails), guess)
        statuses = Counter(a.status_code for a in answers)
        assert set(statuses) <= {401, 503} and statuses[503] >= 1, statuses
        for answer in answers:
            if answer.status_code == 503:
                assert 1 <= int(answer.headers["retry-after"]) <= 10
                assert answer.json()["detail"].startswith("Too many sign-ins are being checked at once. Try again in")
        # Only the attempts whose password was checked count as failures.
        assert sum(stored_failures(server, email) for email in emails) == statuses[401]


def test_an_owners_browser_is_checked_before_strangers_queued_ahead_of_it(tmp_path, database_url, password_hash):
    settings = settings_for(tmp_path, database_url, password_hash_concurrency=1, password_hash_wait_seconds=60)
    strangers = 10
    with serve(settings, password_hash) as server:
        cookies = {DEVICE_COOKIE: device_cookie(server)}
        clients = [browser(server, address=f"198.51.100.{i + 1}") for i in range(strangers)]
        owners = browser(server, cookies=cookies)
        finished: list[float] = [0.0] * (strangers + 1)

        def attempt(i: int) -> httpx.Response:
            if i < strangers:
                answer = sign_in(clients[i], f"visitor{i}@acme.example", "not the password")
            else:
                threading.Event().wait(0.3)  # the strangers' attempts are waiting for the one check slot
                answer = sign_in(owners)
            finished[i] = time.monotonic()
            return answer

        answers = burst(server, strangers + 1, attempt)
        for client in (*clients, owners):
            client.close()
        assert Counter(a.status_code for a in answers) == {401: strangers, 200: 1}
        assert answers[-1].json()["user"]["email"] == ANN
        # Strangers who were waiting when she arrived are checked after her, not before.
        assert sum(done > finished[-1] for done in finished[:strangers]) >= strangers // 2


def test_the_limits_are_read_from_the_environment(tmp_path):
    settings = Settings.from_env(tmp_path, env={"KBGEN_LOGIN_ATTEMPTS_PER_ADDRESS": "80",
                                                "KBGEN_PASSWORD_HASH_CONCURRENCY": "3",
                                                "KBGEN_PASSWORD_HASH_WAIT_SECONDS": "0.5",
                                                "KBGEN_DATA_DIR": str(tmp_path / "data")})
    assert (settings.login_attempts_per_address, settings.password_hash_concurrency,
            settings.password_hash_wait_seconds) == (80, 3, 0.5)
