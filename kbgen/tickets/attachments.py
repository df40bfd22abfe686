"""Attachments: the checks a file passes before it is kept, and its storage outside the web root.

A file is stored under a random name in Settings.attachments_dir and fsynced (with its
folder) before the row that points at it is committed, so a committed attachment always
has its file; a refused or rolled-back one leaves nothing behind.
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Sequence

from kbgen.accounts import User
from kbgen.settings import Settings
from kbgen.tickets import filetypes
from kbgen.tickets.errors import AttachmentNotAccepted, AttachmentRejected
from kbgen.tickets.models import MAX_FILENAME, Attachment, Ticket, TicketEvent

_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f]+")  # control characters and spaces, for file names


@dataclass
class Upload:
    """A file as received: the adapter passes an open binary file, we copy it into storage."""

    filename: str
    file: BinaryIO
    content_type: str = "application/octet-stream"
    field: str | None = None
    size: int | None = None  # when the adapter knows it already


@dataclass
class Stored:
    upload: Upload
    stored_name: str
    size: int
    path: Path


def clean_filename(name: str) -> str:
    base = re.split(r"[\\/]", name or "")[-1]
    base = _INVISIBLE.sub(" ", base).strip() or "attachment"
    return base[:MAX_FILENAME]


def check_upload_limits(settings: Settings, uploads: Sequence[Upload]) -> None:
    if len(uploads) > settings.max_attachments:
        raise AttachmentRejected(
            f"{len(uploads)} files attached; at most {settings.max_attachments} are accepted per submission. "
            "Attach fewer files, or put them in one archive.")
    for upload in uploads:
        if upload.size is not None and upload.size > settings.max_attachment_bytes:
            raise AttachmentRejected(_too_large(upload, settings))


def _too_large(upload: Upload, settings: Settings) -> str:
    limit = settings.max_attachment_bytes
    return (f"'{clean_filename(upload.filename)}' is larger than {_human(limit)}, the limit per file. "
            "Compress it or split it, and attach it again.")


def _human(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:g} {unit}" if unit == "bytes" else f"{size:.3g} {unit}"
        size /= 1024
    return str(size)


def _accept_lists(settings: Settings, submission: Any) -> dict[str, tuple[str, tuple[str, ...]]]:
    """(label, accept list) of each attachments field of the submission's form, by field name."""
    from kbgen.forms import FormDefinitionError, load_catalog

    folder = Path(settings.forms_dir)
    try:
        # The forms are read once, and again only when a definition file changes.
        stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.y*ml")))
        cached = _FORMS.get(folder)
        if cached is None or cached[0] != stamp:
            cached = _FORMS[folder] = (stamp, load_catalog(folder))
    except (OSError, FormDefinitionError):
        return {}  # then every file gets the default list: never more than a form would take
    rtype = cached[1].request_type(getattr(submission, "product", None), getattr(submission, "request_type", None))
    return {f.name: (f.label, f.accept) for f in (rtype.fields.values() if rtype else ()) if f.type == "attachments"}


_FORMS: dict[Path, tuple[tuple, Any]] = {}


def _where(upload: Upload, fields: dict[str, tuple[str, tuple[str, ...]]] | None) -> tuple[str, str, tuple[str, ...]]:
    """(input name for errors, how a message names the place, accepted types) of one upload."""
    if fields is None:
        return "files", "a comment (files)", filetypes.DEFAULT_ACCEPT
    if upload.field in fields:
        label, accept = fields[upload.field]
        return f"files.{upload.field}", f"\u201c{label}\u201d (files.{upload.field})", accept
    return f"files.{upload.field}", f"files.{upload.field}", filetypes.DEFAULT_ACCEPT


def _not_accepted(upload: Upload, where: tuple[str, str, tuple[str, ...]], reason: str) -> AttachmentNotAccepted:
    field, place, accept = where
    name = clean_filename(upload.filename)
    listed = ", ".join(accept) if accept else "any file that is not a program, a script or a web page"
    message = (f"'{name}' cannot be attached to {place}: {reason}. It accepts {listed}; "
               "attach a file of one of those types.")
    # The web layer turns `field` into the answer's errors: [{field, message}].
    return AttachmentNotAccepted(message, field=field, filename=name, accepted=list(accept))


def _not_text(upload: Upload, where: tuple[str, str, tuple[str, ...]], why: str) -> AttachmentNotAccepted:
    ext = filetypes.extension(clean_filename(upload.filename))
    return _not_accepted(upload, where, f"it is named {ext} but its content is not text; {why}")


def _read_head(upload: Upload) -> bytes:
    head = b""
    while len(head) < filetypes.HEAD_BYTES and (chunk := upload.file.read(filetypes.HEAD_BYTES - len(head))):
        head += chunk
    return head


def _fsync(fd: int) -> None:
    import fcntl

    if hasattr(fcntl, "F_FULLFSYNC"):  # macOS: plain fsync leaves the data in the drive's cache
        fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
    else:
        os.fsync(fd)


def _fsync_dir(folder: Path) -> None:
    """Make the folder's entries (a new file's name) survive power loss, not only its data."""
    if os.name == "nt":  # Windows cannot open a folder to flush it; NTFS journals the names itself
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        _fsync(fd)
    finally:
        os.close(fd)


def _attachments_folder(settings: Settings) -> Path:
    folder = settings.attachments_dir
    if not folder.is_dir():
        created = [p for p in (folder, *folder.parents) if not p.exists()]
        folder.mkdir(parents=True, exist_ok=True)
        for path in created:
            _fsync_dir(path.parent)
    return folder


def store_files(settings: Settings, uploads: Sequence[Upload], submission: Any = None) -> list[Stored]:
    """Copy uploads into the attachments folder, durably, once each type is accepted.

    `submission` (a validated form) gives each upload its field's accept list; without
    one (comments) the uploads get filetypes.DEFAULT_ACCEPT.  Every file is checked
    before any is written, so a refused file leaves nothing behind; text is checked to
    its last byte while it is copied.  The files and their folder are fsynced here, before
    the caller commits the rows that point at them.
    """
    check_upload_limits(settings, uploads)
    if not uploads:
        return []
    fields = _accept_lists(settings, submission) if submission is not None else None
    checked = []
    for upload in uploads:
        where = _where(upload, fields)
        head = _read_head(upload)
        kind, refusal = filetypes.check(clean_filename(upload.filename), head, where[2])
        if refusal is not None:
            raise _not_accepted(upload, where, refusal.reason)
        checked.append((upload, where, head, filetypes.TextCheck() if kind is not None and kind.text else None))
    folder = _attachments_folder(settings)
    stored: list[Stored] = []
    try:
        for upload, where, head, text in checked:
            name = secrets.token_hex(20)
            path = folder / name
            size = 0
            with open(path, "xb") as out:
                stored.append(Stored(upload, name, 0, path))  # from here on, _discard removes it
                chunk = head
                while chunk:
                    size += len(chunk)
                    if size > settings.max_attachment_bytes:
                        raise AttachmentRejected(_too_large(upload, settings))
                    if text is not None and not text.feed(chunk):
                        raise _not_text(upload, where, "it holds binary or control bytes")
                    out.write(chunk)
                    chunk = upload.file.read(1024 * 1024)
                if text is not None and not text.feed(b"", final=True):
                    raise _not_text(upload, where, "it ends in the middle of a character")
                out.flush()
                _fsync(out.fileno())
            stored[-1].size = size
        _fsync_dir(folder)
    except BaseException:
        discard(stored)
        raise
    return stored


def discard(stored: Iterable[Stored]) -> None:
    for item in stored:
        item.path.unlink(missing_ok=True)


def attachment_rows(stored: Sequence[Stored], ticket: Ticket, user: User,
                     event: TicketEvent | None = None) -> list[Attachment]:
    return [Attachment(ticket=ticket, event=event, field=item.upload.field,
                       filename=clean_filename(item.upload.filename), stored_name=item.stored_name,
                       content_type=(item.upload.content_type or "application/octet-stream")[:120],
                       size=item.size, uploaded_by_id=user.id)
            for item in stored]


def attachment_path(settings: Settings, attachment: Attachment) -> Path:
    return settings.attachments_dir / attachment.stored_name
