"""forms/*.yml and forms/consents/*.yml read into the form model (fields.py), checked as they are read.

Each reader takes the YamlFile it reports to, so one pass lists every mistake with its line.
"""
from __future__ import annotations

import datetime as _dt
import difflib
import re
from pathlib import Path
from typing import Any

from kbgen.forms.fields import (DEFAULT_MAX_FILES, FIELD_TYPES, KEYS, LENGTHS, MAX_FILES_LIMIT, OPTION_MAX_LENGTH,
                                SUMMARY_MAX_LENGTH, ConsentText, Field, Option, ProductForm, RequestType, ShowIf)
from kbgen.forms.loader import YamlFile, YamlMap, join
from kbgen.forms.patterns import pattern_problem
from kbgen.forms.priorities import DEFAULT_PRIORITY, PRIORITY_SLUGS
from kbgen.site.catalog import SOFTWARE, Product

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,49}")
_ACCEPT = re.compile(r"\.[A-Za-z0-9]{1,10}|[a-z]+/(?:\*|[A-Za-z0-9.+-]+)")


def load_consents(folder: Path, problems: list[str]) -> dict[str, ConsentText]:
    consents: dict[str, ConsentText] = {}
    if not folder.is_dir():
        return consents
    for path in sorted(folder.glob("*.y*ml")):
        file = YamlFile(path, problems)
        if path.suffix != ".yml" or not _SLUG.fullmatch(path.stem):
            file.add(None, "", "consent files are named like server-access.yml", "rename the file")
            continue
        before = len(problems)
        data = file.load()
        if len(problems) > before:
            continue
        m = file.mapping(data, 1, "", "a mapping with version, title, intro, items and agreement")
        if m is None:
            continue
        file.keys(m, "", {"version", "title", "intro", "items", "agreement"}, ("version", "title", "agreement"))
        version = m.get("version")
        if isinstance(version, _dt.date):
            version = version.isoformat()
        if not isinstance(version, (str, int)) or isinstance(version, bool) or not str(version).strip():
            if "version" in m:
                file.add(m.key_lines["version"], "version", "must be text like \"2026-01\"", "quote it")
            version = ""
        items: list[tuple[str, str]] = []
        raw_items = m.get("items") or []
        if not isinstance(raw_items, list):
            file.add(m.key_lines.get("items", m.line), "items", "must be a list", "start each item with '- heading:'")
            raw_items = []
        for i, item in enumerate(raw_items):
            where = f"items[{i}]"
            im = file.mapping(item, m.key_lines.get("items", m.line), where, "a mapping with heading and text")
            if im is None:
                continue
            file.keys(im, where, {"heading", "text"}, ("heading", "text"))
            items.append((file.text(im, "heading", where), file.text(im, "text", where)))
        consents[path.stem] = ConsentText(path.stem, str(version).strip(), file.text(m, "title", ""),
                                          file.text(m, "intro", ""), tuple(items),
                                          file.text(m, "agreement", ""), file.label)
    return consents


def _parse_options(file: YamlFile, fm: YamlMap, where: str) -> tuple[Option, ...]:
    raw = fm.get("options")
    line = fm.key_lines.get("options", fm.line)
    if raw == "software":  # the products list stays in kbgen.catalog, not copied into YAML
        return tuple(Option(p.slug, p.name) for p in SOFTWARE)
    if not isinstance(raw, list) or not raw:
        file.add(line, join(where, "options"), "must be a non-empty list",
                 "write one '- value' per line, or '- {value: on-premise, label: On premise}', "
                 "or 'options: software' for the software products")
        return ()
    options: list[Option] = []
    for i, item in enumerate(raw):
        at = f"{where}.options[{i}]"
        if isinstance(item, YamlMap):
            file.keys(item, at, {"value", "label"}, ("value",))
            value, label = item.get("value"), item.get("label", item.get("value"))
        else:
            value = label = item
        if not isinstance(value, str) or not isinstance(label, str):
            file.add(line, at, f"must be text, not {value!r}",
                     "put it in quotes, e.g. \"3.10\" (unquoted, YAML reads 3.10 as the number 3.1)")
            continue
        value, label = value.strip(), label.strip()
        if not value or len(value) > OPTION_MAX_LENGTH:
            file.add(line, at, f"must be 1 to {OPTION_MAX_LENGTH} characters")
        elif any(o.value == value for o in options):
            file.add(line, at, f"'{value}' is listed twice", "remove one")
        else:
            options.append(Option(value, label or value))
    return tuple(options)


def _parse_show_if(file: YamlFile, fm: YamlMap, where: str, earlier: dict[str, Field]) -> ShowIf | None:
    at = join(where, "show_if")
    line = fm.key_lines.get("show_if", fm.line)
    m = file.mapping(fm["show_if"], line, at, "a mapping like {field: needs_access, equals: \"yes\"}")
    if m is None:
        return None
    file.keys(m, at, {"field", "equals", "in"}, ("field",))
    if ("equals" in m) == ("in" in m):
        file.add(line, at, "needs exactly one of 'equals' or 'in'", "e.g. show_if: {field: deployment, in: [cloud]}")
        return None
    target = m.get("field")
    other = earlier.get(target) if isinstance(target, str) else None
    if other is None:
        names = ", ".join(earlier) or "none"
        file.add(line, join(at, "field"), f"'{target}' is not a field above this one",
                 f"show_if can refer to a field defined earlier in the same request type ({names})")
        return None
    if other.type not in ("select", "multi-select", "consent"):
        file.add(line, join(at, "field"), f"'{target}' is a {other.type} field",
                 "show_if can depend only on a select, multi-select or consent field")
        return None
    raw = [m["equals"]] if "equals" in m else m["in"]
    if not isinstance(raw, list) or not raw:
        file.add(line, join(at, "in"), "must be a non-empty list", "e.g. in: [cloud, hybrid]")
        return None
    values: list[str] = []
    for value in raw:
        if other.type == "consent":
            if not isinstance(value, bool):
                file.add(line, at, f"'{target}' is a consent: compare it with true or false, not {value!r}")
                return None
            values.append("true" if value else "false")
        elif not isinstance(value, str) or value not in {o.value for o in other.options}:
            choices = ", ".join(o.value for o in other.options)
            file.add(line, at, f"{value!r} is not an option of '{target}'", f"use one of: {choices}")
            return None
        else:
            values.append(value)
    return ShowIf(target, tuple(values))


def _parse_field(file: YamlFile, name: Any, raw: Any, line: int, where: str, earlier: dict[str, Field],
                 consents: dict[str, ConsentText]) -> Field | None:
    if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
        file.add(line, where, "field names are lowercase words with underscores, up to 50 characters",
                 "rename it, e.g. 'server_host'")
        return None
    fm = file.mapping(raw, line, where, "a mapping with at least 'type' and 'label'")
    if fm is None:
        return None
    ftype = fm.get("type")
    if ftype not in FIELD_TYPES:
        close = difflib.get_close_matches(str(ftype), FIELD_TYPES, n=1)
        file.add(fm.key_lines.get("type", fm.line), join(where, "type"),
                 f"unknown field type {ftype!r}" if ftype is not None else "missing",
                 f"did you mean '{close[0]}'?" if close else "use one of: " + ", ".join(FIELD_TYPES))
        return None
    file.keys(fm, where, KEYS[ftype], () if ftype == "consent" else ("label",))
    kwargs: dict[str, Any] = dict(
        name=name, type=ftype, label=file.text(fm, "label", where), help=file.text(fm, "help", where),
        placeholder=file.text(fm, "placeholder", where), required=file.boolean(fm, "required", where))
    if ftype in LENGTHS:
        default_max, cap = LENGTHS[ftype]
        if name == "summary":
            default_max = SUMMARY_MAX_LENGTH
        kwargs["min_length"] = file.integer(fm, "min_length", where, 1, cap)
        kwargs["max_length"] = file.integer(fm, "max_length", where, 1, cap) or default_max
        if kwargs["min_length"] and kwargs["min_length"] > kwargs["max_length"]:
            file.add(fm.key_lines.get("min_length", fm.line), join(where, "min_length"),
                     f"is larger than max_length ({kwargs['max_length']})", "lower min_length or raise max_length")
    if "pattern" in fm:
        pattern = fm["pattern"]
        line_p = fm.key_lines["pattern"]
        if not isinstance(pattern, str) or not pattern:
            file.add(line_p, join(where, "pattern"), "must be a regular expression in quotes")
        else:
            problem = pattern_problem(pattern)
            if problem:
                file.add(line_p, join(where, "pattern"), *problem)
            else:
                kwargs["pattern"] = pattern
            if not file.text(fm, "pattern_message", where):
                file.add(line_p, join(where, "pattern_message"), "missing",
                         "add 'pattern_message:' telling customers what to write, e.g. 'Write it like 3.41.2'")
        kwargs["pattern_message"] = file.text(fm, "pattern_message", where)
    if ftype in ("select", "multi-select"):
        kwargs["options"] = _parse_options(file, fm, where)
    if ftype == "attachments":
        kwargs["max_files"] = file.integer(fm, "max_files", where, 1, MAX_FILES_LIMIT) or DEFAULT_MAX_FILES
        accept = fm.get("accept") or []
        if not isinstance(accept, list) or not all(isinstance(a, str) and _ACCEPT.fullmatch(a) for a in accept):
            file.add(fm.key_lines.get("accept", fm.line), join(where, "accept"),
                     "must be a list of file extensions or MIME types", "e.g. accept: [.log, .txt, .zip, image/*]")
            accept = []
        kwargs["accept"] = tuple(a.lower() for a in accept)
    if ftype == "consent":
        ref = fm.get("consent")
        consent = consents.get(ref) if isinstance(ref, str) else None
        if consent is None:
            known = ", ".join(consents) or "none yet"
            file.add(fm.key_lines.get("consent", fm.line), join(where, "consent"),
                     f"no consent text named {ref!r}" if ref is not None else "missing",
                     f"name a file of forms/consents/ without .yml (available: {known})")
            return None
        kwargs["consent"] = consent
        kwargs["label"] = consent.title
    if "show_if" in fm:
        if name in ("summary", "description"):
            file.add(fm.key_lines["show_if"], join(where, "show_if"), f"'{name}' is always shown", "remove show_if")
        else:
            kwargs["show_if"] = _parse_show_if(file, fm, where, earlier)
    return Field(**kwargs)


def _parse_request_type(file: YamlFile, slug: Any, raw: Any, line: int, where: str,
                        consents: dict[str, ConsentText]) -> RequestType | None:
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
        file.add(line, where, "request type names are lowercase words joined by '-' (they are URLs)",
                 "rename it, e.g. 'bug-report'")
        return None
    m = file.mapping(raw, line, where, "a mapping with title, description and fields")
    if m is None:
        return None
    file.keys(m, where, {"title", "description", "default_priority", "fields"}, ("title", "description", "fields"))
    default_priority = file.text(m, "default_priority", where, DEFAULT_PRIORITY)
    if default_priority not in PRIORITY_SLUGS:
        file.add(m.key_lines.get("default_priority"), join(where, "default_priority"),
                 f"unknown priority {default_priority!r}", "use one of: " + ", ".join(PRIORITY_SLUGS))
    fields: dict[str, Field] = {}
    raw_fields = m.get("fields")
    fields_where = join(where, "fields")
    fields_map = file.mapping(raw_fields, m.key_lines.get("fields", m.line), fields_where,
                              "a mapping of field name to its definition") if raw_fields is not None else None
    if fields_map is not None:
        for name, definition in fields_map.items():
            parsed = _parse_field(file, name, definition, fields_map.key_lines[name], join(fields_where, name),
                                  fields, consents)
            if parsed is not None:
                fields[name] = parsed
        _check_standard_fields(file, fields_map, fields_where, fields)
    return RequestType(slug, file.text(m, "title", where), file.text(m, "description", where), fields,
                       default_priority if default_priority in PRIORITY_SLUGS else DEFAULT_PRIORITY)


def _check_standard_fields(file: YamlFile, fields_map: YamlMap, where: str, fields: dict[str, Field]) -> None:
    """Every request type has a required `summary` (the ticket title) and a `description` textarea."""
    if "summary" not in fields_map:
        file.add(fields_map.line, join(where, "summary"), "missing",
                 f"add a required 'summary' text field (max_length {SUMMARY_MAX_LENGTH} or less): "
                 "it becomes the ticket's title")
    elif "summary" in fields:
        summary = fields["summary"]
        if summary.type != "text" or not summary.required or (summary.max_length or 0) > SUMMARY_MAX_LENGTH:
            file.add(fields_map.key_lines["summary"], join(where, "summary"),
                     f"must be a required text field with max_length {SUMMARY_MAX_LENGTH} or less",
                     "set 'type: text' and 'required: true'")
    if "description" not in fields_map:
        file.add(fields_map.line, join(where, "description"), "missing",
                 "add a 'description' textarea: it becomes the ticket's description")
    elif "description" in fields and fields["description"].type != "textarea":
        file.add(fields_map.key_lines["description"], join(where, "description"), "must be a textarea",
                 "set 'type: textarea'")


def load_product(path: Path, product: Product, consents: dict[str, ConsentText],
                  problems: list[str]) -> ProductForm | None:
    file = YamlFile(path, problems)
    before = len(problems)
    data = file.load()
    if len(problems) > before:
        return None
    m = file.mapping(data, 1, "", "a mapping with 'request_types:'")
    if m is None:
        return None
    file.keys(m, "", {"intro", "request_types"}, ("request_types",))
    types_map = m.get("request_types")
    request_types: dict[str, RequestType] = {}
    if types_map is not None:
        types_map = file.mapping(types_map, m.key_lines["request_types"], "request_types",
                                 "a mapping of request type (e.g. bug-report) to its definition")
    if types_map is not None:
        if not types_map:
            file.add(types_map.line, "request_types", "is empty", "add at least one request type")
        for slug, raw in types_map.items():
            parsed = _parse_request_type(file, slug, raw, types_map.key_lines[slug], f"request_types.{slug}",
                                         consents)
            if parsed is not None:
                request_types[slug] = parsed
    if len(problems) > before:
        return None
    return ProductForm(product, file.text(m, "intro", ""), request_types, file.label)
