"""The requests list with 10,000 tickets in one organization, through `kbgen serve` on SQLite.

Target: p95 at most 50 ms for a filtered page, for every kind of filter the page offers.

    python bench/bench_requests.py          # alone; prints the markdown section
    make bench                               # as a section of bench/results.md
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
from dataclasses import dataclass
from pathlib import Path

from service import KBGEN, REPO, free_port, wait_until_serving  # a measured `kbgen serve`: start-up, paths

TICKETS = 10_000  # in the measured organization
OTHER_TICKETS = 5_000  # in another one, so the organization filter has work to do
MEMBERS = 25
ROUNDS = 30  # requests per kind of query
PASSWORD = "bench password 1"
TARGET_P95_MS = 50.0


@dataclass
class Context:
    workdir: Path


def prepare(project: Path) -> dict[str, str]:
    from sqlalchemy import insert

    from kbgen import accounts

    from kbgen.tickets import workflow
    from kbgen.accounts import Organization, User
    from kbgen.site.catalog import PRODUCTS
    from kbgen.db import make_sessionmaker, open_database
    from kbgen.settings import Settings
    from kbgen.forms import PRIORITIES
    from kbgen.tickets import KeyCounter, Ticket

    shutil.copytree(REPO / "forms", project / "forms")
    (project / "site").mkdir(parents=True)
    env = {"KBGEN_DATA_DIR": str(project / "data"), "KBGEN_DATABASE_URL": f"sqlite:///{project / 'kbgen.db'}",
           "KBGEN_SMTP_URL": "", "KBGEN_SECRET_KEY": "bench"}
    engine = open_database(Settings.from_env(project, env=env)).engine  # as `kbgen serve` will open it
    hashed = accounts.hash_password(PASSWORD)
    rng = random.Random(42)
    words = ("calls drop queue agent trunk audio license report export login chat email whatsapp "
             "recording ivr dashboard schedule forecast adherence video room webrtc sip codec").split()
    with make_sessionmaker(engine).begin() as db:
        acme, other = Organization(name="Bench Telecom"), Organization(name="Other Corp")
        people = [User(organization=acme, email=f"member{i}@bench.example", name=f"Member {i}", role="customer",
                       password_hash=hashed) for i in range(MEMBERS)]
        outsider = User(organization=other, email="someone@other.example", name="Someone", role="customer",
                        password_hash=hashed)
        db.add_all([*people, outsider])
        db.flush()
        start = dt.datetime(2025, 1, 1)
        numbers = {p.key_prefix: 0 for p in PRODUCTS}
        rows = []
        for n in range(TICKETS + OTHER_TICKETS):
            product = rng.choice(PRODUCTS)
            numbers[product.key_prefix] += 1
            number = numbers[product.key_prefix]
            created = start + dt.timedelta(minutes=50 * n + rng.randint(0, 40))
            requester = outsider if n >= TICKETS else rng.choice(people)
            rows.append({
                "key": f"{product.key_prefix}-{number}", "number": number, "product": product.slug,
                "request_type": "technical-issue", "priority": rng.choice(PRIORITIES).slug,
                "summary": " ".join(rng.sample(words, 5)).capitalize(), "description": "Bench.",
                "status": rng.choice(workflow.STATUSES).name, "values": {"summary": "bench"},
                "organization_id": requester.organization_id, "requester_id": requester.id,
                "created_at": created, "updated_at": created + dt.timedelta(hours=rng.randint(0, 500)),
            })
        db.execute(insert(Ticket), rows)
        db.execute(insert(KeyCounter), [{"prefix": k, "last_number": v} for k, v in numbers.items()])
    engine.dispose()
    return env


QUERIES = {  # what the requests page asks for, as a customer of the big organization
    "first page, no filter": {},
    "status": {"status": "In progress"},
    "product + priority": {"product": "xcally", "priority": "high"},
    "requester": {"requester": "member3@bench.example"},
    "created by me": {"mine": "true"},
    "text search": {"q": "trunk codec"},
    "key search": {"q": "XC-1234"},
    "sort by update, page 40": {"sort": "-updated", "page": "40"},
    "status, oldest first, page 20": {"status": "Resolved", "sort": "created", "page": "20"},
}


def measure(base: str) -> dict[str, list[float]]:
    import httpx

    client = httpx.Client(base_url=base, timeout=30)
    client.post("/api/session", json={"email": "member0@bench.example", "password": PASSWORD}).raise_for_status()
    timings: dict[str, list[float]] = {name: [] for name in QUERIES}
    for name, params in QUERIES.items():  # warm-up: connections, statement caches, page cache
        client.get("/api/tickets", params=params).raise_for_status()
    for _ in range(ROUNDS):
        for name, params in QUERIES.items():
            began = time.perf_counter()
            response = client.get("/api/tickets", params=params)
            timings[name].append((time.perf_counter() - began) * 1000)
            response.raise_for_status()
    totals = {name: client.get("/api/tickets", params=params).json()["total"] for name, params in QUERIES.items()}
    client.close()
    return timings, totals


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def run(ctx) -> str:
    project = Path(ctx.workdir) / "bench-requests"
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    env = prepare(project)
    setup = time.perf_counter() - began
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(KBGEN), "serve", "--port", str(port), "--project", str(project)],
                              cwd=project, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until_serving(base, server)
        timings, totals = measure(base)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    every = [t for values in timings.values() for t in values]
    worst = max(_p95(v) for v in timings.values())
    lines = [
        f"## Requests list: {TICKETS:,} tickets in one organization (`kbgen serve`, SQLite)",
        "",
        f"A member of an organization with {TICKETS:,} tickets ({MEMBERS} members; {OTHER_TICKETS:,} more tickets in "
        f"another organization) asks GET /api/tickets for a page of 25, {ROUNDS} times per kind of query, "
        f"one after another over keep-alive. Setup (bulk insert) took {setup:.1f} s.",
        "",
        "| query | matching | p50 (ms) | p95 (ms) |",
        "|---|---|---|---|",
    ]
    for name, values in timings.items():
        lines.append(f"| {name} | {totals[name]:,} | {statistics.median(values):.1f} | {_p95(values):.1f} |")
    lines += [
        f"| **all queries** | | {statistics.median(every):.1f} | {_p95(every):.1f} |",
        "",
        f"Worst p95 of any kind of query: {worst:.1f} ms (target ≤ {TARGET_P95_MS:.0f} ms: "
        f"{'met' if worst <= TARGET_P95_MS else '**not met**'}). Load average before the run: {load_before:.1f} "
        f"on {os.cpu_count()} cores.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="kbgen-bench-requests-") as tmp:
        print(run(Context(Path(tmp))))
