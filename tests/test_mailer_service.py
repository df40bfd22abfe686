"""The portal service delivers the outbox in the background for as long as it runs."""
from __future__ import annotations

import email
import time
from email import policy
from types import SimpleNamespace

from conftest import LiveServer
from kbgen.web.app import create_app
from kbgen.mail.notifications import notify
from kbgen.settings import Settings


def test_running_service_writes_queued_emails_and_stops_its_sender(tmp_path):
    settings = Settings(project_dir=tmp_path, site_dir=tmp_path / "site", index_dir=tmp_path / "index",
                        data_dir=tmp_path / "data", forms_dir=tmp_path / "forms", content_dir=tmp_path / "content",
                        database_url=f"sqlite:///{tmp_path / 'kbgen.db'}", smtp_url=None,
                        mail_from="portal@support.example", public_url="https://support.example",
                        notify_burst_seconds=0)  # due at once: bursts are tests/test_notification_bursts.py's
    app = create_app(settings, serve_site=False)
    ticket = SimpleNamespace(key="VD-3", product="vidaoo", summary="Echo in rooms", status="Resolved",
                             priority="Normal", url="requests/VD-3/", organization=SimpleNamespace(name="Acme"),
                             requester=SimpleNamespace(email="ada@acme.example", name="Ada", role="customer"))
    with LiveServer(app):
        sender = app.state.outbox_sender
        with app.state.sessionmaker() as session:
            [row] = notify(session, settings, "status_changed", ticket, None, old="In progress", new="Resolved")
            session.commit()
        eml = settings.mail_dir / f"outbox-{row.id}.eml"
        deadline = time.monotonic() + 20
        while not eml.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert message["Subject"] == "[VD-3] Status changed to Resolved: Echo in rooms"
        assert "The support team changed the status" in message.get_body(("plain",)).get_content()
    assert not sender.running  # shutdown stopped it
