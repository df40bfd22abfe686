"""The real `kbgen serve`: the built portal, the API, and its mail process delivering a ticket's emails."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import free_port, run_kbgen


def _wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_the_portal_and_its_mail_process_sends_the_tickets_emails(built_project, smtp_server, tmp_path,
                                                                                 workers):
    env = {**os.environ, "KBGEN_DATA_DIR": str(tmp_path / "data"), "KBGEN_SMTP_URL": smtp_server.url,
           "KBGEN_SUPPORT_EMAIL": "team@vendor.example"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    demo = run_kbgen("demo", "--inventory", "none.yml", "--url", base, cwd=built_project, env=env)
    assert demo.returncode == 0, demo.stderr
    assert f"Portal: {base}/ " in demo.stdout  # where `make run PORT=...` serves, not the default port
    kbgen = str(Path(sys.executable).with_name("kbgen"))
    server = subprocess.Popen([kbgen, "serve", "--port", str(port), "--workers", str(workers)], cwd=built_project, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until(lambda: _get(base + "/") == 200, 30, "kbgen serve")
        assert "How can we help?" in httpx.get(base + "/").text
        with httpx.Client(base_url=base, headers={"Origin": base}) as client:
            client.post("/api/session", json={"email": "customer@acme.example", "password": "demo-customer"}
                        ).raise_for_status()
            client.headers["X-CSRF-Token"] = client.cookies["kbgen_csrf"]
            created = client.post("/api/tickets", json={
                "product": "xplany", "request_type": "technical-issue", "priority": "low",
                "idempotency_key": f"serve-test-{workers}",
                "fields": {"summary": "Forecast is empty for next week",
                           "description": "The forecast page shows no volumes for any queue since Monday.",
                           "xplany_version": "2.4.1", "module": "forecasting", "deployment": "cloud",
                           "acd_source": "xcally"}})
            assert created.status_code == 201, created.text
            key = created.json()["key"]
            assert client.get(f"/requests/{key}/").status_code == 200
        recipients = _wait_until(lambda: {m["X-Rcpt-To"] for m in smtp_server.messages} >=
                                 {"customer@acme.example", "team@vendor.example"} and smtp_server.messages, 30,
                                 "the ticket's two emails")
        assert all(key in m["Subject"] for m in recipients)
        mailers = _children(server.pid)
        assert len(mailers) >= 1 + (workers if workers > 1 else 0), "a mail process (and the workers)"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    _wait_until(lambda: all(subprocess.run(["kill", "-0", str(p)], capture_output=True).returncode != 0
                            for p in mailers), 10, "the mail process to stop with the service")


def _get(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0
