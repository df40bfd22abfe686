"""`kbgen demo`: the demo organizations, logins and server inventory that `make run` prints.

Idempotent: running it again keeps what exists, so a restarted demo keeps its tickets.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kbgen.accounts import User, add_membership, add_organization, add_user, find_organization


@dataclass(frozen=True)
class DemoLogin:
    organization: str
    email: str
    password: str
    role: str
    name: str


# Known passwords on purpose: this data is for a local demo database only.
DEMO_LOGINS = (
    DemoLogin("Acme Telecom", "customer@acme.example", "demo-customer", "customer", "Alice Rossi"),
    DemoLogin("Acme Telecom", "it@acme.example", "demo-customer", "customer", "Marco Bianchi"),
    DemoLogin("Globex Logistics", "ops@globex.example", "demo-customer", "customer", "Gina Ferri"),
    DemoLogin("Northwind Integrators", "partner@northwind.example", "demo-partner", "partner", "Nora Lind"),
    DemoLogin("Vendor Support Team", "agent@support.example", "demo-agent", "agent", "Sam Agent"),
    DemoLogin("Vendor Support Team", "admin@support.example", "demo-admin", "admin", "Ada Admin"),
)
# The partner works for two customer organizations besides their own (README: partners).
DEMO_MEMBERSHIPS = (("partner@northwind.example", "Acme Telecom"), ("partner@northwind.example", "Globex Logistics"))


def ensure_demo(db: Session, inventory: Path | None = None) -> list[DemoLogin]:
    for login in DEMO_LOGINS:
        if find_organization(db, login.organization) is None:
            add_organization(db, login.organization)
        if db.scalar(select(User.id).where(User.email == login.email)) is None:
            add_user(db, organization=login.organization, email=login.email, role=login.role,
                     password=login.password, name=login.name)
    for email, organization in DEMO_MEMBERSHIPS:
        add_membership(db, db.scalar(select(User).where(User.email == email)), find_organization(db, organization))
    if inventory is not None and inventory.exists():
        from kbgen.tickets.servers import import_inventory

        import_inventory(db, inventory)
    return list(DEMO_LOGINS)
