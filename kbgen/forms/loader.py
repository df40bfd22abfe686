"""Reading forms/*.yml so that every mistake names its file, line and key, and says what to do.

YamlFile loads one file with a loader that remembers the line of each mapping and key
(YamlMap), reads YAML 1.2 booleans only, refuses duplicate keys, and collects problems
instead of stopping at the first: a writer fixes them all in one go.
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import yaml

__all__ = ["FormDefinitionError", "YamlFile", "YamlMap", "display_path", "join"]


class FormDefinitionError(Exception):
    """Every problem of the definitions, each as 'file:line: where: what is wrong; what to do'."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class YamlMap(dict):
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
    mapping = YamlMap()
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


def display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


class YamlFile:
    """Problems found in one YAML file, each as 'file:line: dotted.path: message; what to do'."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.label = display_path(path)
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

    def mapping(self, value: Any, line: int, where: str, what: str) -> YamlMap | None:
        if isinstance(value, YamlMap):
            return value
        self.add(line, where, f"must be {what}", "write 'key: value' lines indented under it")
        return None

    def keys(self, m: YamlMap, where: str, allowed: set[str], required: tuple[str, ...] = ()) -> None:
        for key in m:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = f"did you mean '{close[0]}'?" if close else "allowed here: " + ", ".join(sorted(allowed))
                if isinstance(key, str) and (" " in key or ")" in key):
                    hint += " (if this is the end of a text that contains a comma, put that whole text in quotes)"
                self.add(m.key_lines.get(key, m.line), join(where, key), "unknown key", hint)
        for key in required:
            if key not in m or m[key] is None:
                self.add(m.line, join(where, key), "missing", f"add '{key}:'")

    def text(self, m: YamlMap, key: str, where: str, default: str = "") -> str:
        value = m.get(key)
        if value is None:
            return default
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value).strip()
        self.add(m.key_lines.get(key, m.line), join(where, key), "must be text", "write it on one line, in quotes")
        return default

    def boolean(self, m: YamlMap, key: str, where: str) -> bool:
        value = m.get(key, False)
        if isinstance(value, bool):
            return value
        self.add(m.key_lines.get(key, m.line), join(where, key), f"must be true or false, not {value!r}")
        return False

    def integer(self, m: YamlMap, key: str, where: str, low: int, high: int) -> int | None:
        value = m.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.add(m.key_lines.get(key, m.line), join(where, key), f"must be a whole number from {low} to {high}",
                     f"it is {value!r}")
            return None
        return value


def join(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)
