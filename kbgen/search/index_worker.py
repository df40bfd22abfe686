"""An indexing process: `python -m kbgen.search.index_worker FOLDER KIND create|update`.

Reads pickled items from stdin (4-byte length, then the bytes; length 0 ends): a
PageRecord to index (in update mode replacing that page's entries), or a path string
whose entries to delete. Writes one Whoosh index (pages or sections) in FOLDER and
reports one JSON line on stdout. A plain subprocess rather than multiprocessing, so it works whatever the
parent's __main__ is (mkdocs, kbgen, pytest, a bench script).
"""
from __future__ import annotations

import json
import pickle
import struct
import sys
import traceback
from pathlib import Path


def main(folder: str, kind: str, mode: str = "create") -> int:
    from kbgen.search.indexer import _Writer

    stream = sys.stdin.buffer
    try:
        update = mode == "update"
        writer = _Writer(Path(folder), kind, create=not update)
        while True:
            header = stream.read(4)
            if len(header) < 4:
                raise EOFError("the building process stopped sending pages")
            (size,) = struct.unpack("!I", header)
            if size == 0:
                break
            item = pickle.loads(stream.read(size))
            if isinstance(item, str):
                writer.delete(item)
                continue
            if update:
                writer.delete(item.path)
            writer.add(item)
        writer.commit()
        print(json.dumps({"ok": True, "pages": writer.count}), flush=True)
        return 0
    except BaseException:  # noqa: BLE001 - reported to the building process, which raises it
        print(json.dumps({"ok": False, "error": traceback.format_exc()}), flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
