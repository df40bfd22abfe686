"""The model of a ticket form: field types, fields, request types and a product's form.

What each field type accepts is defined here once; definitions.py reads forms/*.yml into
these objects, validation.py checks a submission against them, schema.py describes them
as JSON Schema, and kbgen/site/pages/support.py shows them as the form pages.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping

from kbgen.forms.priorities import DEFAULT_PRIORITY
from kbgen.mail import addresses
from kbgen.settings import Settings
from kbgen.site.catalog import Product

FIELD_TYPES = ("text", "textarea", "select", "multi-select", "email", "url", "hostname-or-ip",
               "version", "date", "consent", "attachments")
_BASE_KEYS = {"type", "label", "help", "required", "show_if"}
KEYS: dict[str, set[str]] = {
    "text": _BASE_KEYS | {"placeholder", "min_length", "max_length", "pattern", "pattern_message"},
    "textarea": _BASE_KEYS | {"placeholder", "min_length", "max_length"},
    "select": _BASE_KEYS | {"placeholder", "options"},
    "multi-select": _BASE_KEYS | {"options"},
    "email": _BASE_KEYS | {"placeholder", "max_length"},
    "url": _BASE_KEYS | {"placeholder", "max_length"},
    "hostname-or-ip": _BASE_KEYS | {"placeholder", "max_length"},
    "version": _BASE_KEYS | {"placeholder", "max_length", "pattern", "pattern_message"},
    "date": _BASE_KEYS,
    # A consent's label and checkbox text come from its versioned document, so what the
    # customer saw is exactly what the stored version and hash describe.
    "consent": {"type", "help", "required", "show_if", "consent"},
    "attachments": _BASE_KEYS | {"max_files", "accept"},
}
# type -> (max_length when the YAML gives none, largest max_length allowed): every text has a bound.
LENGTHS: dict[str, tuple[int, int]] = {
    "text": (200, 1000), "textarea": (10000, 50000), "email": (addresses.MAX_LENGTH, addresses.MAX_LENGTH),
    "url": (2000, 2000), "hostname-or-ip": (253, 253), "version": (50, 50),
}
# A summary becomes the ticket's title: its column holds this many characters (kbgen.tickets.models
# reads it from here), a form may ask for fewer, and a summary without max_length gets this many.
SUMMARY_MAX_LENGTH = 255
OPTION_MAX_LENGTH = 100
# A definition may not ask for more files than the intake takes by default; the pages show the
# configured limit (KBGEN_MAX_ATTACHMENTS) when it is lower.
MAX_FILES_LIMIT = Settings.max_attachments
DEFAULT_MAX_FILES = 3


@dataclass(frozen=True)
class Option:
    value: str  # what is submitted and stored
    label: str  # what the customer reads


@dataclass(frozen=True)
class ShowIf:
    """Show a field only when an earlier select, multi-select or consent has one of `values`."""

    field: str
    values: tuple[str, ...]  # consent states are "true"/"false"

    def matches(self, value: Any) -> bool:
        if isinstance(value, bool):
            return ("true" if value else "false") in self.values
        if isinstance(value, list):
            return any(v in self.values for v in value)
        return isinstance(value, str) and value in self.values


@dataclass(frozen=True)
class ConsentText:
    """A versioned text (forms/consents/<name>.yml); tickets store which version was accepted."""

    name: str
    version: str
    title: str
    intro: str
    items: tuple[tuple[str, str], ...]  # (heading, text)
    agreement: str  # the checkbox label
    source: str = ""

    @property
    def text_sha256(self) -> str:
        canonical = json.dumps({"version": self.version, "title": self.title, "intro": self.intro,
                                "items": [list(i) for i in self.items], "agreement": self.agreement},
                               ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: str
    help: str = ""
    placeholder: str = ""
    required: bool = False
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    pattern_message: str = ""
    options: tuple[Option, ...] = ()
    show_if: ShowIf | None = None
    consent: ConsentText | None = None
    max_files: int | None = None
    accept: tuple[str, ...] = ()

    @property
    def input_name(self) -> str:
        """The form input name, which is also the `field` of its errors."""
        return f"files.{self.name}" if self.type == "attachments" else f"fields.{self.name}"

    def option_label(self, value: str) -> str:
        return next((o.label for o in self.options if o.value == value), value)


@dataclass(frozen=True)
class RequestType:
    slug: str
    title: str
    description: str
    fields: dict[str, Field]  # in the order the form shows them
    default_priority: str = DEFAULT_PRIORITY

    def visible_fields(self, values: Mapping[str, Any]) -> list[Field]:
        """The fields shown for these (cleaned) values; a field depending on a hidden field is hidden."""
        shown: dict[str, Field] = {}
        for f in self.fields.values():
            if f.show_if is None or (f.show_if.field in shown and f.show_if.matches(values.get(f.show_if.field))):
                shown[f.name] = f
        return list(shown.values())


@dataclass(frozen=True)
class ProductForm:
    product: Product
    intro: str
    request_types: dict[str, RequestType]
    source: str = ""

