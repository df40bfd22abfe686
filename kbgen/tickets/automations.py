"""Automations that run when a ticket is created and add facts for the support team.

An automation is any callable `(AutomationContext) -> AutomationOutcome | None`
registered in the "kbgen.automations" entry point group of an installed
package (kbgen's own pyproject.toml registers `server_info`). It returns None
when it has nothing to say about the ticket. Outcomes are internal notes: show
them to agents only, escaped, as plain text (one "Label: value" per line).

`run_new_ticket` never raises: a broken automation must not stop a customer
from filing a ticket, so its error becomes a failed outcome the agents can see.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable, Iterable, Union

from sqlalchemy.orm import Session

from kbgen import dates
from kbgen.site.catalog import find_product
from kbgen.settings import Settings

log = logging.getLogger("kbgen.tickets.automations")

ENTRY_POINT_GROUP = "kbgen.automations"


@dataclass(frozen=True)
class AutomationOutcome:
    name: str  # the automation's registered name
    title: str
    body: str  # for the support team only
    failed: bool = False
    customer_note: str = ""  # what the customer is told was added (a public timeline entry), if anything

    # Derived spellings for callers that ask "ok?" or "what error?"; `failed` is the fact.
    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def error(self) -> str | None:
        return self.body if self.failed else None


@dataclass
class AutomationContext:
    ticket: Any  # exposes product, values (the form's field values), organization (with .name)
    session: Session
    settings: Settings
    today: dt.date = dataclasses.field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).date())

    @property
    def product(self) -> str | None:
        """The ticket's product as a catalog slug ("xcally"), whatever spelling the ticket uses."""
        product = find_product(getattr(self.ticket, "product", None))
        return product.slug if product else None

    @property
    def values(self) -> dict[str, Any]:
        return dict(getattr(self.ticket, "values", None) or {})

    @property
    def organization(self) -> str:
        org = getattr(self.ticket, "organization", None)
        return str(getattr(org, "name", org) or "")


Automation = Callable[[AutomationContext], Union[AutomationOutcome, None]]


# -- built-in: server information -------------------------------------------------------------

# Form fields (forms/*.yml) where a customer names the installation.
ID_FIELDS = ("license_id", "license_serial", "license", "server_id")  # matched against both inventory IDs
HOST_FIELDS = ("server_host", "hostname", "server_ip")  # host names or IP addresses, compared normalized
CUSTOMER_NOTE = ("We attached the details the support team keeps about your {product} server {host} (its version, "
                 "license and support plan) to this request, so nobody needs to ask you for them.")


def _expiry_text(expiry: dt.date, today: dt.date) -> str:
    days = (expiry - today).days
    if days < 0:
        return f"{expiry.isoformat()} (expired {-days} day{'s' if days != -1 else ''} ago)"
    if days == 0:
        return f"{expiry.isoformat()} (expires today)"
    return f"{expiry.isoformat()} (expires in {days} day{'s' if days != 1 else ''})"


def _product(context: AutomationContext):
    """The product whose server the ticket is about: its own, or the one a license request names."""
    if context.product == "license":
        return find_product(context.values.get("licensed_product"))
    return find_product(context.product)


def _find(context: AutomationContext, product: str):
    """The server the ticket names: by ID fields, then host or IP fields, then any other one-word value."""
    from kbgen.tickets.servers import find_server_by_host, find_servers

    values = context.values
    named = [str(values[name]).strip() for name in ID_FIELDS if values.get(name)]
    others = [text for name, value in values.items() if name not in ID_FIELDS + HOST_FIELDS
              for text in [str(value).strip() if isinstance(value, (str, int)) else ""]
              if 3 <= len(text) <= 120 and " " not in text]
    by_id = find_servers(context.session, named + others)  # one query for every candidate ID
    for text in named:
        if text.lower() in by_id:
            return by_id[text.lower()]
    for name in HOST_FIELDS:
        if values.get(name) and (server := find_server_by_host(context.session, str(values[name]),
                                                                prefer_organization=context.organization,
                                                                product=product)):
            return server
    return next((by_id[text.lower()] for text in others if text.lower() in by_id), None)


def _describe(server) -> str:
    """One server in plain words: 'pbx1.acme.example (XCALLY 3.42.1, license XC-LIC-10421)'."""
    product = find_product(server.product)
    facts = [f"{product.name if product else 'version'} {server.product_version}" if server.product_version else "",
             f"license {server.license_id}" if server.license_id else "",
             f"server ID {server.server_id}" if server.server_id and not server.license_id else ""]
    details = ", ".join(f for f in facts if f)
    return f"{server.hostname or 'a server without a host name'}" + (f" ({details})" if details else "")


def _details(server, context: AutomationContext, ticket_org: str) -> list[str]:
    lines = [
        f"Hostname: {server.hostname or '—'}",
        f"Product version: {server.product_version or '—'}",
        f"License expiry: {_expiry_text(server.license_expiry, context.today) if server.license_expiry else '—'}",
        f"Support plan: {server.support_plan or '—'}",
        f"Last contact: {dates.when(server.last_contact) if server.last_contact else '—'}",
        f"License ID: {server.license_id or '—'}",
        f"Server ID: {server.server_id or '—'}",
        f"Organization: {server.organization or '—'}",
    ]
    if server.organization and ticket_org and server.organization.strip().lower() != ticket_org.strip().lower():
        # A customer may mistype, or try someone else's license: the agent must notice before helping.
        lines.insert(0, f"Warning: this server belongs to {server.organization}, not to {ticket_org}.")
    return lines


def server_info(context: AutomationContext) -> AutomationOutcome | None:
    """The inventory's facts about the server a ticket is about, for the support team.

    The server the customer names (license or server ID, host name or IP address, compared after
    normalizing); without one, the organization's only server of that product. When nothing
    matches, the organization's known servers in plain words. The customer is told what was attached."""
    from kbgen.tickets.servers import servers_of

    product = _product(context)
    if product is None:
        return None
    values = context.values
    given = [str(values[name]).strip() for name in ID_FIELDS + HOST_FIELDS if values.get(name)]
    server = _find(context, product.slug)
    known = servers_of(context.session, context.organization, product.slug) if context.organization else []
    note_for = None
    if server is None and not given and len(known) == 1:
        server, note_for = known[0], "the only"
    if server is None:
        if not given and not known:
            return None  # nothing named, nothing known: nothing to tell the team
        org = context.organization or "This organization"
        lead = (f"No server in the inventory matches {' or '.join(repr(g) for g in given)}." if given
                else f"The request names no server, and {org} has several {product.name} servers.")
        listed = (f"{org}'s known {product.name} servers: " + "; ".join(_describe(s) for s in known) + "."
                  if known else f"{org} has no {product.name} server in the inventory.")
        return AutomationOutcome("server_info", "Server information", f"{lead} {listed} Ask the customer which one "
                                 "it is, or update the inventory.")
    lines = _details(server, context, context.organization)
    if note_for:
        lines.insert(0, f"The request names no server; this is {context.organization}'s only {product.name} server.")
    return AutomationOutcome("server_info", "Server information", "\n".join(lines),
                             customer_note=CUSTOMER_NOTE.format(product=product.name,
                                                                host=server.hostname or "").replace("  ", " "))


# -- running ---------------------------------------------------------------------------------

BUILTIN: dict[str, Automation] = {"server_info": server_info}


@functools.lru_cache(maxsize=1)
def registered() -> tuple[tuple[str, Automation | Exception], ...]:
    """Automations from installed entry points, loaded once; a plugin that fails to load is kept as its error."""
    found: dict[str, Automation | Exception] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found[entry_point.name] = entry_point.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin is reported per ticket, not fatal
            log.exception("automation %s (%s) failed to load", entry_point.name, entry_point.value)
            found[entry_point.name] = exc
    # Running from a source checkout that was never pip-installed has no entry points.
    for name, function in BUILTIN.items():
        found.setdefault(name, function)
    return tuple(found.items())


def _named(automations: Iterable[Any]) -> list[tuple[str, Automation | Exception]]:
    if isinstance(automations, dict):
        return list(automations.items())
    named = []
    for item in automations:
        if isinstance(item, tuple):
            named.append(item)
        else:
            named.append((getattr(item, "__name__", repr(item)), item))
    return named


def run_new_ticket(session: Session, settings: Settings, ticket: Any,
                   automations: Iterable[Any] | None = None, *, today: dt.date | None = None
                   ) -> list[AutomationOutcome]:
    """Run every automation on a new ticket; errors become failed outcomes, never exceptions.

    `automations` (callables, (name, callable) pairs or a dict) replaces the
    registered ones, for tests and for callers that choose.
    """
    context = AutomationContext(ticket, session, settings)
    if today is not None:
        context.today = today
    outcomes = []
    for name, automation in _named(registered() if automations is None else automations):
        if isinstance(automation, Exception):
            outcomes.append(AutomationOutcome(name, f"Automation {name} failed",
                                              f"It could not be loaded: {automation.__class__.__name__}: {automation}",
                                              failed=True))
            continue
        try:
            # A savepoint, so an automation's failed query cannot spoil the ticket's own transaction.
            with session.begin_nested():
                outcome = automation(context)
        except Exception as exc:  # noqa: BLE001 - see the module docstring
            log.exception("automation %s failed on ticket %s", name, getattr(ticket, "key", "?"))
            outcomes.append(AutomationOutcome(name, f"Automation {name} failed",
                                              f"{exc.__class__.__name__}: {exc}", failed=True))
            continue
        if outcome is None:
            continue
        if not isinstance(outcome, AutomationOutcome):
            outcomes.append(AutomationOutcome(name, f"Automation {name} failed",
                                              f"it returned {type(outcome).__name__}, not an AutomationOutcome",
                                              failed=True))
            continue
        outcomes.append(dataclasses.replace(outcome, name=name))
    return outcomes
