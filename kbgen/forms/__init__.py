"""Ticket forms: the request types and fields customers fill in, defined once in forms/*.yml.

One definition drives the static form pages (formpages.py), the server-side
validation of a submission (FormCatalog.validate) and the API schema
(FormCatalog.json_schema), so the browser and the server can never disagree
about what a field accepts.

Layout of the forms folder:
    forms/<product slug>.yml     request types and their fields (slugs from kbgen.catalog.PRODUCTS)
    forms/consents/<name>.yml    versioned texts a customer accepts (e.g. server-access.yml)
Priorities are not per product, so they live here (PRIORITIES), not in YAML.
"""
from __future__ import annotations

import datetime as _dt
import difflib
import hashlib
import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

import yaml

from kbgen.site.catalog import PRODUCTS, SOFTWARE, Product
from kbgen.settings import Settings

# --------------------------------------------------------------------------- priorities


@dataclass(frozen=True)
class Priority:
    slug: str
    name: str
    definition: str


PRIORITIES: tuple[Priority, ...] = (
    Priority("highest", "Highest",
             "Your services are down: customers cannot be served and there is no workaround."),
    Priority("high", "High",
             "A critical error or a system block: a core function is stopped for many users "
             "and there is no acceptable workaround."),
    Priority("medium", "Medium",
             "Something does not work as expected, but there is a workaround or only some users are affected."),
    Priority("low", "Low",
             "A minor problem or a question, with little impact on daily work."),
    Priority("lowest", "Lowest",
             "A suggestion, a cosmetic issue or a request for information, with no impact on operations."),
)
PRIORITY_RULE = ("Use Highest only if your services are down; "
                 "Highest/High for critical errors and system block only.")
DEFAULT_PRIORITY = "medium"
PRIORITY_SLUGS = tuple(p.slug for p in PRIORITIES)

# --------------------------------------------------------------------------- field types

FIELD_TYPES = ("text", "textarea", "select", "multi-select", "email", "url", "hostname-or-ip",
               "version", "date", "consent", "attachments")
_BASE_KEYS = {"type", "label", "help", "required", "show_if"}
_KEYS: dict[str, set[str]] = {
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
_LENGTHS: dict[str, tuple[int, int]] = {
    "text": (200, 1000), "textarea": (10000, 50000), "email": (254, 254), "url": (2000, 2000),
    "hostname-or-ip": (253, 253), "version": (50, 50),
}
SUMMARY_MAX_LENGTH = 200
OPTION_MAX_LENGTH = 100
MAX_FILES_LIMIT = Settings.max_attachments  # the intake never accepts more files per ticket
DEFAULT_MAX_FILES = 3

# The WHATWG definition browsers apply to <input type=email>, so both sides accept the same addresses.
EMAIL_RE = re.compile(r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
                      r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*")
# These patterns also go into HTML pattern attributes, which browsers compile with the `v` flag:
# keep them valid both for Python's re and for ECMAScript (escape '-' inside classes).
VERSION_PATTERN = r"[vV]?[0-9]+(\.[0-9]+){0,3}([\-+~_.][0-9A-Za-z.]+)?"
VERSION_MESSAGE = "Write a version number like 3.41.2."
HOST_PATTERN = r"[A-Za-z0-9.:%\[\]\-]+"  # loose on purpose: the server does the exact check
HOST_MESSAGE = "Write a host name like pbx.example.com or an IP address like 192.0.2.10."
URL_PATTERN = r"https?://.+"
URL_MESSAGE = "Write a full address starting with http:// or https://."
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
IDEMPOTENCY_KEY_RE = re.compile(r"[A-Za-z0-9_-]{8,100}")
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,49}")
_ACCEPT = re.compile(r"\.[A-Za-z0-9]{1,10}|[a-z]+/(?:\*|[A-Za-z0-9.+-]+)")
# Regex syntax Python understands and browsers do not: the HTML pattern would silently stop working.
_PYTHON_ONLY_REGEX = re.compile(r"\(\?P|\(\?#|\(\?[aiLmsux-]+[:)]|\\[AZ]")
ACCEPTED = ("true", "on", "yes", "1")
NOT_ACCEPTED = ("false", "off", "no", "0", "")

# --------------------------------------------------------------------------- the model


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


class FormDefinitionError(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class SubmissionInvalid(Exception):
    detail = "Some answers need your attention; please correct the marked fields."

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in errors))

    def response_body(self) -> dict[str, Any]:
        """The 422 body the form script shows inline: {"detail", "errors": [{"field", "message"}]}."""
        return {"detail": self.detail, "errors": [{"field": e.field, "message": e.message} for e in self.errors]}


# --------------------------------------------------------------------------- YAML with line numbers


class _Map(dict):
    """A YAML mapping that remembers where it and each of its keys are, for error messages."""

    line: int = 0
    key_lines: dict[Any, int]


class _Loader(yaml.SafeLoader):
    pass


# YAML 1.2 booleans: only true/false. In YAML 1.1 an option `no` or `on` would silently become a boolean.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def _construct_map(loader: _Loader, node: yaml.MappingNode):
    mapping = _Map()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    yield mapping
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "a key must be a plain word",
                                                    key_node.start_mark) from None
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"'{key}' appears twice (first on line {mapping.key_lines[key]}); keep one",
                key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def _display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


class _File:
    """Problems found in one YAML file, each as 'file:line: dotted.path: message; what to do'."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.label = _display_path(path)
        self.problems = problems

    def add(self, line: int | None, where: str, message: str, hint: str = "") -> None:
        text = f"{self.label}:{line}" if line else self.label
        text += f": {where}: {message}" if where else f": {message}"
        self.problems.append(f"{text}; {hint}" if hint else text)

    def load(self) -> Any:
        try:
            return yaml.load(self.path.read_text(encoding="utf-8-sig"), Loader=_Loader)
        except UnicodeDecodeError:
            self.add(None, "", "is not UTF-8 text", "save it as UTF-8")
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            reason = exc.problem or str(exc).splitlines()[0]
            self.add(mark.line + 1 if mark else None, "", f"not valid YAML ({reason})",
                     "check the indentation and quote texts that contain ':' or '#'")
        except yaml.YAMLError as exc:
            self.add(None, "", f"not valid YAML ({exc})", "check the indentation")
        return None

    # Typed readers: each returns the value, or the default after recording a problem.

    def mapping(self, value: Any, line: int, where: str, what: str) -> _Map | None:
        if isinstance(value, _Map):
            return value
        self.add(line, where, f"must be {what}", "write 'key: value' lines indented under it")
        return None

    def keys(self, m: _Map, where: str, allowed: set[str], required: tuple[str, ...] = ()) -> None:
        for key in m:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = f"did you mean '{close[0]}'?" if close else "allowed here: " + ", ".join(sorted(allowed))
                if isinstance(key, str) and (" " in key or ")" in key):
                    hint += " (if this is the end of a text that contains a comma, put that whole text in quotes)"
                self.add(m.key_lines.get(key, m.line), _join(where, key), "unknown key", hint)
        for key in required:
            if key not in m or m[key] is None:
                self.add(m.line, _join(where, key), "missing", f"add '{key}:'")

    def text(self, m: _Map, key: str, where: str, default: str = "") -> str:
        value = m.get(key)
        if value is None:
            return default
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value).strip()
        self.add(m.key_lines.get(key, m.line), _join(where, key), "must be text", "write it on one line, in quotes")
        return default

    def boolean(self, m: _Map, key: str, where: str) -> bool:
        value = m.get(key, False)
        if isinstance(value, bool):
            return value
        self.add(m.key_lines.get(key, m.line), _join(where, key), f"must be true or false, not {value!r}")
        return False

    def integer(self, m: _Map, key: str, where: str, low: int, high: int) -> int | None:
        value = m.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.add(m.key_lines.get(key, m.line), _join(where, key), f"must be a whole number from {low} to {high}",
                     f"it is {value!r}")
            return None
        return value


def _join(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


# --------------------------------------------------------------------------- loading definitions


def _load_consents(folder: Path, problems: list[str]) -> dict[str, ConsentText]:
    consents: dict[str, ConsentText] = {}
    if not folder.is_dir():
        return consents
    for path in sorted(folder.glob("*.y*ml")):
        file = _File(path, problems)
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


def _check_regex(file: _File, line: int, where: str, pattern: str) -> str | None:
    try:
        re.compile(pattern)
    except re.error as exc:
        file.add(line, where, f"not a valid regular expression ({exc})", "fix the pattern")
        return None
    if _PYTHON_ONLY_REGEX.search(pattern):
        file.add(line, where, "uses Python-only regular expression syntax ((?P..), inline flags, \\A or \\Z)",
                 "browsers use the pattern too: write it with plain groups and no flags")
        return None
    problem = browser_regex_problem(pattern)
    if problem:
        file.add(line, where, f"browsers cannot use this pattern: it {problem}",
                 "browsers read patterns strictly (the `v` flag) and would silently check nothing")
        return None
    return pattern


_CLASS_RESERVED_ESCAPES = set("-&!#%,:;<=>@`~")  # escapable inside [...] in `v` mode only
_SYNTAX = set("^$\\.*+?()[]{}|/")
_DOUBLE_PUNCTUATORS = set("&!#$%*+,.:;<=>?@^`~")


def browser_regex_problem(pattern: str) -> str | None:
    """What makes a Python-valid pattern fail in an HTML pattern attribute, or None.

    Browsers compile `pattern` with the `v` flag, which is stricter than Python: no
    needless escapes, no lone braces, and '-', '(', ')', '{', '}', '/', '|' escaped inside [...].
    Doubled punctuation inside [...] is refused too: '&&' there even means set intersection.
    """
    i, in_class, class_start = 0, False, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            n = pattern[i + 1:i + 2]
            if not n:
                return "ends with a lone backslash"
            if not (n.isalnum() or n in _SYNTAX or (in_class and n in _CLASS_RESERVED_ESCAPES)):
                return f"escapes '{n}' needlessly; remove the backslash"
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            elif c in "()[{}/|":
                return f"has an unescaped '{c}' inside [...]; write \\{c}"
            elif c == "-" and (i == class_start or pattern[i + 1:i + 2] == "]"):
                return "has a '-' at the edge of [...]; write \\-"
            elif c in _DOUBLE_PUNCTUATORS and pattern[i + 1:i + 2] == c:
                return f"has '{c}{c}' inside [...]; escape one of them"
        elif c == "[":
            in_class = True
            class_start = i + 2 if pattern[i + 1:i + 2] == "^" else i + 1
        elif c == "{":
            quantifier = re.match(r"\{[0-9]+(,[0-9]*)?\}", pattern[i:])
            if not quantifier:
                return "has a '{' that is not a repetition like {2,5}; write \\{"
            i += len(quantifier.group())
            continue
        elif c == "}":
            return "has a lone '}'; write \\}"
        i += 1
    return None


def _parse_options(file: _File, fm: _Map, where: str) -> tuple[Option, ...]:
    raw = fm.get("options")
    line = fm.key_lines.get("options", fm.line)
    if raw == "software":  # the products list stays in kbgen.catalog, not copied into YAML
        return tuple(Option(p.slug, p.name) for p in SOFTWARE)
    if not isinstance(raw, list) or not raw:
        file.add(line, _join(where, "options"), "must be a non-empty list",
                 "write one '- value' per line, or '- {value: on-premise, label: On premise}', "
                 "or 'options: software' for the software products")
        return ()
    options: list[Option] = []
    for i, item in enumerate(raw):
        at = f"{where}.options[{i}]"
        if isinstance(item, _Map):
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


def _parse_show_if(file: _File, fm: _Map, where: str, earlier: dict[str, Field]) -> ShowIf | None:
    at = _join(where, "show_if")
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
        file.add(line, _join(at, "field"), f"'{target}' is not a field above this one",
                 f"show_if can refer to a field defined earlier in the same request type ({names})")
        return None
    if other.type not in ("select", "multi-select", "consent"):
        file.add(line, _join(at, "field"), f"'{target}' is a {other.type} field",
                 "show_if can depend only on a select, multi-select or consent field")
        return None
    raw = [m["equals"]] if "equals" in m else m["in"]
    if not isinstance(raw, list) or not raw:
        file.add(line, _join(at, "in"), "must be a non-empty list", "e.g. in: [cloud, hybrid]")
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


def _parse_field(file: _File, name: Any, raw: Any, line: int, where: str, earlier: dict[str, Field],
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
        file.add(fm.key_lines.get("type", fm.line), _join(where, "type"),
                 f"unknown field type {ftype!r}" if ftype is not None else "missing",
                 f"did you mean '{close[0]}'?" if close else "use one of: " + ", ".join(FIELD_TYPES))
        return None
    file.keys(fm, where, _KEYS[ftype], () if ftype == "consent" else ("label",))
    kwargs: dict[str, Any] = dict(
        name=name, type=ftype, label=file.text(fm, "label", where), help=file.text(fm, "help", where),
        placeholder=file.text(fm, "placeholder", where), required=file.boolean(fm, "required", where))
    if ftype in _LENGTHS:
        default_max, cap = _LENGTHS[ftype]
        kwargs["min_length"] = file.integer(fm, "min_length", where, 1, cap)
        kwargs["max_length"] = file.integer(fm, "max_length", where, 1, cap) or default_max
        if kwargs["min_length"] and kwargs["min_length"] > kwargs["max_length"]:
            file.add(fm.key_lines.get("min_length", fm.line), _join(where, "min_length"),
                     f"is larger than max_length ({kwargs['max_length']})", "lower min_length or raise max_length")
    if "pattern" in fm:
        pattern = fm["pattern"]
        line_p = fm.key_lines["pattern"]
        if not isinstance(pattern, str) or not pattern:
            file.add(line_p, _join(where, "pattern"), "must be a regular expression in quotes")
        else:
            kwargs["pattern"] = _check_regex(file, line_p, _join(where, "pattern"), pattern)
            if not file.text(fm, "pattern_message", where):
                file.add(line_p, _join(where, "pattern_message"), "missing",
                         "add 'pattern_message:' telling customers what to write, e.g. 'Write it like 3.41.2'")
        kwargs["pattern_message"] = file.text(fm, "pattern_message", where)
    if ftype in ("select", "multi-select"):
        kwargs["options"] = _parse_options(file, fm, where)
    if ftype == "attachments":
        kwargs["max_files"] = file.integer(fm, "max_files", where, 1, MAX_FILES_LIMIT) or DEFAULT_MAX_FILES
        accept = fm.get("accept") or []
        if not isinstance(accept, list) or not all(isinstance(a, str) and _ACCEPT.fullmatch(a) for a in accept):
            file.add(fm.key_lines.get("accept", fm.line), _join(where, "accept"),
                     "must be a list of file extensions or MIME types", "e.g. accept: [.log, .txt, .zip, image/*]")
            accept = []
        kwargs["accept"] = tuple(a.lower() for a in accept)
    if ftype == "consent":
        ref = fm.get("consent")
        consent = consents.get(ref) if isinstance(ref, str) else None
        if consent is None:
            known = ", ".join(consents) or "none yet"
            file.add(fm.key_lines.get("consent", fm.line), _join(where, "consent"),
                     f"no consent text named {ref!r}" if ref is not None else "missing",
                     f"name a file of forms/consents/ without .yml (available: {known})")
            return None
        kwargs["consent"] = consent
        kwargs["label"] = consent.title
    if "show_if" in fm:
        if name in ("summary", "description"):
            file.add(fm.key_lines["show_if"], _join(where, "show_if"), f"'{name}' is always shown", "remove show_if")
        else:
            kwargs["show_if"] = _parse_show_if(file, fm, where, earlier)
    return Field(**kwargs)


def _parse_request_type(file: _File, slug: Any, raw: Any, line: int, where: str,
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
        file.add(m.key_lines.get("default_priority"), _join(where, "default_priority"),
                 f"unknown priority {default_priority!r}", "use one of: " + ", ".join(PRIORITY_SLUGS))
    fields: dict[str, Field] = {}
    raw_fields = m.get("fields")
    fields_where = _join(where, "fields")
    fields_map = file.mapping(raw_fields, m.key_lines.get("fields", m.line), fields_where,
                              "a mapping of field name to its definition") if raw_fields is not None else None
    if fields_map is not None:
        for name, definition in fields_map.items():
            parsed = _parse_field(file, name, definition, fields_map.key_lines[name], _join(fields_where, name),
                                  fields, consents)
            if parsed is not None:
                fields[name] = parsed
        _check_standard_fields(file, fields_map, fields_where, fields)
    return RequestType(slug, file.text(m, "title", where), file.text(m, "description", where), fields,
                       default_priority if default_priority in PRIORITY_SLUGS else DEFAULT_PRIORITY)


def _check_standard_fields(file: _File, fields_map: _Map, where: str, fields: dict[str, Field]) -> None:
    """Every request type has a required `summary` (the ticket title) and a `description` textarea."""
    if "summary" not in fields_map:
        file.add(fields_map.line, _join(where, "summary"), "missing",
                 f"add a required 'summary' text field (max_length {SUMMARY_MAX_LENGTH} or less): "
                 "it becomes the ticket's title")
    elif "summary" in fields:
        summary = fields["summary"]
        if summary.type != "text" or not summary.required or (summary.max_length or 0) > SUMMARY_MAX_LENGTH:
            file.add(fields_map.key_lines["summary"], _join(where, "summary"),
                     f"must be a required text field with max_length {SUMMARY_MAX_LENGTH} or less",
                     "set 'type: text' and 'required: true'")
    if "description" not in fields_map:
        file.add(fields_map.line, _join(where, "description"), "missing",
                 "add a 'description' textarea: it becomes the ticket's description")
    elif "description" in fields and fields["description"].type != "textarea":
        file.add(fields_map.key_lines["description"], _join(where, "description"), "must be a textarea",
                 "set 'type: textarea'")


def _load_product(path: Path, product: Product, consents: dict[str, ConsentText],
                  problems: list[str]) -> ProductForm | None:
    file = _File(path, problems)
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


def load_catalog(forms_dir: Path) -> "FormCatalog":
    """Read and validate every definition in forms_dir; raise FormDefinitionError listing all problems."""
    forms_dir = Path(forms_dir)
    shown = _display_path(forms_dir)
    if not forms_dir.is_dir():
        raise FormDefinitionError([f"{shown}: folder not found; create it with one YAML file per product "
                                   "(" + ", ".join(f"{p.slug}.yml" for p in PRODUCTS) + ")"])
    problems: list[str] = []
    consents = _load_consents(forms_dir / "consents", problems)
    slugs = {p.slug for p in PRODUCTS}
    for path in sorted(forms_dir.glob("*.y*ml")):
        if path.suffix == ".yaml" and path.stem in slugs:
            problems.append(f"{_display_path(path)}: rename it to {path.stem}.yml")
        elif path.suffix in (".yml", ".yaml") and path.stem not in slugs:
            problems.append(f"{_display_path(path)}: '{path.stem}' is not a product; name form files after "
                            "a product slug: " + ", ".join(f"{s}.yml" for s in slugs))
    forms: dict[str, ProductForm] = {}
    for product in PRODUCTS:
        path = forms_dir / f"{product.slug}.yml"
        if path.is_file():
            form = _load_product(path, product, consents, problems)
            if form is not None:
                forms[product.slug] = form
    if not forms and not problems:
        problems.append(f"{shown}: no form definitions found; add one YAML file per product, e.g. xcally.yml")
    if problems:
        raise FormDefinitionError(problems)
    return FormCatalog(forms, consents)


def check_forms(forms_dir: Path) -> list[str]:
    """`kbgen check`: the problems of the form definitions, empty when they are fine."""
    try:
        load_catalog(forms_dir)
    except FormDefinitionError as exc:
        return exc.problems
    return []


# --------------------------------------------------------------------------- validating a submission


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
    if f.type == "email" and not EMAIL_RE.fullmatch(value):
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


FORM_KEYS = ("product", "request_type", "priority", "idempotency_key", "related_to")


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


# --------------------------------------------------------------------------- the catalog


@dataclass
class FormCatalog:
    forms: dict[str, ProductForm]  # by product slug, in kbgen.catalog.PRODUCTS order
    consents: dict[str, ConsentText] = field(default_factory=dict)

    def request_type(self, product: str, request_type: str) -> RequestType | None:
        form = self.forms.get(product)
        return form.request_types.get(request_type) if form else None

    def validate(self, data: Mapping) -> Submission:
        """Check a JSON-shaped submission against its form; raise SubmissionInvalid with every problem."""
        if not isinstance(data, Mapping):
            raise SubmissionInvalid([FieldError("", "The request body must be a JSON object.")])
        from kbgen.web.bodies import input_problems

        unsafe = input_problems(dict(data))  # NUL, lone surrogates, huge numbers: no database holds them
        if unsafe:
            raise SubmissionInvalid([FieldError(where, message) for where, message in unsafe])
        errors: list[FieldError] = []
        product, rtype_slug = data.get("product"), data.get("request_type")
        form = self.forms.get(product) if isinstance(product, str) else None
        rtype = None
        if form is None:
            errors.append(FieldError("product", f"Unknown product {_short(repr(product))}; use one of: "
                                     f"{', '.join(self.forms)}."))
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

    def json_schema(self, product: str) -> dict[str, Any]:
        """JSON Schema (2020-12, as OpenAPI 3.1 uses) of the JSON body of a ticket for this product."""
        form = self.forms[product]
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
