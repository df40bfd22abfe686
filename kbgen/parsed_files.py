"""Files the service reads again and again, parsed once and again only when they change.

The built site's JSON files (brand.json, articles.json) are read on every request that shows them,
and a project's mkdocs.yml by the service's pages and emails; a build replaces them at any time.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, TypeVar

T = TypeVar("T")
_CACHE: dict[Path, tuple[tuple[int, int], Any]] = {}  # each file is always parsed the same way


def parsed(path: Path, parse: Callable[[str], T]) -> T:
    """The file's text through `parse`, read again only when its modification time or size changed.
    Raises what reading or `parse` raises; a failure is not kept, so the next call tries again."""
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _CACHE.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    value = parse(path.read_text(encoding="utf-8"))
    _CACHE[path] = (stamp, value)
    return value
