"""The server inventory: which customer runs which installation, under which license and plan.

Support uses it to see, on a new ticket, the server the customer is talking
about (kbgen/automations.py). It is filled from a YAML or CSV export with
`kbgen servers import FILE`; a row is identified by its license ID or its
server ID, so importing a newer export updates rows instead of duplicating them.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml
from sqlalchemy import JSON, Date, DateTime, Integer, String, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kbgen.site.catalog import PRODUCTS, find_product
from kbgen.site.content import Problem
from kbgen.db import Base

# Column -> what it holds, for error hints and the CLI's help.
FIELDS: dict[str, str] = {
    "license_id": "the license ID printed on the license (this or server_id is required)",
    "server_id": "the server's ID as the product reports it (this or license_id is required)",
    "organization": "the customer organization's name as in the portal",
    "hostname": "the server's host name",
    "product": "one of: " + ", ".join(p.name for p in PRODUCTS),
    "product_version": "the installed version, e.g. 3.42.1",
    "license_expiry": "the date the license ends, YYYY-MM-DD",
    "support_plan": "the support plan name, e.g. Premium",
    "last_contact": "when the server last reported in, YYYY-MM-DD HH:MM[:SS][+00:00]",
    "extra": "any other data (a mapping in YAML); unknown columns are stored here too",
}
ID_FIELDS = ("license_id", "server_id")


class Server(Base):
    __tablename__ = "servers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    license_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    server_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    organization: Mapped[str | None] = mapped_column(String(200), index=True)
    hostname: Mapped[str | None] = mapped_column(String(255))
    product: Mapped[str | None] = mapped_column(String(40))  # catalog slug
    product_version: Mapped[str | None] = mapped_column(String(60))
    license_expiry: Mapped[dt.date | None] = mapped_column(Date)
    support_plan: Mapped[str | None] = mapped_column(String(120))
    last_contact: Mapped[dt.datetime | None] = mapped_column(DateTime)  # naive UTC
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime, default=lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))

    def __repr__(self) -> str:
        return f"<Server license={self.license_id} server={self.server_id} {self.hostname}>"


class InventoryError(ValueError):
    """The file has problems; nothing was imported."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    extra_fields: list[str] = field(default_factory=list)  # unknown columns kept under `extra`

    @property
    def imported(self) -> int:
        return self.created + self.updated


@dataclass
class _Row:
    line: int
    values: dict[str, Any]  # raw values by field name (ids as written)
    lines: dict[str, int]  # field -> line, where the format can tell


# -- reading ------------------------------------------------------------------------------------


def _yaml_rows(path: Path, text: str) -> Iterator[_Row]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InventoryError([Problem(str(path), mark.line + 1 if mark else 1, f"invalid YAML: {exc}",
                                      "fix the syntax; the file must be a list of mappings")]) from exc
    if root is None:
        return
    if not isinstance(root, yaml.SequenceNode):
        raise InventoryError([Problem(str(path), root.start_mark.line + 1, "expected a list of servers",
                                      "start each server with '- license_id: ...'")])
    constructor = yaml.SafeLoader("")
    for item in root.value:
        line = item.start_mark.line + 1
        if not isinstance(item, yaml.MappingNode):
            yield _Row(line, {"__not_a_mapping__": True}, {})
            continue
        values, lines = {}, {}
        for key_node, value_node in item.value:
            key = str(key_node.value).strip()
            lines[key] = key_node.start_mark.line + 1
            if key in ID_FIELDS and isinstance(value_node, yaml.ScalarNode):
                # As written: YAML would read 00123 as the number 83 and lose the leading zeros.
                values[key] = value_node.value
            else:
                values[key] = constructor.construct_object(value_node, deep=True)
        yield _Row(line, values, lines)


def _csv_rows(text: str) -> Iterator[_Row]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames:
        reader.fieldnames = [name.strip().lower().replace(" ", "_") for name in reader.fieldnames]
    for record in reader:
        values = {key: (value.strip() if isinstance(value, str) else value)
                  for key, value in record.items() if key is not None}
        yield _Row(reader.line_num, {k: v for k, v in values.items() if v not in ("", None)}, {})


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def _datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    else:
        moment = dt.datetime.fromisoformat(str(value).strip().replace(" UTC", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def _clean(row: _Row, path: Path) -> tuple[dict[str, Any], list[Problem], list[str]]:
    """Typed column values of one row, the problems found and the unknown keys kept as extra."""
    problems: list[Problem] = []

    def problem(key: str | None, message: str, hint: str = "") -> None:
        problems.append(Problem(str(path), row.lines.get(key, row.line) if key else row.line, message, hint))

    if row.values.get("__not_a_mapping__"):
        problem(None, "this server is not a mapping", "write 'license_id: ...', 'hostname: ...' on its lines")
        return {}, problems, []
    clean: dict[str, Any] = {}
    extra = row.values.get("extra") or {}
    if not isinstance(extra, dict):
        problem("extra", "extra must be a mapping", "write 'extra: {key: value}'")
        extra = {}
    extra = dict(extra)
    unknown = []
    for key, value in row.values.items():
        if key == "extra":
            continue
        if key not in FIELDS:
            unknown.append(key)
            extra[key] = value if isinstance(value, (str, int, float, bool, list, dict, type(None))) else str(value)
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            if key == "license_expiry":
                clean[key] = _date(value)
            elif key == "last_contact":
                clean[key] = _datetime(value)
            elif key == "product":
                product = find_product(value)
                if product is None:
                    problem(key, f"unknown product {value!r}", FIELDS["product"])
                    continue
                clean[key] = product.slug
            else:
                clean[key] = str(value).strip()
        except ValueError:
            problem(key, f"{key} {str(value)!r} is not a valid date", FIELDS[key])
    if not any(clean.get(k) for k in ID_FIELDS):
        problem(None, "missing license_id and server_id", "give at least one of them, so the row can be updated later")
    clean["extra"] = extra
    return clean, problems, unknown


def read_inventory(path: Path | str) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    """Rows of an inventory file as (line, typed values), and the unknown field names; raises InventoryError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError([Problem(str(path), 1, f"cannot read the file: {exc}",
                                      "give a UTF-8 .yml, .yaml or .csv file")]) from exc
    suffix = path.suffix.lower()
    if suffix in (".yml", ".yaml"):
        raw = list(_yaml_rows(path, text))
    elif suffix == ".csv":
        raw = list(_csv_rows(text))
    else:
        raise InventoryError([Problem(str(path), 1, f"unknown inventory format {suffix or '(none)'!r}",
                                      "use a .yml/.yaml list of mappings or a .csv with a header row")])
    rows, problems, unknown = [], [], []
    first_seen: dict[tuple[str, str], int] = {}
    for row in raw:
        clean, row_problems, row_unknown = _clean(row, path)
        problems += row_problems
        unknown += [k for k in row_unknown if k not in unknown]
        for key in ID_FIELDS:
            value = clean.get(key)
            if value:
                marker = (key, value.lower())
                if marker in first_seen:
                    problems.append(Problem(str(path), row.lines.get(key, row.line),
                                            f"{key} {value!r} appears twice", f"first at line {first_seen[marker]}"))
                first_seen.setdefault(marker, row.line)
        rows.append((row.line, clean))
    if problems:
        raise InventoryError(problems)
    return rows, unknown


# -- storing ------------------------------------------------------------------------------------


def find_server(session: Session, identifier: str) -> Server | None:
    """The server whose license ID or server ID is `identifier` (case and surrounding spaces ignored)."""
    wanted = str(identifier or "").strip().lower()
    if not wanted:
        return None
    return session.scalars(select(Server).where(or_(func.lower(Server.license_id) == wanted,
                                                    func.lower(Server.server_id) == wanted))
                           .order_by(Server.id)).first()


def find_servers(session: Session, identifiers: list[str]) -> dict[str, Server]:
    """Servers by license ID or server ID, in one query: {lower-cased identifier: server}."""
    wanted = sorted({str(i).strip().lower() for i in identifiers if str(i).strip()})
    if not wanted:
        return {}
    found: dict[str, Server] = {}
    rows = session.scalars(select(Server).where(or_(func.lower(Server.license_id).in_(wanted),
                                                    func.lower(Server.server_id).in_(wanted)))
                           .order_by(Server.id))
    for server in rows:
        for key in (server.license_id, server.server_id):
            if key and key.lower() in wanted:
                found.setdefault(key.lower(), server)
    return found


IP_KEYS = ("ip", "ips", "ip_address", "ip_addresses", "addresses")  # where an inventory row may list its addresses


def normalize_host(text: object) -> str:
    """A host name or IP address as customers type it, made comparable: "https://PBX1.Example.com:8443/x"
    -> "pbx1.example.com", "[::1]:80" -> "::1", "010.0.0.5" stays as typed but "10.0.0.5 " -> "10.0.0.5"."""
    value = str(text or "").strip().lower()
    if "://" in value:
        value = value.split("://", 1)[1]
    value = value.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    if value.startswith("["):  # [IPv6]:port
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # host:port (an IPv6 address has several colons)
        value = value.split(":", 1)[0]
    value = value.rstrip(".")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return value


def server_addresses(server: Server) -> set[str]:
    """Every name and address the inventory knows a server by, normalized."""
    found = {normalize_host(server.hostname)} if server.hostname else set()
    for key in IP_KEYS:
        value = (server.extra or {}).get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item.strip():
                found.add(normalize_host(item))
    return found


def find_server_by_host(session: Session, host: str, prefer_organization: str | None = None,
                        product: str | None = None) -> Server | None:
    """A server by host name or IP address, compared after normalize_host; of several, the one of
    `prefer_organization` first. `product` (a catalog slug) narrows the inventory to that product's servers."""
    wanted = normalize_host(host)
    if not wanted:
        return None
    query = select(Server).order_by(Server.id).limit(MAX_SCAN)
    if product:
        query = query.where(or_(Server.product == product, Server.product.is_(None)))
    servers = [s for s in session.scalars(query) if wanted in server_addresses(s)]
    preferred = (prefer_organization or "").strip().lower()
    return next((s for s in servers if (s.organization or "").lower() == preferred), servers[0] if servers else None)


MAX_SCAN = 20_000  # servers compared by address in one look-up: an inventory is a few thousand rows


def servers_of(session: Session, organization: str, product: str | None = None, limit: int = 50) -> list[Server]:
    """An organization's servers in the inventory (of one product when given), by host name."""
    query = select(Server).where(func.lower(Server.organization) == (organization or "").strip().lower())
    if product:
        query = query.where(or_(Server.product == product, Server.product.is_(None)))
    return list(session.scalars(query.order_by(Server.hostname, Server.id).limit(limit)))


def _existing(session: Session, clean: dict[str, Any]) -> list[Server]:
    found = []
    for key in ID_FIELDS:
        value = clean.get(key)
        if value:
            server = session.scalars(select(Server).where(func.lower(getattr(Server, key)) == value.lower())).first()
            if server is not None and server not in found:
                found.append(server)
    return found


def import_inventory(session: Session, path: Path | str) -> ImportResult:
    """Create or update servers from a YAML/CSV file, all rows or none; the caller commits."""
    path = Path(path)
    rows, unknown = read_inventory(path)
    result = ImportResult(extra_fields=unknown)
    problems = []
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    for line, clean in rows:
        matches = _existing(session, clean)
        if len(matches) > 1:
            problems.append(Problem(str(path), line,
                                    f"license_id {clean.get('license_id')!r} and server_id {clean.get('server_id')!r} "
                                    "belong to two different servers in the inventory",
                                    "correct one of the IDs, or remove the outdated server first"))
            continue
        if matches:
            server = matches[0]
            result.updated += 1
        else:
            server = Server()
            session.add(server)
            result.created += 1
        for key, value in clean.items():
            if key == "extra":
                server.extra = {**(server.extra or {}), **value}
            else:
                setattr(server, key, value)
        server.updated_at = now
        session.flush()
    if problems:
        raise InventoryError(problems)
    return result


def list_servers(session: Session, organization: str | None = None) -> list[Server]:
    query = select(Server).order_by(Server.organization, Server.hostname, Server.id)
    if organization:
        query = query.where(func.lower(Server.organization) == organization.strip().lower())
    return list(session.scalars(query))
