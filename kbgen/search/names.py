"""What names a page besides its text: the words inside its title's CamelCase names, and its folders.

Both are looked up for every page a query matches (query._match), so they are kept as
sets of pages per term, built once per opened index from the stored titles and
addresses: no index field is read per query, and the rankers' term caches are left to
the terms being scored.

A title's CamelCase names say their words: "ConfKick" is about kicking from a conference,
and a customer asks for "kick". (The index has them as the `title_parts` field; reading
that field per query as well as the title doubled the title look-ups the ranker caches.)

A page's folders say what it is about as much as its title does: they are the
breadcrumbs a reader follows to it ("Reporting / Channel Event Logging (CEL) / CEL
Configuration Examples / PostgreSQL CEL Backend"), and writers name them for the topic
their pages share. A customer who asks to "log channel events to postgresql" names the
folder and the page; BM25F, which sees only the page's own text, ranks the PostgreSQL
CDR page (another folder) as high. The last part of the address is the page's own name,
its title already: it is left out.
"""
from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass

from kbgen.search.analysis import camel_parts, terms

_FOLDER_SEPARATORS = re.compile(r"[-_/.]+")
_BUILT: "weakref.WeakKeyDictionary[object, _Names]" = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
_NONE: frozenset[int] = frozenset()


@dataclass(frozen=True)
class _Names:
    title_parts: dict[str, frozenset[int]]
    folders: dict[str, frozenset[int]]


def folder_terms(url: str) -> list[str]:
    """The analyzed words of the folders of a page's address, e.g. Reporting/Call-Detail-Records-CDR/x/:
    report, call, detail, record, cdr."""
    folders = url.split("#")[0].strip("/").split("/")[:-1]
    return terms(_FOLDER_SEPARATORS.sub(" ", " ".join(folders)))


def in_title_parts(index, term: str) -> frozenset[int]:
    """The pages with the term inside a CamelCase name of their title."""
    return _names(index).title_parts.get(term, _NONE)


def in_folders(index, member: tuple[str, ...]) -> frozenset[int]:
    """The pages whose folders have every term of a member (a word, or a phrase's words)."""
    folders = _names(index).folders
    found: frozenset[int] | None = None
    for term in member:
        found = folders.get(term, _NONE) if found is None else found & folders.get(term, _NONE)
        if not found:
            break
    return found or _NONE


def _names(index) -> _Names:
    found = _BUILT.get(index)
    if found is None:
        with _LOCK:
            found = _BUILT.get(index)
            if found is None:
                parts: dict[str, set[int]] = {}
                folders: dict[str, set[int]] = {}
                for docnum, info in index.docs.items():
                    for term in set(terms(camel_parts(info.title))):
                        parts.setdefault(term, set()).add(docnum)
                    for term in set(folder_terms(info.url)):
                        folders.setdefault(term, set()).add(docnum)
                found = _BUILT[index] = _Names({t: frozenset(d) for t, d in parts.items()},
                                               {t: frozenset(d) for t, d in folders.items()})
    return found
