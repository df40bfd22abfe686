"""The support team's queues: 100,000 tickets across 500 organizations, through `kbgen serve`, on SQLite
and on PostgreSQL (the machine's, 127.0.0.1:5432, database `test`, in a schema of its own, dropped after).

An agent opens each view (kbgen/tickets/views.py) sorted by due time, the view counts (GET /api/views),
a view narrowed by a filter, and a deep page. Target: p95 at most 50 ms for every kind of query.

    python bench/bench_queues.py          # alone; prints the markdown section
    make bench                             # as a section of bench/results.md
"""
from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from service import KBGEN, REPO, free_port, wait_until_serving  # a measured `kbgen serve`: start-up, paths

TICKETS = 100_000
ORGANIZATIONS = 500
AGENTS = 10
ROUNDS = 100  # requests per kind of query (p95 of 20 was the second-worst: one stray pause decided it)
PASSWORD = "bench password 1"
TARGET_P95_MS = 50.0
PG_URL = os.environ.get("KBGEN_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def prepare(project: Path, database_url: str) -> dict[str, str]:
    from sqlalchemy import insert

    from kbgen import accounts
    from kbgen.accounts import Organization, User
    from kbgen.db import make_sessionmaker, open_database
    from kbgen.forms import PRIORITIES
    from kbgen.settings import Settings
    from kbgen.site.catalog import PRODUCTS
    from kbgen.sla.clock import NO_DUE
    from kbgen.tickets import KeyCounter, Ticket, workflow

    if not (project / "forms").exists():
        shutil.copytree(REPO / "forms", project / "forms")
        shutil.copy(REPO / "sla.yml", project / "sla.yml")
        (project / "site").mkdir(parents=True)
    env = {"KBGEN_DATA_DIR": str(project / "data"), "KBGEN_DATABASE_URL": database_url,
           "KBGEN_SMTP_URL": "", "KBGEN_SECRET_KEY": "bench"}
    engine = open_database(Settings.from_env(project, env=env)).engine  # as `kbgen serve` will open it
    hashed = accounts.hash_password(PASSWORD)
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with make_sessionmaker(engine).begin() as db:
        vendor = Organization(name="Vendor Support")
        agents = [User(organization=vendor, email=f"agent{i}@vendor.example", name=f"Agent {i}", role="agent",
                       password_hash=hashed) for i in range(AGENTS)]
        orgs = [Organization(name=f"Customer {i:03d}") for i in range(ORGANIZATIONS)]
        customers = [User(organization=org, email=f"c{i}@customer{i:03d}.example", name=f"Customer {i}",
                          role="customer", password_hash=hashed) for i, org in enumerate(orgs)]
        db.add_all([*agents, *customers])
        db.flush()
        numbers = {p.key_prefix: 0 for p in PRODUCTS}
        rows = []
        for n in range(TICKETS):
            product = rng.choice(PRODUCTS)
            numbers[product.key_prefix] += 1
            number = numbers[product.key_prefix]
            requester = rng.choice(customers)
            created = now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 365))
            status = rng.choice(workflow.STATUSES)
            running = status.name not in (workflow.RESOLVED.name, workflow.CLOSED.name,
                                          workflow.WAITING_FOR_CUSTOMER.name)
            due = now + dt.timedelta(minutes=rng.randint(-3000, 6000)) if running else None
            rows.append({
                "key": f"{product.key_prefix}-{number}", "number": number, "product": product.slug,
                "request_type": "technical-issue", "priority": rng.choice(PRIORITIES).slug,
                "summary": f"Bench ticket {n}", "description": "Bench.", "status": status.name,
                "values": {"summary": "bench"}, "organization_id": requester.organization_id,
                "requester_id": requester.id, "assignee_id": rng.choice([None, None, *[a.id for a in agents]]),
                "created_at": created, "updated_at": created + dt.timedelta(hours=rng.randint(0, 200)),
                "resolution_due_at": due, "sla_due_at": due if due is not None else NO_DUE,
                "resolution_breached_at": due if due is not None and due < now else None,
                "reopened_at": created if running and rng.random() < 0.01 else None,
            })
            if len(rows) == 5000:
                db.execute(insert(Ticket), rows)
                rows = []
        if rows:
            db.execute(insert(Ticket), rows)
        db.execute(insert(KeyCounter), [{"prefix": k, "last_number": v} for k, v in numbers.items()])
    if engine.dialect.name == "postgresql":  # what autovacuum does after a bulk load (PostgreSQL 13+ vacuums after
        # inserts too, which lets queues read index-only); `kbgen serve` does SQLite's
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return env


QUERIES = {  # what the requests page asks for, as an agent
    **{f"view {slug}": {"view": slug} for slug in ("open", "unassigned", "mine", "waiting-for-support",
                                                    "reopened", "due-soon", "breached", "product-xcally")},
    "view + priority filter": {"view": "unassigned", "priority": "high"},
    "view, page 100": {"view": "open", "page": "100"},
}


def measure(base: str) -> tuple[dict[str, list[float]], dict[str, int]]:
    import httpx

    client = httpx.Client(base_url=base, timeout=60)
    client.post("/api/session", json={"email": "agent0@vendor.example", "password": PASSWORD}).raise_for_status()
    asks = {name: ("/api/tickets", params) for name, params in QUERIES.items()}
    asks["view counts (GET /api/views)"] = ("/api/views", {})
    timings: dict[str, list[float]] = {name: [] for name in asks}
    for path, params in asks.values():  # warm-up
        client.get(path, params=params).raise_for_status()
    for _ in range(ROUNDS):
        for name, (path, params) in asks.items():
            began = time.perf_counter()
            response = client.get(path, params=params)
            timings[name].append((time.perf_counter() - began) * 1000)
            response.raise_for_status()
    totals = {name: client.get(path, params=params).json()["total"] for name, (path, params) in asks.items()
              if path == "/api/tickets"}
    client.close()
    return timings, totals


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _serve(project: Path, env: dict[str, str]):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(KBGEN), "serve", "--port", str(port), "--project", str(project), "--no-mailer"],
                              cwd=project, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until_serving(base, server)
        return measure(base)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _postgres_schema():
    """A fresh schema in the machine's PostgreSQL, or None when there is none."""
    import sqlalchemy

    schema = f"kbgen_bench_{uuid.uuid4().hex[:8]}"
    try:
        engine = sqlalchemy.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except Exception as exc:  # noqa: BLE001 - no PostgreSQL here: the section says so
        print(f"  no PostgreSQL at {PG_URL}: {exc.__class__.__name__}", flush=True)
        return None, None, None
    sep = "&" if "?" in PG_URL else "?"
    return engine, schema, f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def run(ctx) -> str:
    load_before = os.getloadavg()[0]
    results = {}
    setups = {}
    base_dir = Path(ctx.workdir) / "bench-queues"
    (base_dir / "sqlite").mkdir(parents=True)
    began = time.perf_counter()
    env = prepare(base_dir / "sqlite", f"sqlite:///{base_dir / 'sqlite' / 'kbgen.db'}")
    setups["SQLite"] = time.perf_counter() - began
    results["SQLite"] = _serve(base_dir / "sqlite", env)
    engine, schema, url = _postgres_schema()
    if url:
        try:
            (base_dir / "postgresql").mkdir(parents=True)
            began = time.perf_counter()
            env = prepare(base_dir / "postgresql", url)
            setups["PostgreSQL"] = time.perf_counter() - began
            results["PostgreSQL"] = _serve(base_dir / "postgresql", env)
        finally:
            with engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            engine.dispose()
    names = list(next(iter(results.values()))[0])
    lines = [
        f"## Queues: {TICKETS:,} tickets across {ORGANIZATIONS} organizations (`kbgen serve`, one worker)",
        "",
        f"An agent asks each view of kbgen/tickets/views.py (a page of 25, in the view's order: due time first), "
        f"the views' counts, a view narrowed by a filter and a deep page, {ROUNDS} times each, one after another "
        f"over keep-alive. Setup (bulk insert): " + ", ".join(f"{k} {v:.0f} s" for k, v in setups.items()) + ".",
        "",
        "| query | matching | " + " | ".join(f"{db} p50 (ms) | {db} p95 (ms)" for db in results) + " |",
        "|---|---|" + "---|---|" * len(results),
    ]
    totals = next(iter(results.values()))[1]
    for name in names:
        cells = " | ".join(f"{statistics.median(r[0][name]):.1f} | {_p95(r[0][name]):.1f}" for r in results.values())
        matching = f"{totals[name]:,}" if name in totals else ""
        lines.append(f"| {name} | {matching} | {cells} |")
    verdicts = []
    for db, (timings, _) in results.items():
        worst = max(_p95(v) for v in timings.values())
        verdicts.append(f"{db} worst p95 {worst:.1f} ms ({'met' if worst <= TARGET_P95_MS else '**not met**'})")
    lines += ["", f"Target: every p95 ≤ {TARGET_P95_MS:.0f} ms. " + "; ".join(verdicts) +
              f". Load average before the run: {load_before:.1f} on {os.cpu_count()} cores.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="kbgen-bench-queues-") as tmp:
        print(run(type("Ctx", (), {"workdir": Path(tmp)})()))
