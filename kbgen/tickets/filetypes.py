"""Which files tickets and comments take: by extension and by what the bytes really are.

A form's attachments field says what it takes (`accept:` in forms/*.yml, the same list the
form page puts on its file input); comments, which have no form field, take DEFAULT_ACCEPT.
Whatever a list says:

- the extension must be one the list names (or, for a MIME entry such as `image/*`, one
  of that type's extensions, below in KINDS);
- a known extension must match the content: a `.png` must start like a PNG, a `.log` must be
  text, and so on (the first HEAD_BYTES decide, and text is checked to its last byte);
- programs, scripts and web pages are refused, by extension (DANGEROUS_EXTENSIONS) and by
  content (Windows, Linux and macOS executables, `#!` scripts, HTML and SVG), even where a
  field has no accept list.  A form takes one of them only by listing its extension itself
  (e.g. `accept: [.html]`); a MIME wildcard never does.

Text is UTF-8, UTF-16 with a byte order mark, or an 8-bit encoding such as Latin-1 or
Windows-1252, without NUL or other control bytes (tab, line feed, carriage return, form
feed, backspace, escape for colored logs, and Ctrl-Z are fine), and not starting like an
HTML page, an SVG image or a script.

Archives are taken as archives: what is inside a `.zip` or `.gz` is not looked at.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Callable, Sequence

HEAD_BYTES = 8192  # what is read of each upload before anything is written

# Comments, and uploads of a field the forms no longer define: the everyday evidence of a
# support conversation.  The one default list; README: Writing ticket forms documents it.
DEFAULT_ACCEPT: tuple[str, ...] = (
    ".png", ".jpg", ".jpeg", ".gif", ".webp",
    ".pdf", ".docx", ".xlsx",
    ".txt", ".log", ".csv", ".json", ".har", ".xml", ".yaml", ".yml",
    ".zip", ".gz", ".tgz", ".tar", ".7z",
    ".pcap", ".pcapng", ".wav", ".mp3", ".mp4", ".webm",
)

# What Windows, a shell or a browser runs or renders as a page when the file is opened.
DANGEROUS_EXTENSIONS: tuple[str, ...] = (
    ".exe", ".com", ".scr", ".pif", ".cpl", ".dll", ".msi", ".msp", ".lnk", ".reg",
    ".bat", ".cmd", ".ps1", ".psm1", ".vbs", ".vbe", ".js", ".jse", ".mjs", ".wsf", ".wsh", ".hta",
    ".jar", ".apk", ".app", ".sh", ".bash",
    ".html", ".htm", ".xhtml", ".xht", ".shtml", ".mht", ".mhtml", ".svg", ".svgz",
)


@dataclass(frozen=True)
class Kind:
    name: str  # what the messages call it: "a PNG image"
    extensions: tuple[str, ...]
    mime_types: tuple[str, ...]
    matches: Callable[[bytes], bool]
    text: bool = False  # checked to the last byte while it is copied


def _starts(*magics: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(magics)


def _riff(form: bytes) -> Callable[[bytes], bool]:
    return lambda head: head[:4] == b"RIFF" and head[8:12] == form


def _mp3(head: bytes) -> bool:
    return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


_ZIP = _starts(b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

# --------------------------------------------------------------------------- text

_BOMS = ((codecs.BOM_UTF8, None), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_CONTROL_BYTES = re.compile(rb"[\x00-\x07\x0e-\x19\x1c-\x1f]")
_CONTROL_CHARS = re.compile(r"[\x00-\x07\x0e-\x19\x1c-\x1f]")
# The first element of a document that starts with markup: `<html`, or `<svg` after an XML
# declaration, comments or a doctype.  `<13>Jan 1 ...` (a syslog priority) is no element.
_FIRST_ELEMENT = re.compile(r"\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*|<!(?!--)[^>]*>\s*)*<([A-Za-z][\w.:-]*)", re.S)
_DOCTYPE = re.compile(r"\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*)*<!doctype\s+(html|svg)", re.S | re.I)
_PAGE_ELEMENTS = {"html", "head", "body", "svg", "script", "iframe", "object", "embed", "frameset", "meta",
                  "link", "style", "img", "a", "div", "form", "base"}


class TextCheck:
    """Streams a text file's bytes (`feed`), remembering whether they are still text."""

    def __init__(self) -> None:
        self.decoder = None
        self.started = False
        self.ok = True

    def feed(self, chunk: bytes, final: bool = False) -> bool:
        if not self.ok:
            return False
        if not self.started:
            self.started = True
            for bom, encoding in _BOMS:
                if chunk.startswith(bom):
                    if encoding:
                        self.decoder = codecs.getincrementaldecoder(encoding)()
                    chunk = chunk[len(bom):]
                    break
        if self.decoder is not None:
            try:
                self.ok = not _CONTROL_CHARS.search(self.decoder.decode(chunk, final))
            except UnicodeDecodeError:
                self.ok = False
        else:
            self.ok = not _CONTROL_BYTES.search(chunk)
        return self.ok


def _decoded_head(head: bytes) -> str:
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return head[len(bom):].decode(encoding or "utf-8", "ignore")
    return head.decode("utf-8", "ignore")


def looks_like_page(head: bytes) -> bool:
    """True when the text starts like an HTML page, an SVG image or a script tag."""
    start = _decoded_head(head[:HEAD_BYTES])
    if _DOCTYPE.match(start):
        return True
    element = _FIRST_ELEMENT.match(start)
    return bool(element and element.group(1).split(":")[-1].lower() in _PAGE_ELEMENTS)


def is_text(head: bytes) -> bool:
    """The start of a file is text (the rest is checked with TextCheck while copying)."""
    check = TextCheck()
    # A cut in the middle of a UTF-16 character is not an error: more bytes would follow.
    return check.feed(head) and not looks_like_page(head) and not head.lstrip(codecs.BOM_UTF8).startswith(b"#!")


KINDS: tuple[Kind, ...] = (
    Kind("a PNG image", (".png",), ("image/png",), _starts(b"\x89PNG\r\n\x1a\n")),
    Kind("a JPEG image", (".jpg", ".jpeg", ".jfif"), ("image/jpeg",), _starts(b"\xff\xd8\xff")),
    Kind("a GIF image", (".gif",), ("image/gif",), _starts(b"GIF87a", b"GIF89a")),
    Kind("a WebP image", (".webp",), ("image/webp",), _riff(b"WEBP")),
    Kind("a PDF document", (".pdf",), ("application/pdf",), _starts(b"%PDF-")),
    Kind("a Word document", (".docx",),
         ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",), _ZIP),
    Kind("an Excel workbook", (".xlsx",),
         ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",), _ZIP),
    Kind("a PowerPoint presentation", (".pptx",),
         ("application/vnd.openxmlformats-officedocument.presentationml.presentation",), _ZIP),
    Kind("an OpenDocument file", (".odt", ".ods", ".odp"),
         ("application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
          "application/vnd.oasis.opendocument.presentation"), _ZIP),
    Kind("a ZIP archive", (".zip",), ("application/zip", "application/x-zip-compressed"), _ZIP),
    Kind("a gzip archive", (".gz", ".tgz", ".tar.gz"), ("application/gzip", "application/x-gzip"),
         _starts(b"\x1f\x8b")),
    Kind("a bzip2 archive", (".bz2", ".tar.bz2"), ("application/x-bzip2",), _starts(b"BZh")),
    Kind("an xz archive", (".xz", ".tar.xz"), ("application/x-xz",), _starts(b"\xfd7zXZ\x00")),
    Kind("a tar archive", (".tar",), ("application/x-tar",), lambda head: head[257:262] == b"ustar"),
    Kind("a 7-Zip archive", (".7z",), ("application/x-7z-compressed",), _starts(b"7z\xbc\xaf\x27\x1c")),
    Kind("a packet capture", (".pcap", ".cap"), ("application/vnd.tcpdump.pcap",),
         _starts(b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")),
    Kind("a pcapng packet capture", (".pcapng",), ("application/x-pcapng",), _starts(b"\x0a\x0d\x0d\x0a")),
    Kind("a WAV recording", (".wav",), ("audio/wav", "audio/x-wav", "audio/vnd.wave"), _riff(b"WAVE")),
    Kind("an MP3 recording", (".mp3",), ("audio/mpeg",), _mp3),
    Kind("an Ogg recording", (".ogg", ".oga", ".opus"), ("audio/ogg",), _starts(b"OggS")),
    Kind("an MP4 video", (".mp4", ".m4v", ".m4a", ".mov"), ("video/mp4", "video/quicktime", "audio/mp4"),
         lambda head: head[4:8] == b"ftyp"),
    Kind("a WebM video", (".webm", ".mkv"), ("video/webm", "video/x-matroska"), _starts(b"\x1a\x45\xdf\xa3")),
    Kind("a text file", (".txt", ".log", ".out", ".text", ".md", ".ini", ".conf", ".cfg", ".eml"),
         ("text/plain", "text/markdown", "message/rfc822"), is_text, text=True),
    Kind("a CSV file", (".csv", ".tsv"), ("text/csv", "text/tab-separated-values"), is_text, text=True),
    Kind("a JSON file", (".json", ".har"), ("application/json",), is_text, text=True),
    Kind("a YAML file", (".yaml", ".yml"), ("application/yaml", "application/x-yaml", "text/yaml"),
         is_text, text=True),
    Kind("an XML file", (".xml",), ("application/xml", "text/xml"), is_text, text=True),
)

# What refused content looks like, for the message; checked in this order.
_DANGEROUS_CONTENT: tuple[tuple[str, Callable[[bytes], bool]], ...] = (
    ("a Windows program", _starts(b"MZ")),
    ("a Linux program", _starts(b"\x7fELF")),
    ("a macOS program", _starts(b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                                b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")),
    ("a script", lambda head: head.lstrip(codecs.BOM_UTF8).startswith(b"#!")),
    ("a web page or SVG image", looks_like_page),
)


def dangerous_content(head: bytes) -> str | None:
    """What the content is, when it is a program, a script or a page; else None."""
    return next((name for name, test in _DANGEROUS_CONTENT if test(head)), None)


def describe(head: bytes) -> str:
    """What the content looks like, for a message."""
    found = dangerous_content(head)
    if found:
        return found
    if not head:
        return "an empty file"
    for kind in KINDS:
        if kind.matches(head):
            return kind.name
    return "binary data of an unknown type"


def extension(filename: str) -> str:
    """The extension that decides the file's type, lowercased: '.tar.gz', '.png', or ''.

    Trailing dots and spaces are dropped, as Windows drops them when it saves the file:
    'tool.exe.' is a program.
    """
    name = filename.lower().rstrip(". ")
    for kind in KINDS:
        for ext in kind.extensions:
            if ext.count(".") > 1 and name.endswith(ext) and len(name) > len(ext):
                return ext
    stem, dot, ext = name.rpartition(".")
    return f".{ext}" if dot and stem else ""


def kind_of(filename: str) -> Kind | None:
    ext = extension(filename)
    return next((k for k in KINDS if ext in k.extensions), None)


def _mime_matches(entry: str, kind: Kind | None) -> bool:
    if kind is None:
        return False
    if entry.endswith("/*"):
        return any(m.startswith(entry[:-1]) for m in kind.mime_types)
    return entry in kind.mime_types


@dataclass(frozen=True)
class Refusal:
    reason: str  # a sentence about the file, without its name or the list


def check(filename: str, head: bytes, accept: Sequence[str] | None) -> tuple[Kind | None, Refusal | None]:
    """(the kind the extension promises, or None; why the file is refused, or None).

    `accept` is a field's list (extensions '.log' and MIME types 'image/*', lowercase);
    empty or None means "any type that is not a program, a script or a page".
    `head` is the first HEAD_BYTES of the file; for a text kind the caller feeds the
    whole file through TextCheck as well.
    """
    name = filename.lower().rstrip(". ")
    ext = extension(filename)
    kind = kind_of(filename)
    accept = tuple(accept or ())
    listed = [a for a in accept if a.startswith(".") and name.endswith(a) and len(name) > len(a)]
    if any(a in DANGEROUS_EXTENSIONS for a in listed):  # the form's author asked for this program or page type
        return kind, None
    bad_ext = next((d for d in DANGEROUS_EXTENSIONS if name.endswith(d)), None)
    if bad_ext:
        return kind, Refusal(f"{bad_ext} files are programs, scripts or web pages, which are refused")
    if accept and not listed and not any(_mime_matches(a, kind) for a in accept if "/" in a):
        what = f"{ext} files are" if ext else "files without an extension are"
        return kind, Refusal(f"{what} not among its types")
    if kind is not None:
        if not kind.matches(head):
            return kind, Refusal(f"it is named {ext} but its content is not {kind.name}; "
                                 f"it looks like {describe(head)}")
        return kind, None
    found = dangerous_content(head)
    if found:
        return kind, Refusal(f"its content is {found}, and programs, scripts and web pages are refused")
    return kind, None
