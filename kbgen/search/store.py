"""Where index versions live on disk and how a new one replaces the old one atomically.

    index_dir/
      CURRENT        name of the live version (replaced with os.replace: readers see old or new)
      v-<stamp>/     complete versions: pages/ and sections/ (Whoosh), synonyms.json
      tmp-<pid>-*/   versions being written; never read

A service re-reads CURRENT on each request (a stat call) and opens the new version
when it changed; requests already running keep their searchers on the old one.
The previous version is kept for them; older ones are removed at the next swap.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import time
from pathlib import Path

POINTER = "CURRENT"
_LOCK = ".lock"
KEEP_OLD = 1  # versions kept besides the live one, for requests still reading them


class IndexMissing(RuntimeError):
    """No complete index in index_dir yet."""


@contextlib.contextmanager
def locked(index_dir: Path):
    """One writer at a time per index dir (a build's swap, a preview's update)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / _LOCK, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def new_workdir(index_dir: Path) -> Path:
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / f"tmp-{os.getpid()}-{secrets.token_hex(4)}"
    path.mkdir()
    return path


def current(index_dir: Path) -> Path | None:
    """The live version folder, or None before the first build."""
    try:
        name = (index_dir / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    path = index_dir / name
    return path if name and path.is_dir() else None


def pointer_stamp(index_dir: Path) -> tuple[int, int, int] | None:
    """Changes whenever CURRENT is replaced; cheap enough to check on every request."""
    try:
        st = os.stat(index_dir / POINTER)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def publish(index_dir: Path, workdir: Path) -> Path:
    """Make a completely written workdir the live version. Call with `locked(index_dir)` held."""
    name = f"v-{time.time_ns():020d}"  # sorts by age
    version = index_dir / name
    workdir.rename(version)
    _fsync_dir(version)
    tmp = index_dir / f".{POINTER}.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, index_dir / POINTER)
    _fsync_dir(index_dir)
    _clean(index_dir, live=name)
    return version


def discard(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)


def _clean(index_dir: Path, live: str) -> None:
    versions = sorted((p for p in index_dir.glob("v-*") if p.is_dir() and p.name != live),
                      key=lambda p: p.name, reverse=True)
    for old in versions[KEEP_OLD:]:
        shutil.rmtree(old, ignore_errors=True)
    for work in index_dir.glob("tmp-*"):
        pid = work.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):  # left behind by a killed build
            shutil.rmtree(work, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
