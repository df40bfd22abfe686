"""The account pages people reach from an email or the sign-in page: accepting an invitation,
forgetting a password, signing up with an organization's email domain (HTML form posts, no JavaScript)."""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
