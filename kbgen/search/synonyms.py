"""Writers' synonyms: one file in content/ (synonyms.yml) saying which words mean the same.

    # A search for any entry of a group also finds pages that use the others.
    - [music on hold, hold music, moh]
    - [licence, license]

The build validates the file and stores it with the index, so the service applies
exactly the synonyms the index was built with.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from kbgen.search.analysis import terms

EXAMPLE = "- [music on hold, hold music, moh]"


class SynonymsError(ValueError):
    pass


@dataclass(frozen=True)
class Synonyms:
    # Each group is a tuple of entries; an entry is the stemmed terms of a word or phrase.
    groups: tuple[tuple[tuple[str, ...], ...], ...] = ()

    def expand(self, query_terms: list[str]) -> list[tuple[tuple[str, ...], list[tuple[str, ...]]]]:
        """(entry found in the query, the other entries of its group) for each group the query uses."""
        found = []
        for group in self.groups:
            sources = [entry for entry in group if _contains(query_terms, entry)]
            if sources:
                source = max(sources, key=len)  # "music on hold" rather than its "hold" alone
                found.append((source, [entry for entry in group if entry != source]))
        return found

    def knows(self, term: str) -> bool:
        """Whether a stemmed term is part of some entry (then it is not a typo, whatever the pages say)."""
        return any(term in entry for group in self.groups for entry in group)

    def to_json(self) -> str:
        return json.dumps({"groups": [[list(e) for e in g] for g in self.groups]})

    @classmethod
    def from_json(cls, text: str) -> "Synonyms":
        data = json.loads(text)
        return cls(tuple(tuple(tuple(e) for e in g) for g in data.get("groups", [])))


def _contains(sequence: list[str], entry: tuple[str, ...]) -> bool:
    n = len(entry)
    return any(tuple(sequence[i:i + n]) == entry for i in range(len(sequence) - n + 1))


def load(path: Path | None) -> Synonyms:
    """Read and validate a synonyms file; an error names the file, the line and the fix."""
    if path is None or not Path(path).exists():
        return Synonyms()
    text = Path(path).read_text(encoding="utf-8-sig")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SynonymsError(f"{path}:{mark.line + 1 if mark else 1}: not valid YAML "
                            f"({getattr(exc, 'problem', None) or exc}); write one group per line, e.g. {EXAMPLE}")
    if root is None:
        return Synonyms()
    if not isinstance(root, yaml.SequenceNode):
        raise SynonymsError(f"{path}:{root.start_mark.line + 1}: expected a list of groups, one per line, "
                            f"e.g. {EXAMPLE}")
    groups = []
    for node in root.value:
        line = node.start_mark.line + 1
        if isinstance(node, yaml.SequenceNode):
            raw = [item.value if isinstance(item, yaml.ScalarNode) else None for item in node.value]
        elif isinstance(node, yaml.ScalarNode):  # "- hold music, music on hold" is accepted too
            raw = [part for part in node.value.split(",")]
        else:
            raw = [None]
        if any(not isinstance(r, str) for r in raw):
            raise SynonymsError(f"{path}:{line}: a group must be a list of words or phrases, e.g. {EXAMPLE}")
        group = []
        for entry in raw:
            stemmed = tuple(terms(entry))
            if not stemmed:
                raise SynonymsError(f"{path}:{line}: '{entry.strip()}' has no searchable word "
                                    "(only common words such as 'the' or 'on'); remove it or add a word")
            if stemmed not in group:
                group.append(stemmed)
        if len(group) < 2:
            raise SynonymsError(f"{path}:{line}: a group needs at least two different entries, e.g. {EXAMPLE}")
        groups.append(tuple(group))
    return Synonyms(tuple(groups))
