"""Saved replies: writers keep them in content/replies/, `kbgen check` reports their mistakes as file:line,
the site never publishes nor indexes them, and only the support team reads them from GET /api/replies."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from kbgen import replies
from kbgen.cli import cli
from kbgen.search.live import INDEXES
from kbgen.search.query import SearchRequest, search
from test_content_errors import make_project
from test_tickets_support import ANN, GINA, PAT, REPO, SAM, Portal, xcally, xplany

GOOD = """\
---
title: Ask for the logs
product: XCALLY
tags: [logs]
---

Hello {requester},

please attach the logs to {key}.

{agent}
"""


def reply_file(folder: Path, name: str, text: str) -> Path:
    path = folder / replies.FOLDER / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ---- the files and `kbgen check` -------------------------------------------------------------

CASES = [
    ("missing title", GOOD.replace("title: Ask for the logs\n", ""), 1, "missing front matter 'title'", "add 'title:'"),
    ("empty title", GOOD.replace("title: Ask for the logs", "title: ''"), 2, "missing front matter 'title'", "add 'title:'"),
    ("no front matter", "Hello {requester}.\n", 1, "no front matter", "'title:'"),
    ("unknown product", GOOD.replace("product: XCALLY", "product: XCALY"), 3, "unknown product 'XCALY'",
     "use one of: XCALLY, XPLANY, WitiOp, Vidaoo, License"),
    ("empty body", GOOD.split("---\n\n")[0] + "---\n\n  \n", 6, "the reply has no text", "write the reply below"),
    ("unknown placeholder", GOOD.replace("{agent}", "{agnet}"), 11, "unknown placeholder '{agnet}'",
     "use one of: {requester}, {key}, {product}, {agent}"),
    ("unknown key", GOOD.replace("tags: [logs]", "tags: [logs]\ntype: how-to"), 5, "unknown front matter key 'type'",
     "a reply has only: title, product, tags"),
    ("tags not a list", GOOD.replace("tags: [logs]", "tags: {a: 1}"), 4, "'tags' must be a list of words", "write"),
    ("invalid yaml", GOOD.replace("title: Ask", "title: [Ask"), 3, "front matter is not valid YAML", "check indentation"),
]


@pytest.mark.parametrize("name,text,line,message,hint", CASES, ids=[c[0] for c in CASES])
def test_check_reports_a_reply_mistake_as_file_line_what_and_what_to_do(tmp_path, monkeypatch, name, text, line,
                                                                        message, hint):
    project = make_project(tmp_path, {"replies/ok.md": GOOD, "replies/bad.md": text})
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code != 0
    reported = [row for row in result.output.splitlines() if row.startswith("content/replies/")]
    assert len(reported) == 1, result.output
    location, _, rest = reported[0].partition(": ")
    assert location == f"content/replies/bad.md:{line}"
    what, _, todo = rest.partition("; ")
    assert message in what and hint in todo, reported[0]


def test_a_good_reply_is_not_an_article_missing_its_type_and_summary(tmp_path, monkeypatch):
    project = make_project(tmp_path, {"replies/ok.md": GOOD, "replies/general/close.md": "---\ntitle: Close\n---\n\nDone.\n"})
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 0, result.output


def test_placeholders_in_code_are_text_and_the_strict_build_stops_on_a_reply_mistake(tmp_path, monkeypatch):
    code = GOOD + "\n```bash\necho ${HOME} {whatever}\n```\n\nRun `ls {dir}`.\n"
    bad = GOOD.replace("product: XCALLY", "product: Nope")
    project = make_project(tmp_path, {"replies/code.md": code, "replies/bad.md": bad})
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, ["build", "--strict"])
    assert result.exit_code != 0
    assert "content/replies/bad.md:3: unknown product 'Nope'" in result.output
    assert "replies/code.md" not in result.output
    assert not (project / "site").exists()


def test_the_demo_replies_are_valid_and_offer_each_product_its_own_first():
    demo = replies.load_replies(REPO / "content")
    assert 4 <= len(demo) <= 6
    assert [p for r in demo for p in r.problems] == []
    assert {"xcally", "license", None} <= {r.product for r in demo}
    first = replies.ordered(demo, "xcally")
    assert [r.product for r in first][:2] == ["xcally", "xcally"] and first[-1].product not in ("xcally", None)


def test_filling_replaces_only_the_known_placeholders():
    body = "Hi {requester}, about {key} ({product}): see {unknown}. {agent}"
    assert replies.fill(body, {"requester": "Ann", "key": "XC-7", "product": "XCALLY", "agent": "Sam"}) == \
        "Hi Ann, about XC-7 (XCALLY): see {unknown}. Sam"


# ---- never published, never indexed ---------------------------------------------------------

def test_the_built_demo_has_no_reply_page_and_no_reply_in_its_search_index(built_project):
    site = built_project / "site"
    assert (site / "index.html").is_file()
    assert not (site / replies.FOLDER).exists()
    titles = [r.title for r in replies.load_replies(built_project / "content")]
    for page in site.rglob("*"):
        if page.suffix in (".html", ".xml", ".json", ".js") and page.is_file():
            text = page.read_text(encoding="utf-8", errors="replace")
            assert "/" + replies.FOLDER + "/" not in text, page
            assert not any(title in text for title in titles), page
    index = INDEXES.get(built_project / ".kbgen" / "index")
    assert index is not None and len(index.docs) > 30
    assert not [d.path for d in index.docs.values() if replies.is_reply(d.path)]
    found = search(index, SearchRequest.parse("Confirm a bug and give a workaround", None, None, "50", None, None, None))
    assert all(not replies.is_reply(r.url) for r in found.results)


# ---- GET /api/replies ------------------------------------------------------------------------

@pytest.fixture
def portal(tmp_path, database_url):
    portal = Portal(tmp_path, database_url)
    content = portal.settings.content_dir
    reply_file(content, "ask-for-logs.md", GOOD)
    reply_file(content, "close.md", "---\ntitle: Close an answered question\n---\n\nDone, {requester}. {product} "
                                    "support\n")
    reply_file(content, "xplany/adherence.md", "---\ntitle: Adherence check\nproduct: xplany\n---\n\nCheck it.\n")
    yield portal
    portal.close()


def test_an_agent_gets_the_replies_with_the_tickets_product_first_and_its_placeholders_filled(portal):
    key = portal.open(ANN, xcally())
    agent = portal.client(SAM)
    plain = agent.get("/api/replies")
    assert plain.status_code == 200 and plain.headers["cache-control"] == "no-store"
    assert {r["slug"] for r in plain.json()} == {"ask-for-logs", "close", "xplany/adherence"}
    assert next(r for r in plain.json() if r["slug"] == "ask-for-logs")["body"].startswith("Hello {requester},")

    answer = agent.get("/api/replies", params={"ticket": key.lower()})
    assert answer.status_code == 200
    assert [(r["slug"], r["product"]) for r in answer.json()] == [
        ("ask-for-logs", "xcally"), ("close", None), ("xplany/adherence", "xplany")]
    logs = answer.json()[0]
    assert logs == {"slug": "ask-for-logs", "title": "Ask for the logs", "product": "xcally", "tags": ["logs"],
                    "body": f"Hello Ann Acme,\n\nplease attach the logs to {key}.\n\nSam Agent"}
    assert answer.json()[1]["body"] == "Done, Ann Acme. XCALLY support"

    other = portal.open(GINA, xplany())
    assert [r["slug"] for r in agent.get("/api/replies", params={"ticket": other}).json()][0] == "xplany/adherence"


@pytest.mark.parametrize("who,status", [(ANN, 403), (PAT, 403), (None, 401)], ids=["customer", "partner", "signed-out"])
def test_only_the_support_team_reads_the_replies(portal, who, status):
    key = portal.open(ANN, xcally())
    for params in ({}, {"ticket": key}):
        answer = portal.client(who).get("/api/replies", params=params)
        assert answer.status_code == status, answer.text
        assert "Hello" not in answer.text and answer.json()["detail"]


def test_a_broken_reply_is_left_out_and_logged_and_a_fixed_one_comes_back(portal, caplog):
    content = portal.settings.content_dir
    agent = portal.client(SAM)
    assert len(agent.get("/api/replies").json()) == 3
    broken = reply_file(content, "ask-for-logs.md", GOOD.replace("title: Ask for the logs\n", ""))
    (content / replies.FOLDER / "latin1.md").write_bytes(b"---\ntitle: Caf\xe9\n---\n\nBody\n")
    os.utime(broken, ns=(1, 1))  # a changed file is read again whatever the clock's resolution
    with caplog.at_level(logging.WARNING, logger="kbgen.replies"):
        answer = agent.get("/api/replies")
    assert answer.status_code == 200
    assert {r["slug"] for r in answer.json()} == {"close", "xplany/adherence"}
    logged = caplog.text
    assert "replies/ask-for-logs.md:1: missing front matter 'title'" in logged
    assert "replies/latin1.md:1: the file is not UTF-8 text" in logged

    reply_file(content, "ask-for-logs.md", GOOD.replace("Ask for the logs", "Ask for the logs, please"))
    (content / replies.FOLDER / "latin1.md").unlink()
    titles = [r["title"] for r in agent.get("/api/replies").json()]
    assert "Ask for the logs, please" in titles and len(titles) == 3


def test_no_replies_folder_is_an_empty_list(tmp_path, database_url):
    portal = Portal(tmp_path, database_url)
    try:
        assert portal.client(SAM).get("/api/replies").json() == []
    finally:
        portal.close()


@pytest.mark.parametrize("ticket,status", [
    ("XC-1\x00", 422), ("\ud800", 404), ("../../etc/passwd", 404), ("XC-999999", 404), ("X" * 41, 422),
    ("' OR 1=1 --", 404), ("<script>", 404)])
def test_hostile_ticket_parameters_are_a_4xx_in_the_shared_error_shape(portal, ticket, status):
    from urllib.parse import quote

    portal.open(ANN, xcally())
    answer = portal.client(SAM).get("/api/replies?ticket=" + quote(ticket, safe="", errors="surrogatepass"))
    assert answer.status_code == status, answer.text
    assert answer.json()["detail"]
    assert "Hello" not in answer.text
