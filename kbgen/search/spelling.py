""""Did you mean": the closest known word to a word no page contains.

The vocabulary is every word of the indexed pages as written (the index's `spell`
field) with the number of pages using it. Candidates within two edits are found
through one-character deletions (the SymSpell idea), so a lookup costs a few dict
probes instead of comparing against every word.
"""
from __future__ import annotations

import re
import threading

_WORD = re.compile(r"^[a-z]{3,24}$")


def damerau_levenshtein(a: str, b: str, limit: int = 2) -> int:
    """Edit distance with adjacent transpositions; returns limit + 1 once it exceeds limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], previous2[j - 2] + 1)
        if min(row) > limit:
            return limit + 1
        previous2, previous = previous, row
    return previous[-1]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


class Speller:
    def __init__(self, frequencies: dict[str, int]):
        self.frequencies = {w: n for w, n in frequencies.items() if _WORD.match(w)}
        self._by_delete: dict[str, list[str]] | None = None
        self._lock = threading.Lock()

    def _index(self) -> dict[str, list[str]]:
        if self._by_delete is None:
            with self._lock:
                if self._by_delete is None:
                    by_delete: dict[str, list[str]] = {}
                    for word in self.frequencies:
                        for deleted in _deletes(word):
                            by_delete.setdefault(deleted, []).append(word)
                    self._by_delete = by_delete
        return self._by_delete

    def warm(self) -> None:
        self._index()

    @property
    def warmed(self) -> bool:
        return self._by_delete is not None

    def frequency(self, word: str) -> int:
        return self.frequencies.get(word, 0)

    def correct(self, word: str) -> str | None:
        """The likeliest intended word: fewest edits, then most pages; None when nothing is close."""
        word = word.lower()
        if not _WORD.match(word):
            return None
        by_delete = self._index()
        frequencies = self.frequencies
        candidates = set(by_delete.get(word, ()))  # one letter missing from the typed word
        for deleted in _deletes(word):
            if deleted in frequencies:  # one letter too many
                candidates.add(deleted)
            candidates.update(by_delete.get(deleted, ()))  # one letter wrong, or two swapped
        limit = 1 if len(word) <= 4 else 2
        best: tuple[int, int, str] | None = None
        for candidate in candidates:
            if candidate == word:
                continue
            distance = damerau_levenshtein(word, candidate, limit)
            if distance > limit:
                continue
            key = (distance, -frequencies[candidate], candidate)
            if best is None or key < best:
                best = key
        return best[2] if best else None
