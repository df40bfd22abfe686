"""The portal's Content-Security-Policy: one definition for the service and for static hosts.

`kbgen build` hashes the inline scripts the theme puts on the built pages (never a
writer's content) and writes them into the site, in `.kbgen/csp.json`, together with an
nginx and a Caddy snippet carrying the same header. Living inside the site, the policy
is swapped in with the pages it describes, so a running service never pairs new pages
with old hashes. `kbgen serve` reads the file at start and again whenever it changes.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit

log = logging.getLogger("kbgen.site.csp")

POLICY_DIR = ".kbgen"  # inside the built site
POLICY_FILE = f"{POLICY_DIR}/csp.json"
NGINX_FILE = f"{POLICY_DIR}/csp.nginx.conf"
CADDY_FILE = f"{POLICY_DIR}/csp.caddy"
FORMAT = 1

# The one inline style of the service's own HTML answers (kbgen/web/pages.py): those pages must read
# well without the site's stylesheets, and a hash trusts exactly this text (kbgen/theme/service/style.css).
SERVICE_PAGE_STYLE = (Path(__file__).resolve().parent.parent / "theme" / "service" / "style.css").read_text(
    encoding="utf-8")

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
_TYPE = re.compile(r"""\btype\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_SRC = re.compile(r"\bsrc\s*=", re.I)
# Types a browser runs as script; anything else (application/json, ...) is data the CSP ignores.
_JS_TYPES = {"", "module", "text/javascript", "application/javascript", "text/ecmascript",
             "application/ecmascript", "text/jscript", "text/livescript", "application/x-javascript"}


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of a URL, normalized for comparison (the policy's sources here, CSRF checks in
    kbgen/web/csrf.py); None for anything else (e.g. "null")."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[parts.scheme] else "")


def source_hash(text: str) -> str:
    """The CSP source expression that trusts exactly this script or style text."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def inline_scripts(html: str) -> list[str]:
    """The text of every inline script a browser would run in this HTML."""
    found = []
    for match in _SCRIPT.finditer(html):
        attrs = match.group(1)
        if _SRC.search(attrs):
            continue
        kind = _TYPE.search(attrs)
        value = next((g for g in kind.groups() if g is not None), "") if kind else ""
        if value.strip().lower() in _JS_TYPES:
            found.append(match.group(2))
    return found


def header(script_hashes: Iterable[str] = (), *, api_origin: str | None = None,
           allowed_origins: Iterable[str] = ()) -> str:
    """The Content-Security-Policy value: this origin only, plus the theme's hashed inline scripts."""
    api = [api_origin] if api_origin else []
    posting = [o for o in (origin_of(o) for o in allowed_origins) if o]
    directives = [
        ("default-src", ["'self'"]),
        ("script-src", ["'self'", *sorted(set(script_hashes))]),
        ("style-src", ["'self'", source_hash(SERVICE_PAGE_STYLE)]),
        ("img-src", ["'self'", "data:"]),
        ("font-src", ["'self'"]),
        ("connect-src", ["'self'", *api]),
        ("object-src", ["'none'"]),
        ("base-uri", ["'self'"]),
        ("frame-ancestors", ["'none'"]),  # no framing: no clickjacking
        ("form-action", ["'self'", *dict.fromkeys(api + posting)]),
    ]
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives)


def api_origin_of(api_url: str | None) -> str | None:
    """The origin of `extra.kbgen.api_url` when it names another host; None for a same-origin prefix."""
    return origin_of(api_url) if api_url else None


@dataclass
class BuiltPolicy:
    """What a build found: the hashes of the theme's inline scripts and where the API lives."""

    script_hashes: set[str] = field(default_factory=set)
    api_origin: str | None = None

    def header(self, allowed_origins: Iterable[str] = ()) -> str:
        return header(self.script_hashes, api_origin=self.api_origin, allowed_origins=allowed_origins)

    def write(self, site_dir: Path) -> None:
        """csp.json for the service, and the same header as nginx and Caddy configuration for static hosts."""
        value = self.header()
        folder = site_dir / POLICY_DIR
        folder.mkdir(parents=True, exist_ok=True)
        data = {"format": FORMAT, "script_hashes": sorted(self.script_hashes), "api_origin": self.api_origin,
                "header": value}
        (site_dir / POLICY_FILE).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        (site_dir / NGINX_FILE).write_text(
            "# Generated by kbgen build: the portal's Content-Security-Policy. In a server or location\n"
            "# block: include /path/to/site/.kbgen/csp.nginx.conf;  (nginx drops a server block's\n"
            "# add_header in any location that has its own, so include it there too)\n"
            f'add_header Content-Security-Policy "{value}" always;\n', encoding="utf-8")
        (site_dir / CADDY_FILE).write_text(
            "# Generated by kbgen build: the portal's Content-Security-Policy.\n"
            "# In the site block: import /path/to/site/.kbgen/csp.caddy\n"
            f'header Content-Security-Policy "{value}"\n', encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> "BuiltPolicy":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"unknown format {data.get('format') if isinstance(data, dict) else data!r}")
        return cls(set(data.get("script_hashes") or []), data.get("api_origin"))


class SitePolicy:
    """The header the service sends, following the built site's csp.json as builds replace it."""

    def __init__(self, site_dir: Path, allowed_origins: Iterable[str] = ()) -> None:
        self.path = Path(site_dir) / POLICY_FILE
        self.allowed_origins = tuple(allowed_origins)
        self._seen: tuple | None = None
        self._value = header(allowed_origins=self.allowed_origins)
        self.value()

    def value(self) -> str:
        # A build swaps the whole site folder, so the file's identity changes with every build.
        try:
            stat = os.stat(self.path)
            seen: tuple | None = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except OSError:
            seen = None
        if seen != self._seen:
            self._seen = seen
            self._value = self._load(seen is not None)
        return self._value

    def _load(self, present: bool) -> str:
        if not present:
            if self.path.parent.parent.is_dir():
                log.warning(f"{self.path}: missing, so the theme's inline scripts are blocked; "
                            "rebuild the site with 'kbgen build'")
            return header(allowed_origins=self.allowed_origins)
        try:
            return BuiltPolicy.read(self.path).header(self.allowed_origins)
        except (OSError, ValueError) as exc:
            log.warning(f"{self.path}:1: unreadable ({exc}), so the theme's inline scripts are blocked; "
                        "rebuild the site with 'kbgen build'")
            return header(allowed_origins=self.allowed_origins)
