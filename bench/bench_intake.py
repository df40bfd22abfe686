"""Ticket intake under load: 16 concurrent clients against `kbgen serve` on SQLite, in a separate process.

Targets (2 cores), for the default durable commits (synchronous=FULL): at least 200 tickets
accepted per second, p99 at most 250 ms, and exactly as many tickets in the database as 201
answers.  The same load then runs with KBGEN_SQLITE_SYNCHRONOUS=normal, in the same run, to
report what durability costs as a ratio.

    python bench/bench_intake.py            # alone; prints the markdown section
    make bench                               # as a section of bench/results.md
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from service import KBGEN, REPO, free_port, wait_until_serving  # a measured `kbgen serve`: start-up, paths

CLIENTS = 16
PER_CLIENT = 150  # 2,400 tickets in all
WARMUP = 5
PASSWORD = "bench password 1"
TARGET_RATE = 200.0
# One service process per core, as README: Deploy advises; KBGEN_BENCH_SERVE_ARGS="" measures one.
SERVE_ARGS = os.environ.get("KBGEN_BENCH_SERVE_ARGS", "--workers 2").split()
TARGET_P99_MS = 250.0


@dataclass
class Context:  # what run() needs of bench/run.py's context, for running alone
    workdir: Path


def _body(client: int, n: int) -> dict:
    return {"product": "xcally", "request_type": "technical-issue", "priority": "medium",
            "idempotency_key": f"bench-{client:02d}-{n:05d}",
            "fields": {"summary": f"Bench ticket {n} from client {client}",
                       "description": "Inbound calls drop after thirty seconds on every queue.",
                       "motion_version": "3.41.2", "deployment": "on-premise", "affected_users": "all",
                       "server_access": "no", "channels": ["voice", "chat"]}}


def prepare(project: Path) -> dict[str, str]:
    """A project with the repository's forms, an empty site and 16 customers; the serve environment."""
    from kbgen import accounts
    from kbgen.accounts import Organization, User
    from kbgen.db import make_sessionmaker, open_database
    from kbgen.settings import Settings

    shutil.copytree(REPO / "forms", project / "forms")
    (project / "site").mkdir(parents=True)
    (project / "site" / "index.html").write_text("<!doctype html><title>bench</title>")
    env = {"KBGEN_DATA_DIR": str(project / "data"), "KBGEN_DATABASE_URL": f"sqlite:///{project / 'kbgen.db'}",
           "KBGEN_SMTP_URL": "", "KBGEN_SECRET_KEY": "bench"}
    engine = open_database(Settings.from_env(project, env=env)).engine  # as `kbgen serve` will open it
    hashed = accounts.hash_password(PASSWORD)
    with make_sessionmaker(engine).begin() as db:
        org = Organization(name="Bench Telecom")
        db.add_all(User(organization=org, email=f"client{i}@bench.example", name=f"Client {i}", role="customer",
                        password_hash=hashed) for i in range(CLIENTS))
    engine.dispose()
    return env


def _client(base: str, i: int):
    import httpx

    # Like the form page's script in a browser: same-origin Origin header, CSRF token from the cookie.
    client = httpx.Client(base_url=base, timeout=30, headers={"Origin": base})
    response = client.post("/api/session", json={"email": f"client{i}@bench.example", "password": PASSWORD})
    response.raise_for_status()
    client.headers["X-CSRF-Token"] = client.cookies["kbgen_csrf"]
    return client


def load(base: str) -> tuple[list[float], dict[int, int], float]:
    """(latencies in ms of timed requests, count per status, wall seconds of the timed part)."""
    clients = [_client(base, i) for i in range(CLIENTS)]
    for i, client in enumerate(clients):  # warm up the connection pool, the forms and the code paths
        for n in range(WARMUP):
            client.post("/api/tickets", json=_body(i, 100000 + n)).raise_for_status()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)

    def worker(i: int) -> None:
        mine, codes = [], []
        start.wait()
        for n in range(PER_CLIENT):
            began = time.perf_counter()
            response = clients[i].post("/api/tickets", json=_body(i, n))
            mine.append((time.perf_counter() - began) * 1000)
            codes.append(response.status_code)
        with lock:
            latencies.extend(mine)
            for code in codes:
                statuses[code] = statuses.get(code, 0) + 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    for client in clients:
        client.close()
    return latencies, statuses, wall


WRK_PER_CLIENT = 250  # each wrk thread stops after this many answers: nothing is left in flight
WRK_SCRIPT = r"""
-- One wrk thread per client, each with its own signed-in session; counts answers by status.
local sessions = {SESSIONS}
local template = [==[{TEMPLATE}]==]
local threads, next_id = {}, 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
function init(args)
  statuses, counter = {}, 0
  local s = sessions[id + 1]
  wrk.method = "POST"
  wrk.path = "/api/tickets"
  wrk.headers["Cookie"] = s[1]
  wrk.headers["X-CSRF-Token"] = s[2]
  wrk.headers["Origin"] = "{BASE}"
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  counter = counter + 1
  local body = template:gsub("@KEY@", string.format("wrk-%02d-%06d", id, counter))
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if counter >= {PER_CLIENT} then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do total[code] = (total[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(total) do table.insert(parts, code .. "=" .. n) end
  io.write(string.format("KBGEN seconds=%f p50=%f p95=%f p99=%f mean=%f statuses=%s\n",
    summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency.mean / 1e3, table.concat(parts, ",")))
end
"""


def load_wrk(base: str, workdir: Path) -> tuple[dict, dict[int, int], float]:
    """The same load from wrk, a load generator in C: the clients then leave the CPU to the service."""
    import json

    clients = [_client(base, i) for i in range(CLIENTS)]
    sessions = []
    for i, client in enumerate(clients):
        for n in range(WARMUP):
            client.post("/api/tickets", json=_body(i, 100000 + n)).raise_for_status()
        sessions.append((f"kbgen_session={client.cookies['kbgen_session']}; kbgen_csrf={client.cookies['kbgen_csrf']}",
                         client.cookies["kbgen_csrf"]))
        client.close()
    template = json.dumps(_body(0, 0)).replace("bench-00-00000", "@KEY@")
    lua = (WRK_SCRIPT.replace("{SESSIONS}", "{" + ", ".join(f"{{{json.dumps(c)}, {json.dumps(t)}}}" for c, t in sessions) + "}")
           .replace("{TEMPLATE}", template).replace("{BASE}", base).replace("{PER_CLIENT}", str(WRK_PER_CLIENT)))
    script = workdir / "intake.lua"
    script.write_text(lua)
    # wrk runs until its duration ends even when every thread has stopped; stop it with SIGINT
    # (it then reports) once the database holds every ticket, and time the run from the tickets.
    wrk = subprocess.Popen(["wrk", f"-t{CLIENTS}", f"-c{CLIENTS}", "-d600s", "--timeout", "10s", "-s", str(script),
                            base + "/api/tickets"], stdout=subprocess.PIPE, text=True)
    with sqlite3.connect(workdir / "kbgen.db") as db:
        seen, still = -1, 0
        while wrk.poll() is None and still < 10:  # done: no new ticket for 2 s
            count = _wrk_tickets(db)[0]
            seen, still = count, (still + 1 if count == seen else 0)
            time.sleep(0.2)
        wrk.send_signal(signal.SIGINT)
        out, _ = wrk.communicate(timeout=60)
        count, first, last = _wrk_tickets(db)
    line = next(row for row in out.splitlines() if row.startswith("KBGEN "))
    fields = dict(part.split("=", 1) for part in line.split()[1:])
    statuses = {int(code): int(n) for code, n in (p.split("=") for p in fields["statuses"].split(",") if p)}
    figures = {k: float(fields[k]) for k in ("p50", "p95", "p99", "mean")}
    span = (dt.datetime.fromisoformat(last) - dt.datetime.fromisoformat(first)).total_seconds()
    return figures, statuses, span + figures["mean"] / 1000  # first request sent .. last answer received


def _wrk_tickets(db) -> tuple[int, str, str]:
    # fetchall, not fetchone: a statement left unfinished keeps a read snapshot open, and the
    # server's WAL then grows without checkpoints and its writes slow down.
    return db.execute("SELECT count(*), min(created_at), max(created_at) FROM tickets "
                      "WHERE idempotency_key LIKE 'wrk-%'").fetchall()[0]


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


ROUNDS = int(os.environ.get("KBGEN_BENCH_INTAKE_ROUNDS", "2"))
MODES = [  # (KBGEN_SQLITE_SYNCHRONOUS, what the report calls it); the default first
    ("full", "durable commits (`synchronous=FULL`, the default)"),
    ("normal", "`KBGEN_SQLITE_SYNCHRONOUS=normal` (the earlier `synchronous=NORMAL`)"),
]


def measure(workdir: Path, synchronous: str) -> dict:
    """One intake run against a fresh project whose service commits with this synchronous mode."""
    project = workdir / f"bench-intake-{synchronous}"
    env = {**prepare(project), "KBGEN_SQLITE_SYNCHRONOUS": synchronous}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(KBGEN), "serve", "--port", str(port), "--project", str(project), *SERVE_ARGS],
                              cwd=project, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_until_serving(base, server)
        if shutil.which("wrk"):
            figures, statuses, wall = load_wrk(base, project)
            client = f"wrk ({CLIENTS} threads, one connection and one signed-in customer each, {WRK_PER_CLIENT} tickets each)"
        else:  # slower clients in Python threads: they take CPU from the service
            latencies, statuses, wall = load(base)
            figures = {"p50": _percentile(latencies, 50), "p95": _percentile(latencies, 95),
                       "p99": _percentile(latencies, 99), "mean": statistics.fmean(latencies)}
            client = f"Python httpx clients in threads, {PER_CLIENT} tickets each (install wrk for lighter clients)"
    finally:
        server.terminate()
        try:
            server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
    with sqlite3.connect(project / "kbgen.db") as db:
        stored = db.execute("SELECT count(*) FROM tickets").fetchone()[0] - CLIENTS * WARMUP
    created = statuses.get(201, 0)
    others = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()) if code != 201) or "none"
    return {**figures, "rate": created / wall, "created": created, "stored": stored, "others": others,
            "client": client}


def _filesystem(path: Path) -> str:
    """The file system the databases are on: on tmpfs an fsync costs nothing and FULL looks free."""
    best, kind = "", "unknown"
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                device, point, fstype = line.split()[:3]
                if str(path.resolve()).startswith(point) and len(point) > len(best):
                    best, kind = point, f"{fstype} ({device} on {point})"
    except OSError:
        pass
    return kind


def commit_cost(workdir: Path, synchronous: str, commits: int = 300) -> float:
    """Milliseconds per one-row commit in WAL mode with this synchronous mode, on the bench's disk.

    Writers take turns at SQLite's one write lock, and FULL holds it while the log is flushed,
    so 1000 / this is a ceiling on commits per second whatever the number of workers.
    """
    path = workdir / f"commit-cost-{synchronous}.db"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        db.execute("CREATE TABLE t (body TEXT)")
        began = time.perf_counter()
        for _ in range(commits):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t VALUES (?)", ("x" * 500,))
            db.execute("COMMIT")
        return (time.perf_counter() - began) / commits * 1000
    finally:
        db.close()


def run(ctx) -> str:
    load_before = os.getloadavg()[0]
    Path(ctx.workdir).mkdir(parents=True, exist_ok=True)
    costs = {mode: commit_cost(Path(ctx.workdir), mode) for mode, _ in MODES}
    rounds: dict[str, list[dict]] = {mode: [] for mode, _ in MODES}
    for n in range(ROUNDS):  # interleaved, each round in the other order: drift in the machine's load cancels
        for mode, _ in (MODES if n % 2 == 0 else MODES[::-1]):
            rounds[mode].append(measure(Path(ctx.workdir) / f"round-{n}", mode))
    runs = {mode: _combined(results) for mode, results in rounds.items()}
    durable, fast = runs["full"], runs["normal"]
    ratios = [f["rate"] / n["rate"] for f, n in zip(rounds["full"], rounds["normal"]) if n["rate"]]
    ratio = statistics.fmean(ratios) if ratios else float("nan")
    ok = lambda good: "yes" if good else "**no**"  # noqa: E731
    lat = lambda r: f"{r['p50']:.0f} / {r['p95']:.0f} / {r['p99']:.0f}"  # noqa: E731
    per_round = lambda mode: ", ".join(f"{r['rate']:.0f}" for r in rounds[mode])  # noqa: E731
    return "\n".join([
        f"## Ticket intake: {CLIENTS} concurrent clients, `kbgen serve` on SQLite",
        "",
        f"{CLIENTS} clients post XCALLY tickets (JSON, signed in, as the form page's script does) as fast as "
        f"they are answered, to `kbgen serve {' '.join(SERVE_ARGS)}` (plus its mail process) on the same machine: "
        f"{ROUNDS} rounds with each SQLite synchronous mode, interleaved in this run. Clients: {durable['client']}. "
        f"Databases on {_filesystem(Path(ctx.workdir))}.",
        "",
        "| measure | " + " | ".join(label for _, label in MODES) + " | target (default) | met |",
        "|---|---|---|---|---|",
        f"| tickets accepted per second (mean of the rounds) | {durable['rate']:.0f} | {fast['rate']:.0f} "
        f"| ≥ {TARGET_RATE:.0f} | {ok(durable['rate'] >= TARGET_RATE)} |",
        f"| tickets per second in each round | {per_round('full')} | {per_round('normal')} | | |",
        f"| latency p50 / p95 / p99 (ms, slowest round) | {lat(durable)} | {lat(fast)} | p99 ≤ {TARGET_P99_MS:.0f} "
        f"| {ok(durable['p99'] <= TARGET_P99_MS)} |",
        f"| 201 answers / tickets stored | {durable['created']} / {durable['stored']} | "
        f"{fast['created']} / {fast['stored']} | equal | {ok(durable['created'] == durable['stored'])} |",
        f"| other answers | {durable['others']} | {fast['others']} | none | {ok(durable['others'] == 'none')} |",
        f"| mean latency (ms) | {durable['mean']:.0f} | {fast['mean']:.0f} | | |",
        f"| one SQLite commit alone (ms) | {costs['full']:.2f} | {costs['normal']:.2f} | | |",
        "",
        f"Durable commits give intake **{ratio:.2f}×** the tickets per second of `synchronous=NORMAL` "
        f"(per round: {', '.join(f'{r:.2f}' for r in ratios)}). FULL flushes SQLite's write-ahead log to the disk "
        "at every commit; NORMAL only at checkpoints, so a power loss can take the last acknowledged tickets. "
        f"Writers take turns at SQLite's write lock, which FULL holds during the flush: at {costs['full']:.2f} ms "
        f"a commit, this disk allows at most {1000 / costs['full']:.0f} commits per second, and a ticket "
        "makes several (the ticket, then the mail process's claim and mark of each of its emails).",
        "",
        f"Load average before the runs: {load_before:.1f} on {os.cpu_count()} cores (other work on the machine "
        "takes CPU from the service and lowers the rate).",
        "",
    ])


def _combined(results: list[dict]) -> dict:
    """One mode's rounds: mean rate and latency, the slowest round's percentiles, every answer counted."""
    slowest = max(results, key=lambda r: r["p99"])
    others = [r["others"] for r in results if r["others"] != "none"]
    return {"rate": statistics.fmean(r["rate"] for r in results), "mean": statistics.fmean(r["mean"] for r in results),
            "p50": slowest["p50"], "p95": slowest["p95"], "p99": slowest["p99"],
            "created": sum(r["created"] for r in results), "stored": sum(r["stored"] for r in results),
            "others": "; ".join(others) or "none", "client": results[0]["client"]}


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="kbgen-bench-intake-") as tmp:
        print(run(Context(Path(tmp))))
