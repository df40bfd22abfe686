"""The JSON Schema of a ticket's JSON body, from the same definitions as the pages and the validation.

The service puts it into /openapi.json, one schema per product with a variant per request type.
"""
from __future__ import annotations

from typing import Any

from kbgen.forms.fields import Field, ProductForm, RequestType
from kbgen.forms.patterns import VERSION_PATTERN
from kbgen.forms.priorities import DEFAULT_PRIORITY, PRIORITIES, PRIORITY_RULE, PRIORITY_SLUGS
from kbgen.forms.validation import ACCEPTED, IDEMPOTENCY_KEY_RE, NOT_ACCEPTED


def json_schema(form: ProductForm) -> dict[str, Any]:
    """JSON Schema (2020-12, as OpenAPI 3.1 uses) of the JSON body of a ticket for this product."""
    variants = []
    for rtype in form.request_types.values():
        variants.append({
            "title": rtype.title,
            "properties": {
                "request_type": {"const": rtype.slug},
                "fields": _fields_schema(rtype),
                "attachments": {
                    "type": "object", "additionalProperties": False,
                    "properties": {f.name: {"type": "integer", "minimum": 0, "maximum": f.max_files,
                                            "description": f"Number of files uploaded as files.{f.name}"}
                                   for f in rtype.fields.values() if f.type == "attachments"},
                },
            },
        })
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{form.product.name} request",
        "type": "object",
        "required": ["product", "request_type", "priority", "fields"],
        "properties": {
            "product": {"const": form.product.slug},
            "request_type": {"enum": list(form.request_types)},
            "priority": {"enum": list(PRIORITY_SLUGS), "default": DEFAULT_PRIORITY,
                         "description": PRIORITY_RULE + " "
                         + " ".join(f"{p.name}: {p.definition}" for p in PRIORITIES)},
            "fields": {"type": "object"},
            "attachments": {"type": "object"},
            "idempotency_key": {"type": "string", "pattern": f"^{IDEMPOTENCY_KEY_RE.pattern}$",
                                "description": "Send the same key when retrying, to create the ticket once."},
            "organization": {"type": "integer", "minimum": 1,
                             "description": "The id of the organization the request is for: one of the "
                                            "requester's (GET /api/me `organizations`; a partner may have "
                                            "several). By default the requester's own."},
        },
        "oneOf": variants,
    }


def _field_schema(f: Field) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": f.label}
    if f.help:
        schema["description"] = f.help
    if f.type == "consent":
        # A required consent is accepted or the post is refused: false is not a valid answer to document.
        schema["anyOf"] = ([{"const": True}, {"enum": list(ACCEPTED)}] if f.required
                           else [{"type": "boolean"}, {"enum": list(ACCEPTED + NOT_ACCEPTED)}])
        if f.consent:
            schema["description"] = f"{f.consent.agreement} (version {f.consent.version})"
        return schema
    if f.type == "multi-select":
        schema.update(type="array", uniqueItems=True, items={"enum": [o.value for o in f.options]})
        if f.required:
            schema["minItems"] = 1
        return schema
    schema["type"] = "string"
    if f.type == "select":
        schema["enum"] = [o.value for o in f.options]
        return schema
    formats = {"email": "email", "url": "uri", "date": "date"}
    if f.type in formats:
        schema["format"] = formats[f.type]
    if f.type == "hostname-or-ip":
        schema["anyOf"] = [{"format": "hostname"}, {"format": "ipv4"}, {"format": "ipv6"}]
    if f.type == "version":
        schema["pattern"] = f"^(?:{VERSION_PATTERN})$"
    if f.pattern:  # both must hold; allOf keeps the built-in check beside the writer's pattern
        schema.setdefault("allOf", []).append({"pattern": f"^(?:{f.pattern})$"})
    if f.max_length is not None:
        schema["maxLength"] = f.max_length
    if f.min_length is not None:
        schema["minLength"] = f.min_length
    elif f.required:
        schema["minLength"] = 1
    return schema


def _fields_schema(rtype: RequestType) -> dict[str, Any]:
    fields = [f for f in rtype.fields.values() if f.type != "attachments"]
    schema: dict[str, Any] = {
        "type": "object", "additionalProperties": False,
        "properties": {f.name: _field_schema(f) for f in fields},
        "required": [f.name for f in fields if f.required and f.show_if is None],
    }
    conditional = []
    for f in fields:
        if f.required and f.show_if is not None:
            cond = rtype.fields[f.show_if.field]
            if cond.type == "multi-select":
                test = {"contains": {"enum": list(f.show_if.values)}}
            elif cond.type == "consent":
                test = {"enum": [v == "true" for v in f.show_if.values]}
            else:
                test = {"enum": list(f.show_if.values)}
            conditional.append({"if": {"properties": {cond.name: test}, "required": [cond.name]},
                                "then": {"required": [f.name]}})
    if conditional:
        schema["allOf"] = conditional
    return schema
