"""Checking a submission against its form: every problem at once, named by the field it is about.

The intake (kbgen/web/routes/tickets.py) posts JSON or a multipart form (body_from_form turns
the latter into the former); `validate` answers a Submission holding only the visible,
cleaned values, or raises SubmissionInvalid, whose response_body is the 422 the form script shows.
"""
from __future__ import annotations

import datetime as _dt
import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

from kbgen.forms.fields import Field, ProductForm
from kbgen.forms.patterns import HOST_MESSAGE, URL_MESSAGE, VERSION_MESSAGE, VERSION_PATTERN
from kbgen.forms.priorities import PRIORITIES, PRIORITY_SLUGS
from kbgen.mail.addresses import is_email_address

DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
IDEMPOTENCY_KEY_RE = re.compile(r"[A-Za-z0-9_-]{8,100}")
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# What a consent checkbox may send: JSON true/false, or the words a form or a script may post.
ACCEPTED = ("true", "on", "yes", "1")
NOT_ACCEPTED = ("false", "off", "no", "0", "")


@dataclass(frozen=True)
class FieldError:
    field: str  # "product", "request_type", "priority", "fields.<name>", "files.<name>"
    message: str


@dataclass(frozen=True)
class ConsentAccepted:
    field: str  # the consent field's name
    name: str  # the consent document, e.g. "server-access"
    version: str
    text_sha256: str


@dataclass
class Submission:
    product: str
    request_type: str
    priority: str
    summary: str
    description: str
    values: dict[str, Any]  # visible, non-empty fields (summary and description included); no attachments
    consents: list[ConsentAccepted]
    attachment_fields: list[str]  # visible attachments fields: store uploads for these only


class SubmissionInvalid(Exception):
    detail = "Some answers need your attention; please correct the marked fields."

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in errors))

    def response_body(self) -> dict[str, Any]:
        """The 422 body the form script shows inline: {"detail", "errors": [{"field", "message"}]}."""
        return {"detail": self.detail, "errors": [{"field": e.field, "message": e.message} for e in self.errors]}




def _one_text(raw: Any) -> tuple[str, str | None]:
    """A single text value from JSON or a multipart form (which may give a one-item list)."""
    if isinstance(raw, list):
        if len(raw) > 1:
            return "", "Give one value, not a list."
        raw = raw[0] if raw else None
    if raw is None:
        return "", None
    if not isinstance(raw, str):
        return "", "Must be text."
    return raw.strip(), None


def _is_host(value: str) -> bool:
    candidate = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        ipaddress.ip_address(candidate)
        return True
    except ValueError:
        pass
    name = value[:-1] if value.endswith(".") else value
    labels = name.split(".")
    return (0 < len(name) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)
            and not labels[-1].isdigit())


def _is_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host) and not any(c.isspace() for c in value)


def _clean(f: Field, raw: Any) -> tuple[Any, str | None]:
    """(cleaned value or None when empty, error message or None) for one visible field."""
    if f.type == "consent":
        if isinstance(raw, list):
            raw = raw[-1] if raw else None
        if raw is None or isinstance(raw, bool):
            return bool(raw), None
        if isinstance(raw, str) and raw.strip().lower() in ACCEPTED + NOT_ACCEPTED:
            return raw.strip().lower() in ACCEPTED, None
        return False, "Tick the box to accept, or leave it empty."
    if f.type == "multi-select":
        items = [raw] if isinstance(raw, str) else (raw if raw is not None else [])
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            return None, "Must be a list of options."
        chosen = list(dict.fromkeys(i.strip() for i in items if i.strip()))
        unknown = [c for c in chosen if c not in {o.value for o in f.options}]
        if unknown:
            return None, f"{_short(unknown[0])!r} is not one of the options: {_options(f)}."
        return chosen or None, None
    value, error = _one_text(raw)
    if error or not value:
        return None, error
    if f.type == "select":
        if value not in {o.value for o in f.options}:
            return None, f"{_short(value)!r} is not one of the options: {_options(f)}."
        return value, None
    if f.type == "date":
        try:
            if not DATE_RE.fullmatch(value):
                raise ValueError
            return _dt.date.fromisoformat(value).isoformat(), None
        except ValueError:
            return None, "Write a date as YYYY-MM-DD, e.g. 2026-03-31."
    if f.max_length is not None and len(value) > f.max_length:
        return None, f"Must be at most {f.max_length} characters (it has {len(value)})."
    if f.min_length is not None and len(value) < f.min_length:
        return None, f"Must be at least {f.min_length} characters (it has {len(value)})."
    if f.type == "email" and not is_email_address(value):
        return None, "Write an email address like name@example.com."
    if f.type == "url" and not _is_url(value):
        return None, URL_MESSAGE
    if f.type == "hostname-or-ip" and not _is_host(value):
        return None, HOST_MESSAGE
    if f.type == "version" and not re.fullmatch(VERSION_PATTERN, value):
        return None, VERSION_MESSAGE
    if f.pattern and not re.fullmatch(f.pattern, value):
        return None, f.pattern_message
    return value, None


def _short(value: str) -> str:
    return value if len(value) <= 40 else value[:39] + "…"


def _options(f: Field) -> str:
    return ", ".join(o.value for o in f.options)


def _missing_message(f: Field) -> str:
    if f.type == "consent" and f.consent:
        return f"Accept the {f.consent.title.lower()} (version {f.consent.version}) to continue."
    if f.type in ("select", "multi-select"):
        return "Choose an option."
    if f.type == "attachments":
        return "Attach at least one file."
    return "This field is required."


FORM_KEYS = ("product", "request_type", "priority", "idempotency_key", "related_to", "organization")


def body_from_form(pairs: Iterable[tuple[str, Any]], attachments: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The JSON-shaped body `validate` takes, from a posted form's (name, value) pairs.

    The pages name inputs `fields.<name>` (repeated for multi-selects) and `files.<name>`;
    file parts are skipped here: pass their count per field name in `attachments`.
    """
    body: dict[str, Any] = {"fields": {}, "attachments": dict(attachments or {})}
    for name, value in pairs:
        if not isinstance(value, str):
            continue
        if name.startswith("fields."):
            body["fields"].setdefault(name[len("fields."):], []).append(value)
        elif name in FORM_KEYS:
            body.setdefault(name, value)
    return body


def validate(forms: Mapping[str, ProductForm], data: Mapping) -> Submission:
    """Check a JSON-shaped submission against its form; raise SubmissionInvalid with every problem."""
    if not isinstance(data, Mapping):
        raise SubmissionInvalid([FieldError("", "The request body must be a JSON object.")])
    from kbgen.web.bodies import input_problems

    unsafe = input_problems(dict(data))  # NUL, lone surrogates, huge numbers: no database holds them
    if unsafe:
        raise SubmissionInvalid([FieldError(where, message) for where, message in unsafe])
    errors: list[FieldError] = []
    product, rtype_slug = data.get("product"), data.get("request_type")
    form = forms.get(product) if isinstance(product, str) else None
    rtype = None
    if form is None:
        errors.append(FieldError("product", f"Unknown product {_short(repr(product))}; use one of: "
                                 f"{', '.join(forms)}."))
    else:
        rtype = form.request_types.get(rtype_slug) if isinstance(rtype_slug, str) else None
        if rtype is None:
            errors.append(FieldError("request_type", f"Unknown request type {_short(repr(rtype_slug))} for "
                                     f"{form.product.name}; use one of: {', '.join(form.request_types)}."))
    priority, error = _one_text(data.get("priority"))
    if error or priority not in PRIORITY_SLUGS:
        errors.append(FieldError("priority", "Choose a priority: " + ", ".join(p.name for p in PRIORITIES) + "."))
    key = data.get("idempotency_key")
    if key not in (None, "") and not (isinstance(key, str) and IDEMPOTENCY_KEY_RE.fullmatch(key)):
        errors.append(FieldError("idempotency_key", "Must be 8 to 100 letters, digits, '-' or '_'."))
    given = data.get("fields", {}) if data.get("fields") is not None else {}
    counts = data.get("attachments", {}) if data.get("attachments") is not None else {}
    if not isinstance(given, Mapping):
        errors.append(FieldError("fields", "Must be an object of field name to value."))
        given = {}
    if not isinstance(counts, Mapping):
        errors.append(FieldError("attachments", "Must be an object of attachments field name to file count."))
        counts = {}
    if rtype is None:
        raise SubmissionInvalid(errors)

    for name in given:
        f = rtype.fields.get(name) if isinstance(name, str) else None
        if f is None or f.type == "attachments":
            hint = " Files go in files.<name>." if f is not None else ""
            errors.append(FieldError(f"fields.{_short(str(name))}", f"Unknown field {_short(repr(str(name)))} for "
                                     f"{form.product.name} {rtype.title.lower()}.{hint}"))
    for name in counts:
        f = rtype.fields.get(name) if isinstance(name, str) else None
        if f is None or f.type != "attachments":
            errors.append(FieldError(f"files.{_short(str(name))}",
                                      f"{_short(repr(str(name)))} is not an attachments field of this form."))

    cleaned: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for f in rtype.fields.values():
        if f.type == "attachments":
            count = counts.get(f.name, 0)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                problems[f.name] = "The number of files must be a whole number."
                count = 0
            elif f.max_files is not None and count > f.max_files:
                problems[f.name] = f"Attach at most {f.max_files} file(s) here (you attached {count})."
            cleaned[f.name] = count or None
        else:
            cleaned[f.name], error = _clean(f, given.get(f.name))
            if error:
                problems[f.name] = error
    visible = rtype.visible_fields(cleaned)
    values: dict[str, Any] = {}
    consents: list[ConsentAccepted] = []
    for f in visible:
        value = cleaned[f.name]
        if f.name in problems:
            errors.append(FieldError(f.input_name, problems[f.name]))
        elif f.required and not value:
            errors.append(FieldError(f.input_name, _missing_message(f)))
        elif value and f.type != "attachments":
            values[f.name] = value
            if f.type == "consent" and f.consent:
                consents.append(ConsentAccepted(f.name, f.consent.name, f.consent.version,
                                                f.consent.text_sha256))
    if errors:
        raise SubmissionInvalid(errors)
    return Submission(product=form.product.slug, request_type=rtype.slug, priority=priority,
                      summary=values.get("summary", ""), description=values.get("description", ""),
                      values=values, consents=consents,
                      attachment_fields=[f.name for f in visible if f.type == "attachments"])
