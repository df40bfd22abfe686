"""Writers get `file:line: what is wrong; what to do` for every front matter and link mistake."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from kbgen.cli import cli

GOOD = """\
---
title: Configure hold music
product: XCALLY
type: how-to
summary: Play your own music to callers waiting in a queue.
tags: [queues]
updated: 2026-10-01
---

Intro.

## Upload the file

Text.
"""


def make_project(tmp_path: Path, pages: dict[str, str]) -> Path:
    (tmp_path / "mkdocs.yml").write_text(textwrap.dedent("""\
        site_name: Test portal
        docs_dir: content
        theme: {name: material}
        plugins:
          - kbgen:
              required: [title, product, type, summary]
              closed_front_matter: true
        """))
    for rel, text in {"kb/good.md": GOOD, **pages}.items():
        path = tmp_path / "content" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def check(project: Path, monkeypatch) -> tuple[int, str]:
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, ["check"])
    return result.exit_code, result.output


CASES = [
    ("missing title", GOOD.replace("title: Configure hold music\n", ""), 1,
     "missing front matter 'title'", "add 'title:'"),
    ("unknown product", GOOD.replace("product: XCALLY", "product: XCALY"), 3,
     "unknown product 'XCALY'", "use one of: XCALLY, XPLANY, WitiOp, Vidaoo, License"),
    ("unknown type", GOOD.replace("type: how-to", "type: howto"), 4,
     "unknown type 'howto'", "use one of: how-to, troubleshooting"),
    ("missing summary", GOOD.replace("summary: Play your own music to callers waiting in a queue.\n", ""), 1,
     "missing front matter 'summary'", "add 'summary:'"),
    ("bad date", GOOD.replace("updated: 2026-10-01", "updated: last week"), 7,
     "'updated' is not a date", "YYYY-MM-DD"),
    ("unknown key", GOOD.replace("tags: [queues]", "tags: [queues]\nprodcut: XCALLY"), 7,
     "unknown front matter key 'prodcut'", "check the spelling"),
    ("invalid yaml", GOOD.replace("summary: Play", "summary: [Play"), 6,
     "front matter is not valid YAML", "check indentation"),
    ("broken link", GOOD + "\nSee [the other page](missing.md).\n", 16,
     "broken link 'missing.md'", "fix the path"),
    ("broken anchor", GOOD + "\nSee [upload](good.md#no-such-heading).\n", 16,
     "broken anchor 'good.md#no-such-heading'", "link to an existing heading"),
]


@pytest.mark.parametrize("name,text,line,message,hint", CASES, ids=[c[0] for c in CASES])
def test_check_reports_file_line_problem_and_fix(tmp_path, monkeypatch, name, text, line, message, hint):
    project = make_project(tmp_path, {"kb/bad.md": text})
    code, output = check(project, monkeypatch)
    assert code != 0
    reported = [row for row in output.splitlines() if row.startswith("content/kb/bad.md:")]
    assert len(reported) == 1, output
    location, _, rest = reported[0].partition(": ")
    assert location == f"content/kb/bad.md:{line}"
    assert message in rest and hint in rest


def test_valid_links_and_anchors_pass(tmp_path, monkeypatch):
    other = GOOD.replace("Configure hold music", "Other") + "\n[Upload](good.md#upload-the-file) and [kb](good.md)\n"
    code, output = check(make_project(tmp_path, {"kb/other.md": other}), monkeypatch)
    assert code == 0, output
    assert "OK: 2 page(s)" in output


def test_links_inside_code_blocks_are_not_checked(tmp_path, monkeypatch):
    text = GOOD + "\n```\n[not a link](nowhere.md)\n```\n\nUse `[x](nope.md)` literally.\n"
    code, output = check(make_project(tmp_path, {"kb/code.md": text}), monkeypatch)
    assert code == 0, output


def test_strict_build_fails_with_the_same_lines_and_writes_nothing(tmp_path, monkeypatch):
    project = make_project(tmp_path, {"kb/bad.md": GOOD.replace("product: XCALLY", "product: Nope")})
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, ["build", "--strict"])
    assert result.exit_code != 0
    assert "content/kb/bad.md:3: unknown product 'Nope'" in result.output
    assert "nothing was written" in result.output
    assert not (project / "site").exists()
    assert [p.name for p in project.iterdir() if p.name.startswith(".site")] == []


def test_failed_strict_build_keeps_the_previous_site(tmp_path, monkeypatch):
    project = make_project(tmp_path, {})
    monkeypatch.chdir(project)
    assert CliRunner().invoke(cli, ["build", "--strict"]).exit_code == 0
    page = project / "site" / "kb" / "good" / "index.html"
    assert "Configure hold music" in page.read_text()
    (project / "content" / "kb" / "good.md").write_text(GOOD.replace("Configure hold music", "Changed") + "[x](gone.md)\n")
    result = CliRunner().invoke(cli, ["build", "--strict"])
    assert result.exit_code != 0 and "broken link 'gone.md'" in result.output
    assert "Configure hold music" in page.read_text()
