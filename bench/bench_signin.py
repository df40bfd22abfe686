"""Sign-in under a burst: 40 concurrent wrong passwords against `kbgen serve`, on SQLite and PostgreSQL.

Targets: no more password checks than the limit (5 per account), the service's memory (its
whole process tree) under 300 MB during the burst, and the owner's browser (device cookie)
signed in while the burst locks the account for everyone else.

    python bench/bench_signin.py            # alone; prints the markdown section
    make bench                               # as a section of bench/results.md
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from run import tree_rss  # noqa: E402  (bench/run.py: RSS of a process and its descendants)

from service import KBGEN, free_port, wait_until_serving  # a measured `kbgen serve`: start-up, paths


BURST = 40
PASSWORD = "bench password 1"
OWNER = "owner@bench.example"
TARGET_MB = 300
PG_URL = os.environ.get("KBGEN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# The service as README: Deploy runs it; KBGEN_BENCH_SERVE_ARGS="--workers 2" measures two processes.
SERVE_ARGS = os.environ.get("KBGEN_BENCH_SERVE_ARGS", "").split()
MIB = 1024 * 1024


@dataclass
class Burst:
    statuses: Counter
    checks: int  # failed attempts stored: each is a password check the service ran
    peak_rss: int
    owner_status: int | None = None
    owner_ms: float | None = None


def _postgres_schema() -> tuple[str, object] | None:
    """A fresh schema in the machine's PostgreSQL (as tests/conftest.py makes them), or None."""
    import sqlalchemy

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        engine = sqlalchemy.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except Exception:  # noqa: BLE001 - any connection failure means "no PostgreSQL here"
        return None
    sep = "&" if "?" in PG_URL else "?"

    def drop() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        engine.dispose()

    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}", drop


def prepare(project: Path, database_url: str) -> dict[str, str]:
    from kbgen import accounts
    from kbgen.accounts import Organization, User
    from kbgen.db import make_sessionmaker, open_database
    from kbgen.settings import Settings

    (project / "site").mkdir(parents=True)
    (project / "site" / "index.html").write_text("<!doctype html><title>bench</title>")
    env = {"KBGEN_DATA_DIR": str(project / "data"), "KBGEN_DATABASE_URL": database_url,
           "KBGEN_SMTP_URL": "", "KBGEN_SECRET_KEY": "bench"}
    engine = open_database(Settings.from_env(project, env=env)).engine  # as `kbgen serve` will open it
    with make_sessionmaker(engine).begin() as db:
        db.add(User(organization=Organization(name="Bench Telecom"), email=OWNER, name="Owner", role="customer",
                    password_hash=accounts.hash_password(PASSWORD)))
    engine.dispose()
    return env


def _client(base: str, address: str, device: str | None = None):
    import httpx

    client = httpx.Client(base_url=base, timeout=60, headers={"Origin": base, "X-Forwarded-For": address})
    if device:
        client.cookies.set("kbgen_device", device, domain="127.0.0.1", path="/api/session")
    return client


def _sign_in(base: str, address: str, email: str, password: str, device: str | None = None):
    with _client(base, address, device) as client:
        return client.post("/api/session", json={"email": email, "password": password})


def _post(client, email: str, password: str) -> int:
    with client:
        return client.post("/api/session", json={"email": email, "password": password}).status_code


def burst(base: str, server: subprocess.Popen, emails: list[str], owner_device: str | None) -> tuple[Counter, int, tuple]:
    """Wrong passwords for `emails`, all released at once from their own threads and addresses (a botnet,
    so the per-address limit is not what stops them); the owner signs in from her browser meanwhile."""
    start = threading.Barrier(len(emails) + 1 + (owner_device is not None))
    statuses: Counter = Counter()
    owner: list = [None, None]
    lock = threading.Lock()
    peak, stop = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(server.pid))
            stop.wait(0.01)

    # Clients (and their TLS setup) made beforehand: the burst measures the service, not httpx.
    clients = [_client(base, f"198.51.100.{i + 1}") for i in range(len(emails))]
    owners = _client(base, "203.0.113.200", owner_device)

    def guess(i: int) -> None:
        start.wait()
        status = _post(clients[i], emails[i], f"wrong guess {i}")
        with lock:
            statuses[status] += 1

    def owner_signs_in() -> None:
        start.wait()
        time.sleep(0.05)  # in the thick of it: the account is locked for the others by now
        began = time.perf_counter()
        owner[0] = _post(owners, OWNER, PASSWORD)
        owner[1] = (time.perf_counter() - began) * 1000

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    threads = [threading.Thread(target=guess, args=(i,)) for i in range(len(emails))]
    if owner_device is not None:
        threads.append(threading.Thread(target=owner_signs_in))
    for thread in threads:
        thread.start()
    start.wait()
    for thread in threads:
        thread.join()
    stop.set()
    sampler.join()
    return statuses, peak, tuple(owner)


def stored_checks(database_url: str, emails: list[str]) -> int:
    from kbgen import accounts
    from kbgen.accounts import RateLimit
    from kbgen.db import make_engine, make_sessionmaker

    engine = make_engine(database_url)
    limit = RateLimit(5, dt.timedelta(seconds=300))
    with make_sessionmaker(engine).begin() as db:
        count = sum(accounts.recent_failures(db, accounts.login_keys(email, None)[0], limit) for email in set(emails))
    engine.dispose()
    return count


def measure(workdir: Path, label: str, database_url: str) -> tuple[Burst, Burst, int, int]:
    """(one account, 40 accounts, idle RSS, the owner's 429 from a new browser) against a fresh service."""
    project = workdir / f"signin-{label.lower()}"
    env = prepare(project, database_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(KBGEN), "serve", "--port", str(port), "--project", str(project), *SERVE_ARGS],
                              cwd=project, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_until_serving(base, server)
        with _client(base, "203.0.113.200") as own_browser:  # the owner signed in once before, from her browser
            response = own_browser.post("/api/session", json={"email": OWNER, "password": PASSWORD})
            response.raise_for_status()
            device = own_browser.cookies["kbgen_device"]
            own_browser.delete("/api/session")
        time.sleep(1)
        idle = tree_rss(server.pid)

        statuses, peak, (owner_status, owner_ms) = burst(base, server, [OWNER] * BURST, device)
        one = Burst(statuses, stored_checks(database_url, [OWNER]), peak, owner_status, owner_ms)
        new_browser = _sign_in(base, "203.0.113.201", OWNER, PASSWORD).status_code

        spray = [f"user{i}@bench.example" for i in range(BURST)]  # unknown emails: dummy hashes, same cost
        statuses, peak, (owner_status, owner_ms) = burst(base, server, spray, device)
        many = Burst(statuses, stored_checks(database_url, spray), peak, owner_status, owner_ms)
    finally:
        server.terminate()
        try:
            server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
    return one, many, idle, new_browser


def run(ctx) -> str:
    with tempfile.TemporaryDirectory(prefix="kbgen-bench-signin-") as tmp:
        workdir = Path(ctx.workdir) if ctx is not None and getattr(ctx, "workdir", None) else Path(tmp)
        results, notes = [], []
        results.append(("SQLite", *measure(workdir, "SQLite", f"sqlite:///{workdir / 'signin.db'}")))
        postgres = _postgres_schema()
        if postgres is None:
            notes.append(f"PostgreSQL skipped: {PG_URL} is not reachable.")
        else:
            url, drop = postgres
            try:
                results.append(("PostgreSQL", *measure(workdir, "PostgreSQL", url)))
            finally:
                drop()

    ok = lambda good: "yes" if good else "**no**"  # noqa: E731
    codes = lambda c: ", ".join(f"{code}: {n}" for code, n in sorted(c.items()))  # noqa: E731
    lines = [
        f"## Sign-in: {BURST} concurrent wrong passwords, `kbgen serve` on SQLite and PostgreSQL",
        "",
        f"`kbgen serve {' '.join(SERVE_ARGS)}`".replace(" `", "`") + f" (plus its mail process; limits at their "
        "defaults: 5 failures per account and per device, 50 per address, 1 password check at a time per "
        f"process). {BURST} threads, each from its own address (X-Forwarded-For from loopback), send a wrong "
        "password at the same moment; the owner signs in from her browser (device cookie) 50 ms into the burst. "
        "Password checks are counted from the failed attempts stored in the database. Then the same burst "
        f"against {BURST} different (unknown) emails, which the per-account limit does not stop: only the "
        "password check slots (and a 503 after 2 s of waiting) keep the memory down. Peak memory: the "
        "service's whole process tree, sampled every 10 ms.",
        "",
        "| database | burst | password checks | answers | peak memory (MiB) | target | met |",
        "|---|---|---:|---|---:|---|---|",
    ]
    for label, one, many, idle, _ in results:
        lines.append(f"| {label} | one account | {one.checks} | {codes(one.statuses)} | {one.peak_rss / MIB:.0f} "
                     f"(idle {idle / MIB:.0f}) | ≤ 5 checks, < {TARGET_MB} MB "
                     f"| {ok(one.checks <= 5 and one.peak_rss < TARGET_MB * MIB)} |")
        lines.append(f"| {label} | {BURST} accounts | {many.checks} | {codes(many.statuses)} "
                     f"| {many.peak_rss / MIB:.0f} | < {TARGET_MB} MB | {ok(many.peak_rss < TARGET_MB * MIB)} |")
    lines += ["", "| database | owner, her browser, during the one-account burst | during the 40-account burst "
              "| owner, a new browser, after the first | met |", "|---|---|---|---|---|"]
    for label, one, many, _, new_browser in results:
        lines.append(f"| {label} | {one.owner_status} in {one.owner_ms:.0f} ms | {many.owner_status} in "
                     f"{many.owner_ms:.0f} ms | {new_browser} "
                     f"| {ok(one.owner_status == many.owner_status == 200 and new_browser == 429)} |")
    lines += ["", f"Target: the owner's browser gets 200 (its checks go before strangers' waiting ones), a new "
              f"browser the lockout's 429. "
              f"{os.cpu_count()} cores, load average before: {os.getloadavg()[0]:.1f}.", *notes, ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(None))
