"""GET /api/search through the real HTTP app: the answer's shape, escaping, bad parameters,
the searches nobody could answer (on both databases), and index swaps under load."""
from __future__ import annotations

import shutil
import threading

import httpx
import markdown
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from conftest import LiveServer, project_settings
from kbgen.web.app import create_app
from kbgen.cli import cli
from kbgen.search.indexer import IndexBuilder, PageRecord
from kbgen.search.missed import MissedSearch

SCRIPT_ARTICLE = """An attacker's favourite: `<script>alert("pwned")</script>` and `<img src=x onerror=alert(1)>`
pasted in an article. Raw markup in Markdown is dropped from the index:

<script>document.title = "xyzzyowned"</script>

## Payloads in code

```
<svg onload=alert(2)> "quoted" & 'single'
```
"""


def script_record() -> PageRecord:
    return PageRecord(url="kb/xcally/how-to/payloads/", path="kb/xcally/how-to/payloads.md",
                      title='Payloads <b>in</b> "titles"',
                      html=markdown.markdown(SCRIPT_ARTICLE, extensions=["toc", "fenced_code"]),
                      product="xcally", type="how-to", tags=["security"], summary="Escaping check")


@pytest.fixture
def app(built_project, database_url, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(built_project / ".kbgen" / "index", index_dir)
    return create_app(project_settings(built_project, database_url, index_dir=index_dir))


@pytest.fixture
def client(app):
    with TestClient(app) as client:
        yield client


def test_a_search_answers_with_results_facets_and_no_suggestion(client):
    response = client.get("/api/search", params={"q": "music on hold", "limit": 3})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"query", "total", "page", "limit", "results", "suggestion", "facets", "weak"}
    assert body["query"] == "music on hold" and body["suggestion"] is None and body["weak"] is False
    assert body["total"] >= len(body["results"]) == 3
    top = body["results"][0]
    assert set(top) == {"url", "title", "section", "snippet", "product", "type", "version", "versions", "place"}
    assert (top["version"], top["versions"]) == (None, [])  # the demo declares no versions
    assert top["place"] == ["Knowledge Base", "XCALLY", "How-To"]  # where it is in the nav: the breadcrumbs
    assert top["url"].startswith("kb/xcally/how-to/configure-music-on-hold/")
    assert top["title"] == "Configure music on hold for a voice queue"
    assert (top["product"], top["type"]) == ("xcally", "how-to")
    assert "<mark>" in top["snippet"]
    assert {"value": "xcally", "label": "XCALLY", "count": body["facets"]["product"][0]["count"]} \
        in body["facets"]["product"]


def test_a_misspelled_search_suggests_the_right_words_and_finds_the_page(client):
    body = client.get("/api/search", params={"q": "recieve emials"}).json()
    assert body["suggestion"] == "receive emails"
    assert body["results"][0]["url"].startswith("kb/xcally/troubleshooting/email-channel-not-receiving/")


def test_did_you_mean_never_replaces_a_correctly_spelled_word(client):
    # "cant" is a word (a negation without its apostrophe), not a misspelled "can": flipping the meaning.
    for q in ("agents cant login", "agents can't login", "calls dont ring", "Agents CANT log in"):
        body = client.get("/api/search", params={"q": q}).json()
        assert body["suggestion"] is None, (q, body["suggestion"])
    # A real typo beside such a word is still corrected, and the word is left as typed.
    assert client.get("/api/search", params={"q": "cant recieve emails"}).json()["suggestion"] == "cant receive emails"


def test_each_filter_chip_appears_once_and_license_is_not_twice(client):
    body = client.get("/api/search", params={"q": "license"}).json()
    labels = [f["label"] for kind in ("product", "type") for f in body["facets"][kind]]
    assert labels.count("License") == 1, body["facets"]
    assert any(f["value"] == "license" for f in body["facets"]["product"])  # kept where the chip says what it is


def test_a_search_with_only_weak_matches_says_so(client):
    body = client.get("/api/search", params={"q": "license kubernetes terraform ansible helm"}).json()
    assert body["total"] > 0 and body["weak"] is True
    assert client.get("/api/search", params={"q": "license renewal"}).json()["weak"] is False


def test_text_answers_are_compressed_and_images_are_not(client):
    gzip = {"Accept-Encoding": "gzip"}
    page = client.get("/kb/", headers=gzip)
    assert page.status_code == 200 and page.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in page.headers["vary"]
    assert "<html" in page.text  # decoded by the client: the same page
    script = client.get("/assets/kbgen-search.js", headers=gzip)
    assert script.headers["content-encoding"] == "gzip"
    found = client.get("/api/search", params={"q": "agents", "limit": 20}, headers=gzip)
    assert found.headers["content-encoding"] == "gzip" and found.json()["results"]
    assert "content-encoding" not in client.get("/kb/", headers={"Accept-Encoding": "identity"}).headers
    image = client.get("/assets/images/favicon.png", headers=gzip)
    assert image.status_code == 200 and "content-encoding" not in image.headers


def test_the_service_warms_the_search_index_when_it_starts(app):
    from kbgen.search.live import INDEXES

    app.state.search_warmup.join(timeout=60)
    assert not app.state.search_warmup.is_alive()
    index = INDEXES.get(app.state.settings.index_dir)
    assert index is not None and index.speller.warmed  # opened, speller tables built, before any search


def test_filters_by_product_and_type(client):
    body = client.get("/api/search", params={"q": "agents", "product": "XPLANY", "type": "how-to"}).json()
    assert body["results"] and {(r["product"], r["type"]) for r in body["results"]} == {("xplany", "how-to")}


@pytest.mark.parametrize("params, message", [
    ({}, "q is required"),
    ({"q": "   "}, "q is required"),
    ({"q": "x" * 1001}, "q is too long"),
    ({"q": "audio", "limit": "ten"}, "limit must be a whole number"),
    ({"q": "audio", "limit": "0"}, "limit must be from 1 to 50"),
    ({"q": "audio", "limit": "500"}, "limit must be from 1 to 50"),
    ({"q": "audio", "page": "-1"}, "page must be from 1 to 100"),
    ({"q": "audio", "page": "2.5"}, "page must be a whole number"),
    ({"q": "audio", "product": "asterisk"}, "unknown product 'asterisk'; use one of: xcally"),
    ({"q": "audio", "type": "faq"}, "unknown type 'faq'; use one of: how-to"),
])
def test_bad_parameters_get_a_400_that_says_what_to_send(client, params, message):
    response = client.get("/api/search", params=params)
    assert response.status_code == 400
    assert message in response.json()["detail"]


@pytest.mark.parametrize("q", [
    'title:(foo AND "bar ~2^ * ? [a TO b] OR NOT',
    "\\\\ \x00 %00 ' ; DROP TABLE search_misses; --",
    "🙂 ☎️ ünïcödé Ωμέγα 中文",
    ("one-way audio " * 80)[:1000],
])
def test_junk_and_very_long_queries_are_answered(client, q):
    response = client.get("/api/search", params={"q": q})
    assert response.status_code == 200
    assert isinstance(response.json()["results"], list)


def test_snippets_escape_an_article_s_markup_and_only_add_mark(built_project, database_url, tmp_path):
    index_dir = tmp_path / "index"
    builder = IndexBuilder(index_dir)
    builder.add(script_record())
    builder.finish()
    app = create_app(project_settings(built_project, database_url, index_dir=index_dir))
    with TestClient(app) as client:
        body = client.get("/api/search", params={"q": "alert onerror"}).json()
        owned = client.get("/api/search", params={"q": "xyzzyowned"}).json()
    snippets = " ".join(r["snippet"] for r in body["results"])
    assert "&lt;script&gt;<mark>alert</mark>(&quot;pwned&quot;)&lt;/script&gt;" in snippets \
        or "<mark>alert</mark>(&quot;pwned&quot;)" in snippets
    assert "<mark>onerror</mark>" in snippets
    without_marks = snippets.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in without_marks and ">" not in without_marks and '"' not in without_marks
    assert body["results"][0]["title"] == 'Payloads <b>in</b> "titles"'  # data: the page inserts it as text
    assert owned["total"] == 0, owned


def test_without_an_index_the_service_says_to_build(built_project, database_url, tmp_path):
    app = create_app(project_settings(built_project, database_url, index_dir=tmp_path / "nothing"))
    with TestClient(app) as client:
        response = client.get("/api/search", params={"q": "audio"})
    assert response.status_code == 503 and "kbgen build" in response.json()["detail"]


def test_searches_that_find_nothing_are_counted_without_personal_data(app, client, database_url, tmp_path):
    for _ in range(2):
        assert client.get("/api/search", params={"q": "Zebra  unicorn"}).json()["total"] == 0
    client.get("/api/search", params={"q": "zebra unicorn qqzx.qq@qqzx.zz +44 7987 654321"})
    client.get("/api/search", params={"q": "zebra uni", "partial": "1"})  # typing: not a finished search
    client.get("/api/search", params={"q": "zebra unicorn", "product": "vidaoo"})  # a filter's empty corner
    client.get("/api/search", params={"q": "music on hold"})  # found something
    with app.state.sessionmaker() as session:
        rows = {row.query: row.count for row in session.query(MissedSearch)}
    assert rows == {"zebra unicorn": 2, "zebra unicorn [email] [number]": 1}

    result = CliRunner().invoke(cli, ["report", "searches", "--project", str(tmp_path)],
                                env={"KBGEN_DATABASE_URL": database_url, "KBGEN_DATA_DIR": str(tmp_path / "data")})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Searches that found nothing, top 2")
    assert lines[2].split()[0] == "2" and lines[2].endswith("zebra unicorn")
    assert "[email]" in lines[3] and "qqzx" not in result.output


def test_report_searches_says_when_nothing_was_missed(database_url, tmp_path):
    result = CliRunner().invoke(cli, ["report", "searches", "--days", "7", "--project", str(tmp_path)],
                                env={"KBGEN_DATABASE_URL": database_url, "KBGEN_DATA_DIR": str(tmp_path / "data")})
    assert result.exit_code == 0, result.output
    assert "No searches without results recorded (last 7 day(s))" in result.output


def test_a_running_service_answers_every_query_while_the_index_is_rebuilt(built_project, tmp_path):
    from test_search_index import demo_records

    index_dir = tmp_path / "index"
    records = demo_records()
    builder = IndexBuilder(index_dir)
    for r in records:
        builder.add(r)
    builder.finish()
    settings = project_settings(built_project, f"sqlite:///{tmp_path / 'kbgen.db'}", index_dir=index_dir)
    failures: list[str] = []
    answers: list[int] = []
    stop = threading.Event()
    with LiveServer(create_app(settings, serve_site=False)) as server:
        def customer() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                while not stop.is_set():
                    response = http.get("/api/search", params={"q": "one-way audio"})
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text[:200]}")
                        return
                    answers.append(response.json()["total"])

        threads = [threading.Thread(target=customer) for _ in range(4)]
        for thread in threads:
            thread.start()
        try:
            for _ in range(2):  # full builds, swapped in while the service answers
                rebuild = IndexBuilder(index_dir)
                for r in records:
                    rebuild.add(r)
                rebuild.finish()
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    assert not failures, failures[0]
    assert answers and min(answers) > 0
