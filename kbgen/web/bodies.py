"""Reading what clients send, safely: JSON bodies, form posts, and the text inside both.

Every endpoint that takes JSON reads it with `read_json`, every form post with
`read_form`, and every value bound for the database passes `input_problems` (the
ticket forms' `validate` calls it too). What they refuse, and why:

- JSON nested deeper than MAX_DEPTH: Python's parser recurses, and a few thousand
  brackets exhaust the stack (RecursionError, a 500) before any check could run.
- NUL characters: PostgreSQL text cannot hold them, and SQLite would store them and
  hand them on to emails and exports.
- lone surrogates (`"\\ud800"` in JSON, or its bytes ED A0 80): not characters at all;
  they cannot be encoded as UTF-8, so neither database nor any answer can carry them.
- integers outside 64 bits: neither database stores or compares them (ids are held to
  their columns' 32 bits by the routes that take them: kbgen.tickets.MAX_ID).

Refusals are 4xx answers in the shared shape (kbgen.web.errors) naming the JSON path
or form field, e.g. `fields.summary`, so a client knows what to correct.
"""
from __future__ import annotations

import json
import math
import re
from contextlib import aclosing
from typing import Any, Iterable
from urllib.parse import unquote_to_bytes

from fastapi import Request
from pydantic import BaseModel, ValidationError
from python_multipart.multipart import parse_options_header
from starlette.datastructures import FormData
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

from kbgen.web.errors import ApiError, field_errors, printable

MAX_DEPTH = 32
MAX_JSON_BYTES = 1024 * 1024  # a ticket of many fields; routes with small bodies pass their own, smaller limit
SMALL_JSON_BYTES = 16 * 1024
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
MAX_PROBLEMS = 20  # enough to correct a body; a hostile one does not get a megabyte of errors back

_SURROGATE = re.compile("[\ud800-\udfff]")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class _HugeInteger(str):
    """An integer literal too long to be a 64-bit number, kept as text until its path is known."""


def _problem_in_text(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which text cannot hold; remove it and send again."
    if not text.isascii():
        found = _SURROGATE.search(text)
        if found:
            return (f"contains a lone surrogate (\\u{ord(found.group()):04x}), which is not a character; "
                    "send the text as valid UTF-8.")
    return None


def _join(path: str, key: str) -> str:
    shown = printable(key)
    shown = shown if len(shown) <= 60 else shown[:59] + "…"
    return f"{path}.{shown}" if path else shown


def input_problems(data: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, message) for every string or key holding a NUL or a lone surrogate and every number out of
    range, anywhere in a JSON-shaped value; paths look like `fields.summary` or `fields.channels[1]`."""
    problems: list[tuple[str, str]] = []
    stack: list[tuple[str, Any]] = [(path, data)]
    while stack and len(problems) < MAX_PROBLEMS:
        where, value = stack.pop()
        if isinstance(value, _HugeInteger) or (isinstance(value, int) and not isinstance(value, bool)
                                               and not INT64_MIN <= value <= INT64_MAX):
            problems.append((where or "body", f"is outside the 64-bit integer range; send a whole number from "
                                              f"{INT64_MIN} to {INT64_MAX}."))
        elif isinstance(value, str):
            message = _problem_in_text(value)
            if message:
                problems.append((where or "body", message))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append((where or "body", "is not a finite number; send a number within range."))
        elif isinstance(value, dict):
            for key, item in reversed(list(value.items())):
                key_problem = _problem_in_text(key) if isinstance(key, str) else None
                if key_problem:
                    problems.append((_join(where, key), "the name " + key_problem))
                stack.append((_join(where, str(key)), item))
        elif isinstance(value, (list, tuple)):
            stack.extend((f"{where}[{index}]", item) for index, item in reversed(list(enumerate(value))))
    return problems


def refuse(problems: list[tuple[str, str]], status: int = 422) -> ApiError:
    first_field, first_message = problems[0]
    more = f" ({len(problems) - 1} more below)" if len(problems) > 1 else ""
    return ApiError(status, f"{first_field}: {first_message}{more}", problems)


def check(data: Any, path: str = "") -> None:
    """Raise a 422 naming every field of `data` that the database could not hold."""
    problems = input_problems(data, path)
    if problems:
        raise refuse(problems)


# -- JSON ----------------------------------------------------------------------------------------


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _too_deep(text: str) -> bool:
    """Whether the brackets of a JSON text (strings skipped) nest deeper than MAX_DEPTH."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False  # every ordinary body: counted at C speed
    depth = 0
    for char in _STRING.sub("", text):
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(body: bytes, *, expected: str) -> Any:
    """The JSON value of a body, or an ApiError saying what is wrong with it; `expected` says what to send."""
    if not body.strip():
        raise ApiError(400, f"The body is empty. {expected}", [("body", "is empty")])
    try:
        text, suspect = body.decode("utf-8"), False
    except UnicodeDecodeError:
        try:
            # As json.loads(bytes) does itself; the encoded surrogates then get a path from the walk below.
            text, suspect = body.decode("utf-8", "surrogatepass"), True
        except UnicodeDecodeError as exc:
            raise ApiError(400, f"The body is not valid UTF-8 (byte {exc.start}). {expected}",
                           [("body", f"is not valid UTF-8 at byte {exc.start}")]) from None
    if _too_deep(text):
        raise ApiError(422, f"The body nests JSON deeper than {MAX_DEPTH} levels; send a flatter body. {expected}",
                       [("body", f"is nested deeper than {MAX_DEPTH} levels")])
    # The walk visits every value, so it runs only when the text can hold something to find: a NUL or
    # surrogate escape (over-approximated), raw surrogates, or a number the hooks below saw out of range.
    suspect = suspect or "\\u0000" in text or "\\ud" in text or "\\uD" in text
    numbers: list[str] = []

    def integer(literal: str) -> int | _HugeInteger:
        if len(literal) <= 18:
            return int(literal)
        numbers.append(literal)
        # Never int() a long literal: past 4,300 digits Python refuses it, and well before that it is slow.
        return int(literal) if len(literal.lstrip("-")) <= 19 else _HugeInteger(literal)

    def real(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):  # 1e999
            numbers.append(literal)
        return value

    try:
        data = json.loads(text, parse_int=integer, parse_float=real, parse_constant=_no_constants)
    except ValueError as exc:
        reason = f"{exc.msg}: line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) \
            else str(exc)
        raise ApiError(400, f"The body is not valid JSON ({reason}). {expected}",
                       [("body", f"is not valid JSON: {reason}")]) from None
    if suspect or numbers:
        check(data)
    return data


async def read_json(request: Request, *, expected: str, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The request's JSON body, checked (see the module docstring)."""
    body = await request.body()
    if len(body) > max_bytes:
        # Also what bounds the time spent on a body: the checks visit every value of what they are given.
        raise ApiError(413, f"The JSON body is larger than {max_bytes // 1024} KB; send files as "
                            "multipart/form-data, and text of the documented length.",
                       [("body", f"is larger than {max_bytes // 1024} KB")])
    return parse_json(body, expected=expected)


def json_body(model: type[BaseModel], *, expected: str, max_bytes: int = SMALL_JSON_BYTES):
    """A dependency giving the body as `model`, read by read_json; document the body with `request_body(model)`."""

    async def dependency(request: Request) -> BaseModel:
        if media_type(request) != "application/json":
            raise ApiError(415, f"Send the body as application/json. {expected}",
                           [("body", "must be application/json")])
        data = await read_json(request, expected=expected, max_bytes=max_bytes)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            problems = [(field, message) for _, field, message in
                        field_errors([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])]
            raise ApiError(422, " ".join(f"{f!r} {m}." if f != "body" else f"The body {m}." for f, m in problems)
                           + f" {expected}", problems) from None

    return dependency


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI requestBody of a route that reads `model` through json_body."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


# -- form posts ----------------------------------------------------------------------------------


class _NotUtf8(Exception):
    def __init__(self, field: str, what: str = "") -> None:
        self.field, self.what = field, what


def _utf8(raw: bytes | bytearray, field: str, what: str = "") -> None:
    try:
        bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise _NotUtf8(field, what) from None


class _Utf8MultiPart(MultiPartParser):
    """Starlette decodes a part that is not valid UTF-8 as Latin-1 without a word, so the bytes of a lone
    surrogate (ED A0 80) would be stored as mojibake; this parser refuses such a part, naming it."""

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        part = self._current_part
        _, options = parse_options_header(part.content_disposition)
        if self._charset == "utf-8":
            _utf8(options.get(b"name", b""), part.field_name, "the name ")
            if part.file is not None:
                _utf8(options.get(b"filename", b""), part.field_name, "the file name ")

    def on_part_end(self) -> None:
        if self._current_part.file is None and self._charset == "utf-8":
            _utf8(self._current_part.data, self._current_part.field_name)
        super().on_part_end()


class _Utf8Form(FormParser):
    """The same for urlencoded posts, where Starlette turns invalid UTF-8 into U+FFFD."""

    def on_field_end(self) -> None:
        name = bytes(self._field_name).replace(b"+", b" ")
        shown = unquote_to_bytes(name).decode("utf-8", "replace")
        _utf8(unquote_to_bytes(name), shown, "the name ")
        _utf8(unquote_to_bytes(bytes(self._field_value).replace(b"+", b" ")), shown)
        super().on_field_end()


def form_problems(items: Iterable[tuple[str, Any]]) -> list[tuple[str, str]]:
    """Like input_problems, for a form's (name, value) pairs: names, values, file names and file types."""
    problems: list[tuple[str, str]] = []
    for name, value in items:
        field = printable(name)
        for what, text in (("the name", name),
                           ("", value if isinstance(value, str) else None),
                           ("the file name", getattr(value, "filename", None)),
                           ("the file's Content-Type", getattr(value, "content_type", None))):
            message = _problem_in_text(text) if isinstance(text, str) else None
            if message:
                problems.append((field, f"{what} {message}".strip()))
    return problems[:MAX_PROBLEMS]


async def read_form(request: Request, *, max_files: int, max_fields: int, max_part_size: int = 1024 * 1024,
                    files_allowed: int | None = None) -> FormData:
    """A multipart or urlencoded form post, parsed and checked; close() it when done.

    Past a limit the answer is 413 (Starlette's own request.form() says 400 for everything).
    `files_allowed` is the number of files to tell the client about, when the parser's
    `max_files` leaves room for the empty parts of unused file inputs.
    """
    content_type = media_type(request)
    if content_type not in _FORM_TYPES:
        raise ApiError(415, "Send the form as multipart/form-data or application/x-www-form-urlencoded.",
                       [("body", "must be a form post")])
    try:
        async with aclosing(request.stream()) as stream:
            if content_type == "multipart/form-data":
                parser: Any = _Utf8MultiPart(request.headers, stream, max_files=max_files, max_fields=max_fields,
                                             max_part_size=max_part_size)
            else:
                parser = _Utf8Form(request.headers, stream, max_fields=max_fields, max_part_size=max_part_size)
            form = await parser.parse()
    except MultiPartException as exc:
        raise _form_refused(exc.message, files_allowed if files_allowed is not None else max_files,
                            max_fields, max_part_size) from None
    except _NotUtf8 as exc:
        field = printable(exc.field)
        message = (f"{exc.what}is not valid UTF-8 (the bytes of a lone surrogate, or of another encoding); "
                   "send the form as UTF-8.")
        raise ApiError(422, f"{field}: {message}", [(field, message)]) from None
    problems = form_problems(form.multi_items())
    if problems:
        await form.close()
        raise refuse(problems)
    return form


def _form_refused(message: str, files: int, fields: int, part_size: int) -> ApiError:
    if message.startswith("Too many files"):
        return ApiError(413, f"Too many files in one post; attach at most {files}, or put them in one archive.",
                        [("files", f"at most {files} files are accepted")])
    if message.startswith("Too many fields"):
        return ApiError(413, f"The form post has more than {fields} fields; send only the form's own fields.",
                        [("body", f"has more than {fields} fields")])
    if "exceeded maximum size" in message:
        limit = f"{part_size // 1024} KB"
        return ApiError(413, f"A form field is larger than {limit}; shorten it, or send long text as a file.",
                        [("body", f"has a field larger than {limit}")])
    return ApiError(400, f"The form post could not be read ({message}); send it as the form page does.",
                    [("body", message)])


# -- the address -----------------------------------------------------------------------------------


def check_url(request: Request) -> None:
    """A router dependency: no path or query parameter (name or value) holds a NUL or a lone surrogate."""
    problems = []
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        for text, what in ((name, "the name "), (str(value), "")):
            message = _problem_in_text(text)
            if message:
                problems.append((printable(name), what + message))
    if problems:
        raise refuse(problems[:MAX_PROBLEMS])
