"""What every benchmark that measures a running `kbgen serve` needs: a free loopback port, and waiting
until the service answers (or saying why it never did)."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent  # bench/
REPO = HERE.parent
KBGEN = Path(sys.executable).with_name("kbgen")  # the `kbgen` of the Python that runs the benchmarks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(base: str, server: subprocess.Popen, timeout: float = 120) -> None:
    """Until `base` answers /api/me (any status); SystemExit with the server's output if it exits first."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("kbgen serve exited:\n" + (server.stderr.read() if server.stderr else ""))
        try:
            httpx.get(base + "/api/me", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"kbgen serve did not answer on {base}")
