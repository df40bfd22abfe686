"""The admin pages (/admin/): organizations, users, invitations and the audit log, for the admin role."""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
