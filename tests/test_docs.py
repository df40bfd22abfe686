"""The README is part of the product: its examples must work and every setting must be in it."""
from __future__ import annotations

import re
import shutil

from conftest import REPO
from kbgen.site.content import parse_article
from kbgen.forms import check_forms

README = (REPO / "README.md").read_text()


def _block(after: str, lang: str) -> str:
    start = README.index(after)
    match = re.compile(rf"```{lang}\n(.*?)```", re.S).search(README, start)
    assert match, f"no ```{lang} block after {after!r}"
    return match.group(1)


def test_front_matter_example_is_a_valid_article():
    example = _block("## Writing content", "yaml")
    article = parse_article("example.md", example + "\nBody.\n", ("title", "product", "type", "summary"))
    assert article.problems == []
    assert (article.product, article.type) == ("xcally", "how-to")


def test_forms_example_is_a_valid_form(tmp_path):
    shutil.copytree(REPO / "forms", tmp_path / "forms")
    (tmp_path / "forms" / "xcally.yml").write_text(_block("## Writing ticket forms", "yaml"))
    assert check_forms(tmp_path / "forms") == []


def test_every_environment_variable_is_documented():
    used = set()
    for path in (REPO / "kbgen").rglob("*.py"):
        used |= set(re.findall(r"\bKBGEN_[A-Z_]+[A-Z]\b", path.read_text()))
    # Project layout overrides for tests, and how `kbgen serve --workers` tells its workers the project.
    internal = {"KBGEN_CONTENT_DIR", "KBGEN_FORMS_DIR", "KBGEN_PROJECT_DIR"}
    missing = sorted(v for v in used - internal if v not in README)
    assert missing == [], f"document these in README.md's Configuration table: {missing}"


def test_the_two_commands_are_in_the_readme():
    assert "make run" in README and "make test" in README
