"""Refusals of the tickets service: each one says what is wrong and what to do.

`status` is the HTTP status the API answers with; `extra` holds what the answer adds
(`field` becomes its errors: [{field, message}]).
"""
from __future__ import annotations

from typing import Any


class TicketError(Exception):
    """A refusal the user can act on; `status` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, message: str, **extra: Any):
        super().__init__(message)
        self.message = message
        self.extra = extra


class TicketNotFound(TicketError):
    status = 404


class AttachmentRejected(TicketError):
    status = 413


class CommentRejected(TicketError):
    status = 422


class NotAllowed(TicketError):
    status = 403


class TicketClosed(TicketError):
    status = 409


class AttachmentNotAccepted(TicketError):
    """A file of a type its field (or comments) does not take; names the file, the field and the list."""

    status = 422


class FilterInvalid(TicketError):
    status = 422


class OrganizationInvalid(TicketError):
    """A request opened for an organization that is not one of the requester's."""

    status = 422
