"""Versioned copies of a page: which version a page belongs to, and one result per page.

A site declares its versions in the plugin's config (mkdocs.yml), in order of
preference, each with a label and the path prefix of its copies:

    plugins:
      - kbgen:
          versions:
            - {label: "Asterisk 18", prefix: Asterisk_18_Documentation/}
            - {label: "Certified 18.9", prefix: Certified-Asterisk_18.9_Documentation/}

or a page says `version: V2` in its front matter. Two pages are copies of one page when
their paths are the same once the version prefix is taken off (a page that names its
version only in its front matter is matched by its title). The index stores each page's
version and that key; a search shows each page once, in the reader's version when there
is a copy in it, else in the first declared version that has one, else the best ranked,
with the other versions as links.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

VERSIONS = "versions.json"  # the declared versions, written into each index version folder


class VersionsError(ValueError):
    """A versions declaration kbgen cannot use; the message says what to write."""


@dataclass(frozen=True)
class Version:
    label: str
    prefix: str = ""  # path prefix of this version's copies, relative to the docs dir ("" : front matter only)


def parse_versions(items) -> tuple[Version, ...]:
    """The plugin config's `versions:` list: [{label, prefix}], in order of preference."""
    found: list[Version] = []
    for n, item in enumerate(items or [], 1):
        if isinstance(item, str):
            item = {"label": item}
        if not isinstance(item, dict) or not str(item.get("label") or "").strip():
            raise VersionsError(f"versions item {n}: write it as {{label: \"V3\", prefix: \"v3/\"}} "
                                "(prefix is optional: pages may say `version: V3` in their front matter)")
        unknown = set(item) - {"label", "prefix"}
        if unknown:
            raise VersionsError(f"versions item {n}: unknown key(s) {', '.join(sorted(unknown))}; use label and prefix")
        prefix = str(item.get("prefix") or "").lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        label = str(item["label"]).strip()
        if any(v.label.lower() == label.lower() for v in found):
            raise VersionsError(f"versions item {n}: the label '{label}' is used twice; give each version its own")
        found.append(Version(label, prefix))
    return tuple(found)


def page_version(path: str, title: str, front_matter_version, versions: tuple[Version, ...]) -> tuple[str, str]:
    """(version label or "", the key shared by all versions of this page) of a source path."""
    declared = str(front_matter_version).strip() if front_matter_version not in (None, "") else ""
    for version in versions:
        if version.prefix and path.startswith(version.prefix):
            label = _known_label(declared, versions) or version.label
            return label, "path:" + path[len(version.prefix):]
    if declared:
        return _known_label(declared, versions) or declared, "title:" + " ".join(title.lower().split())
    return "", "path:" + path


def _known_label(declared: str, versions: tuple[Version, ...]) -> str:
    return next((v.label for v in versions if v.label.lower() == declared.lower()), declared)


def to_json(versions: tuple[Version, ...]) -> str:
    return json.dumps([{"label": v.label, "prefix": v.prefix} for v in versions])


def load(folder: Path) -> tuple[Version, ...]:
    file = folder / VERSIONS
    return parse_versions(json.loads(file.read_text(encoding="utf-8"))) if file.exists() else ()


def find_label(wanted: str | None, versions: tuple[Version, ...]) -> str | None:
    """The declared label a reader's `version=` names (any case), or None."""
    if not wanted:
        return None
    return next((v.label for v in versions if v.label.lower() == wanted.strip().lower()), None)


def pick(copies: list[int], version_of, preferred: str | None, order: tuple[Version, ...]) -> int:
    """Which of a page's copies (best ranked first) to show: the reader's version, else the
    first declared version that has a copy, else the best ranked."""
    if preferred is not None:
        for docnum in copies:
            if version_of(docnum) == preferred:
                return docnum
    for version in order:
        for docnum in copies:
            if version_of(docnum) == version.label:
                return docnum
    return copies[0]
