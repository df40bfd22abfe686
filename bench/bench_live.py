"""Live updates: how many open ticket pages one `kbgen serve` worker holds, what each costs, how fast they hear.

One worker on SQLite; N ticket pages' event streams (GET /api/tickets/XC-1/live) are opened over
loopback in steps; after each step the worker's resident memory is read from /proc and one change of
the ticket is written to the database, and the time until every stream heard `changed` is measured.

    python bench/bench_live.py          # alone; prints the markdown section
    make bench                          # as a section of bench/results.md
"""
from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from service import KBGEN, REPO, free_port, wait_until_serving  # a measured `kbgen serve`: start-up, paths

STEPS = (100, 500, 1000, 2000)  # open streams at each measurement
OPEN_AT_ONCE = 100  # connections being opened at the same time
STEP_TIMEOUT = 40.0  # seconds to open one step's streams, and for one change to reach them all
KEY = "XC-1"


@dataclass
class Context:
    workdir: Path


def prepare(project: Path) -> tuple[dict[str, str], str]:
    """A project with one organization, one customer with a sign-in session, and one ticket; (env, cookie)."""
    from kbgen import accounts
    from kbgen.accounts import Organization, User
    from kbgen.db import make_sessionmaker, open_database, utcnow
    from kbgen.settings import Settings
    from kbgen.tickets import KeyCounter, Ticket

    shutil.copytree(REPO / "forms", project / "forms")
    (project / "site").mkdir(parents=True)
    database = project / "kbgen.db"
    env = {"KBGEN_DATA_DIR": str(project / "data"), "KBGEN_DATABASE_URL": f"sqlite:///{database}",
           "KBGEN_SMTP_URL": "", "KBGEN_SECRET_KEY": "bench",
           # The bench opens every stream as one person; the per-worker cap is what it measures past.
           "KBGEN_LIVE_MAX_STREAMS": str(max(STEPS) + 100), "KBGEN_LIVE_MAX_STREAMS_PER_USER": str(max(STEPS) + 100)}
    engine = open_database(Settings.from_env(project, env=env)).engine
    with make_sessionmaker(engine).begin() as db:
        org = Organization(name="Bench Telecom")
        user = User(organization=org, email="watcher@bench.example", name="Watcher", role="customer",
                    password_hash="-")
        db.add_all([org, user])
        db.flush()
        now = utcnow()
        db.add(Ticket(key=KEY, number=1, product="xcally", request_type="technical-issue", priority="high",
                      summary="Calls drop", description="Bench.", status="Waiting for Support", values={},
                      organization_id=org.id, requester_id=user.id, created_at=now, updated_at=now))
        db.add(KeyCounter(prefix="XC", last_number=1))
        token, _login = accounts.open_session(db, user)
    engine.dispose()
    return env, f"{accounts.SESSION_COOKIE}={token}"


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Streams:
    """Event streams held open by this process (asyncio sockets: a few KB each on our side)."""

    def __init__(self, port: int, cookie: str):
        self.port, self.cookie = port, cookie
        self.tasks: list[asyncio.Task] = []
        self.heard: dict[int, list[float]] = {}  # stream -> times it heard `changed`
        self.ready = 0

    async def _one(self, number: int, opened: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write((f"GET /api/tickets/{KEY}/live HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                      f"Accept: text/event-stream\r\nCookie: {self.cookie}\r\n\r\n").encode())
        await writer.drain()
        self.heard[number] = []
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                if line.startswith(b"event: ready"):
                    self.ready += 1
                    opened.set()
                elif line.startswith(b"event: changed"):
                    self.heard[number].append(time.perf_counter())
        finally:
            writer.close()

    async def open(self, count: int) -> None:
        gate = asyncio.Semaphore(OPEN_AT_ONCE)

        async def start(number: int) -> None:
            async with gate:
                opened = asyncio.Event()
                self.tasks.append(asyncio.create_task(self._one(number, opened)))
                await asyncio.wait_for(opened.wait(), STEP_TIMEOUT)

        first = len(self.tasks)
        await asyncio.gather(*(start(n) for n in range(first, first + count)))

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def touch(database: Path) -> float:
    """A change of the ticket, as a comment makes it: its updated_at moves. Returns when it committed."""
    with sqlite3.connect(database, timeout=30) as db:
        db.execute("UPDATE tickets SET updated_at = ? WHERE key = ?",
                   (dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" "), KEY))
    return time.perf_counter()


async def measure(port: int, cookie: str, server: subprocess.Popen, database: Path) -> tuple[int, list[dict], float]:
    pid = server.pid
    streams = Streams(port, cookie)
    await streams.open(1)  # warm-up: the feed, its thread and the route's code are loaded
    await asyncio.sleep(1.0)
    await streams.close()
    await asyncio.sleep(1.0)
    base = rss(pid)
    streams = Streams(port, cookie)
    rows = []
    try:
        for target in STEPS:
            began = time.perf_counter()
            await streams.open(target - len(streams.tasks))
            opened_in = time.perf_counter() - began
            await asyncio.sleep(1.5)
            memory = rss(pid)
            before = {n: len(times) for n, times in streams.heard.items()}
            changed_at = touch(database)
            deadline = time.perf_counter() + STEP_TIMEOUT
            while time.perf_counter() < deadline:
                if all(len(streams.heard[n]) > before[n] for n in before):
                    break
                await asyncio.sleep(0.05)
            delays = sorted(times[before[n]] - changed_at for n, times in streams.heard.items()
                            if len(times) > before[n])
            rows.append({"streams": target, "opened_s": opened_in, "rss": memory,
                         "per_stream_kb": (memory - base) / target / 1024, "heard": len(delays),
                         "p50_ms": statistics.median(delays) * 1000 if delays else float("nan"),
                         "last_ms": delays[-1] * 1000 if delays else float("nan"),
                         "spread_ms": (delays[-1] - delays[0]) * 1000 if delays else float("nan")})
        stopping = time.perf_counter()  # SIGTERM with every stream open: how long until the worker is gone
        server.terminate()
        while server.poll() is None and time.perf_counter() - stopping < 30:
            await asyncio.sleep(0.05)
        stopped_in = time.perf_counter() - stopping
    finally:
        await streams.close()
    return base, rows, stopped_in


def run(ctx) -> str:
    project = Path(ctx.workdir) / "bench-live"
    load_before = os.getloadavg()[0]
    env, cookie = prepare(project)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(KBGEN), "serve", "--port", str(port), "--project", str(project), "--no-mailer"],
                              cwd=project, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until_serving(base_url, server)
        base, rows, stopped_in = asyncio.run(measure(port, cookie, server, project / "kbgen.db"))
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    from kbgen.settings import Settings

    lines = [
        "## Live updates: open ticket pages per worker (`kbgen serve`, one worker, SQLite)",
        "",
        f"Ticket pages' event streams (GET /api/tickets/{KEY}/live) are opened over loopback in steps, "
        f"{OPEN_AT_ONCE} at a time. After each step the worker's resident memory is read, the ticket is "
        "changed in the database, and the time until every open page heard `changed` is measured (the "
        "feed looks at the database once a second, whatever the number of pages, so up to a second of "
        f"the delay is that wait). The worker held {base / 2**20:.0f} MiB before the first stream.",
        "",
        "| open streams | opened in (s) | worker RSS (MiB) | RSS per stream (KiB) | heard the change | "
        "delay p50 (ms) | delay to the last (ms) | first to last (ms) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['streams']:,} | {row['opened_s']:.1f} | {row['rss'] / 2**20:.0f} | "
                     f"{row['per_stream_kb']:.0f} | {row['heard']:,} | {row['p50_ms']:.0f} | {row['last_ms']:.0f} | "
                     f"{row['spread_ms']:.0f} |")
    last = rows[-1] if rows else None
    lines += [
        "",
        (f"One worker held {last['streams']:,} open pages at about {last['per_stream_kb']:.0f} KiB each and told all "
         f"of them of a change within {last['last_ms'] / 1000:.1f} s. The default cap "
         f"(KBGEN_LIVE_MAX_STREAMS) is {Settings.live_max_streams:,} per worker. With those streams open, "
         f"`kbgen serve` stopped {stopped_in:.1f} s after SIGTERM. " if last else "")
        + f"Load average before the run: {load_before:.1f} on {os.cpu_count()} cores.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="kbgen-bench-live-") as tmp:
        print(run(Context(Path(tmp))))
