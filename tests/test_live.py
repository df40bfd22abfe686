"""Live updates (server-sent events): an open ticket page or requests list hears that a ticket changed.

A real uvicorn serves the app (LiveServer) and httpx reads the streams; every read has a timeout, so a
missing event fails the test instead of hanging it. Changes are made by other people through the API.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from conftest import LiveServer, free_port, run_kbgen
from kbgen import accounts
from kbgen.accounts import LoginSession, User
from kbgen.tickets import Ticket
from kbgen.web import live
from test_tickets_support import ANN, BOB, GINA, SAM, Portal, xcally, xplany

WAIT = 8.0  # seconds a change may take to reach a stream (the feed looks once a second)


class Events:
    """The events of one open stream, read with a deadline."""

    def __init__(self, response: httpx.Response):
        self.response = response
        self.lines = response.iter_lines()
        self.retry: int | None = None

    def next(self, timeout: float = WAIT) -> tuple[str, dict] | None:
        """The next (event, data), or None when the stream ended; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        name, data = "message", ""
        try:
            for line in self.lines:
                if time.monotonic() > deadline:
                    raise AssertionError("no event in time")
                if line.startswith(":"):
                    continue  # a keep-alive comment
                if not line:
                    if data:
                        return name, json.loads(data)
                    continue
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "event":
                    name = value
                elif field == "data":
                    data += value
                elif field == "retry":
                    self.retry = int(value)
        except httpx.ReadTimeout:
            raise AssertionError("no event in time") from None
        except (httpx.RemoteProtocolError, httpx.ReadError):
            return None
        return None

    def expect(self, event: str, timeout: float = WAIT) -> dict:
        got = self.next(timeout)
        assert got is not None, f"the stream ended before {event!r}"
        assert got[0] == event, got
        return got[1]

    def ends(self, timeout: float) -> bool:
        """Whether the stream ends within `timeout` (whatever it says before)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.next(timeout=deadline - time.monotonic()) is None:
                    return True
            except AssertionError:
                return False
        return False

    def quiet(self, seconds: float) -> list[tuple[str, dict]]:
        """Every event within `seconds` (the stream must stay open that long)."""
        heard = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                got = self.next(timeout=deadline - time.monotonic())
            except AssertionError:
                break
            if got is None:
                break
            heard.append(got)
        return heard


def cookies_of(portal: Portal, email: str) -> dict[str, str]:
    with portal.Session.begin() as db:
        user = db.scalars(select(User).where(User.email == email)).one()
        token, _login = accounts.open_session(db, user)
    return {accounts.SESSION_COOKIE: token}


@contextmanager
def stream(server: LiveServer, path: str, cookies: dict[str, str] | None, **params):
    """An open stream (its first event, `ready`, already read), or the refusal as an httpx.Response."""
    with httpx.Client(base_url=server.url, cookies=cookies or {}, timeout=httpx.Timeout(5, read=WAIT)) as client:
        with client.stream("GET", path, params=params or None,
                           headers={"Accept": "text/event-stream", "Accept-Encoding": "gzip"}) as response:
            if response.status_code != 200:
                response.read()
                yield response
                return
            events = Events(response)
            events.expect("ready")
            yield events


@pytest.fixture
def portal(tmp_path, database_url):
    portal = Portal(tmp_path, database_url)
    yield portal
    portal.close()


@pytest.fixture
def server(portal):
    live.feed_for(portal.app).session_check = 0.5  # sessions checked every half second, not every minute
    with LiveServer(portal.app) as server:
        yield server


def test_an_open_ticket_hears_a_comment_and_a_move_by_the_support_team(portal, server):
    key = portal.open(ANN, xcally("Calls drop when transferred"))
    sam = portal.client(SAM)
    with stream(server, f"/api/tickets/{key}/live", cookies_of(portal, ANN)) as events:
        response = events.response
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in response.headers  # never gzipped: gzip would hold events back
        assert 3000 <= events.retry <= 5000  # how long the browser waits before reconnecting

        assert sam.post(f"/api/tickets/{key}/comments", json={"text": "Which trunk?"}).status_code == 201
        changed = events.expect("changed")
        assert changed["key"] == key
        assert sam.post(f"/api/tickets/{key}/transitions", json={"to": "In progress"}).status_code == 200
        assert events.expect("changed")["key"] == key
        # Another ticket of the same organization is not this page's news.
        other = portal.open(BOB, xcally("Another one"))
        portal.client(SAM).post(f"/api/tickets/{other}/comments", json={"text": "Looking"})
        assert events.quiet(2.5) == []


def test_the_requests_list_hears_only_its_own_organizations_tickets(portal, server):
    acme = portal.open(ANN, xcally("Acme's request"))
    globex = portal.open(GINA, xplany("Globex's request"))
    sam = portal.client(SAM)
    with stream(server, "/api/live/requests", cookies_of(portal, GINA)) as gina, \
            stream(server, "/api/live/requests", cookies_of(portal, BOB)) as bob, \
            stream(server, "/api/live/requests", cookies_of(portal, SAM)) as agent:
        sam.post(f"/api/tickets/{acme}/comments", json={"text": "For Acme"})
        sam.post(f"/api/tickets/{globex}/comments", json={"text": "For Globex"})
        heard = {name: {data["key"] for _, data in events.quiet(3)} for name, events in
                 (("gina", gina), ("bob", bob), ("agent", agent))}
    assert heard == {"gina": {globex}, "bob": {acme}, "agent": {acme, globex}}  # never another organization's key


def test_a_new_request_reaches_its_organizations_list(portal, server):
    with stream(server, "/api/live/requests", cookies_of(portal, BOB)) as bob:
        key = portal.open(ANN, xcally("Opened while Bob watches the list"))
        assert bob.expect("changed")["key"] == key


def test_since_tells_a_page_what_it_missed_before_it_connected(portal, server):
    key = portal.open(ANN)
    opened = live.utcnow() - dt.timedelta(seconds=5)  # a while ago
    with portal.Session.begin() as db:
        db.execute(update(Ticket).where(Ticket.key == key).values(updated_at=opened))
    shown = portal.client(ANN).get(f"/api/tickets/{key}").json()["updated_at"]
    with stream(server, f"/api/tickets/{key}/live", cookies_of(portal, ANN), since=shown) as events:
        assert events.quiet(1.5) == []  # nothing new since the page showed it
    with portal.Session.begin() as db:  # a change between loading the page and connecting
        db.execute(update(Ticket).where(Ticket.key == key).values(updated_at=opened + dt.timedelta(seconds=2)))
    with stream(server, f"/api/tickets/{key}/live", cookies_of(portal, ANN), since=shown) as events:
        assert events.expect("changed", timeout=1.0)["key"] == key
    with stream(server, "/api/live/requests", cookies_of(portal, BOB), since=shown) as events:
        assert events.expect("changed", timeout=1.0)["key"] == key
    with stream(server, "/api/live/requests", cookies_of(portal, GINA), since=shown) as events:
        assert events.quiet(1.5) == []  # Acme's change is not Globex's news


def test_another_organizations_ticket_is_not_found_and_nobody_signed_out_gets_a_stream(portal, server):
    key = portal.open(ANN)
    gina = cookies_of(portal, GINA)
    with stream(server, f"/api/tickets/{key}/live", gina) as refused:
        assert refused.status_code == 404
        missing = refused.json()
    with stream(server, "/api/tickets/XC-99999/live", gina) as unknown:
        assert unknown.status_code == 404
    assert missing["detail"].replace(key, "KEY") == unknown.json()["detail"].replace("XC-99999", "KEY")
    for path in (f"/api/tickets/{key}/live", "/api/live/requests"):
        with stream(server, path, None) as signed_out:
            assert signed_out.status_code == 401
        with stream(server, path, {accounts.SESSION_COOKIE: "not-a-session"}) as forged:
            assert forged.status_code == 401


@pytest.mark.parametrize("path, params", [
    ("/api/tickets/XC-1%00/live", {}),
    ("/api/tickets/" + "X" * 5000 + "/live", {}),
    ("/api/tickets/%F0%9F%92%A5/live", {}),
    ("/api/live/requests", {"since": "yesterday"}),
    ("/api/live/requests", {"since": "2026-01-01T00:00:00\x00"}),
    ("/api/live/requests", {"since": "9999-12-31T23:59:59"}),
    ("/api/live/requests", {"since": "0001-01-01T00:00:00+01:00"}),
    ("/api/live/requests", {"since": "1" * 10_000}),
])
def test_hostile_addresses_are_refused_without_a_stream(portal, server, path, params):
    with stream(server, path, cookies_of(portal, ANN), **params) as refused:
        assert 400 <= refused.status_code < 500, refused.text
        assert refused.json()["detail"]


def test_streams_are_capped_per_person_and_per_worker(portal, server):
    feed = live.feed_for(portal.app)
    feed.max_streams_per_user, feed.max_streams = 2, 3
    ann = cookies_of(portal, ANN)
    with stream(server, "/api/live/requests", ann), stream(server, "/api/live/requests", cookies_of(portal, ANN)):
        with stream(server, "/api/live/requests", ann) as third:
            assert third.status_code == 429
            assert int(third.headers["retry-after"]) > 0
            assert "tabs" in third.json()["detail"]
        with stream(server, "/api/live/requests", cookies_of(portal, BOB)):
            with stream(server, "/api/live/requests", cookies_of(portal, SAM)) as full:
                assert full.status_code == 503
                assert int(full.headers["retry-after"]) > 0
    # Closed streams free their places.
    time.sleep(0.5)
    with stream(server, "/api/live/requests", ann) as again:
        assert isinstance(again, Events)


def test_a_stream_ends_when_its_session_does(portal, server):
    key = portal.open(ANN)
    ann = cookies_of(portal, ANN)
    with stream(server, f"/api/tickets/{key}/live", ann) as events:
        with portal.Session.begin() as db:  # signed out (on this device or everywhere)
            db.execute(LoginSession.__table__.delete())
        assert events.ends(timeout=5)
    with stream(server, f"/api/tickets/{key}/live", ann) as after:
        assert after.status_code == 401


def test_a_stream_ends_when_its_person_is_deactivated(portal, server):
    with stream(server, "/api/live/requests", cookies_of(portal, BOB)) as events:
        with portal.Session.begin() as db:
            db.execute(update(User).where(User.email == BOB).values(deactivated_at=dt.datetime(2026, 1, 1)))
        assert events.ends(timeout=5)


def test_one_look_a_second_serves_every_listener(portal, server):
    """No polling storm: twenty open pages cost the database what one does."""
    feed = live.feed_for(portal.app)
    key = portal.open(ANN)
    cookies = [cookies_of(portal, email) for email in (ANN, BOB, SAM) for _ in range(5)]
    with httpx.Client(base_url=server.url, timeout=httpx.Timeout(5, read=WAIT)) as client:
        responses = []
        try:
            for jar in cookies:
                client.cookies = jar
                request = client.build_request("GET", f"/api/tickets/{key}/live")
                responses.append(client.send(request, stream=True))
            streams = [Events(r) for r in responses]
            for events in streams:
                events.expect("ready")
            before, started = feed.polls, time.monotonic()
            time.sleep(3)
            looks = feed.polls - before
            assert looks <= (time.monotonic() - started) / live.POLL_EVERY + 1
            portal.client(SAM).post(f"/api/tickets/{key}/comments", json={"text": "For everyone"})
            for events in streams:
                assert events.expect("changed")["key"] == key
        finally:
            for response in responses:
                response.close()
    deadline = time.monotonic() + 5
    while feed.listeners and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not feed.listeners
    polls = feed.polls
    time.sleep(2.5)
    assert feed.polls == polls  # nobody listens: the database is left alone


def test_a_late_commit_is_delivered_once_and_a_slow_listener_is_let_go(portal):
    """Plain functions, no server: the feed's look at the database and its fan-out."""
    key = portal.open(ANN)
    feed = live.ChangeFeed(portal.Session, max_streams=10, max_streams_per_user=10)
    assert feed.start_point(live.utcnow()) == []
    with portal.Session.begin() as db:
        ticket = db.scalars(select(Ticket).where(Ticket.key == key)).one()
        ticket_id, org = ticket.id, ticket.organization_id
        now = live.utcnow()
        db.execute(update(Ticket).where(Ticket.id == ticket_id).values(updated_at=now + dt.timedelta(seconds=1)))
    first = feed.poll()
    assert [c.key for c in first] == [key]
    assert feed.poll() == []  # once
    with portal.Session.begin() as db:  # a transaction that began earlier commits now, with its older time
        db.execute(update(Ticket).where(Ticket.id == ticket_id).values(updated_at=now - dt.timedelta(seconds=3)))
    assert [c.updated_at for c in feed.poll()] == [now - dt.timedelta(seconds=3)]
    assert feed.poll() == []

    watch = live.Watch(user_id=1, login_id=1, organization_ids=(org,))
    listener = live.Listener(watch)
    change = first[0]
    for _ in range(live.QUEUE):
        listener.push(change)
    assert not listener.ended
    listener.push(change)
    assert listener.ended  # fell behind: dropped, its browser reconnects
    other = live.Listener(live.Watch(user_id=2, login_id=2, organization_ids=(org + 1000,)))
    agent = live.Listener(live.Watch(user_id=3, login_id=3, organization_ids=None))
    feed.listeners |= {other, agent}
    feed.deliver([change])
    assert not other.waiting and list(agent.waiting) == [change]


def test_the_service_stops_promptly_with_streams_open(built_project, tmp_path):
    """SIGTERM ends the streams, so uvicorn's graceful shutdown does not wait for the browsers."""
    env = {**os.environ, "KBGEN_DATA_DIR": str(tmp_path / "data"),
           "KBGEN_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'kbgen.db'}"}
    demo = run_kbgen("demo", "--inventory", "none.yml", cwd=built_project, env=env)
    assert demo.returncode == 0, demo.stderr
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    kbgen = str(Path(sys.executable).with_name("kbgen"))
    server = subprocess.Popen([kbgen, "serve", "--port", str(port), "--no-mailer"], cwd=built_project, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/api/me", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "kbgen serve did not start"
                time.sleep(0.1)
        with httpx.Client(base_url=base, headers={"Origin": base}, timeout=httpx.Timeout(5, read=WAIT)) as client:
            client.post("/api/session", json={"email": "customer@acme.example", "password": "demo-customer"}
                        ).raise_for_status()
            with client.stream("GET", "/api/live/requests") as response:
                events = Events(response)
                events.expect("ready")
                stopping = time.monotonic()
                server.send_signal(signal.SIGTERM)
                assert events.ends(timeout=5)
            server.wait(timeout=10)
            assert time.monotonic() - stopping < 5
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
