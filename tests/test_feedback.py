"""Articles that learn: "Was this helpful?" under every article, related articles, and `kbgen report articles`
(votes per article; the searches and articles that preceded each new request)."""
from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote_from_bytes

import pytest
from sqlalchemy import select

from conftest import LiveServer, axe_problems, run_kbgen
from kbgen.feedback import ArticleVote, JourneyStep, journeys, votes
from kbgen.site.related import Candidate, related_articles
from test_tickets_support import ANN, SITE, Portal, xcally

ARTICLE = "kb/xcally/how-to/set-up-sip-trunk/"
SHOTS = Path("/tmp/shots")


@pytest.fixture
def portal(built_project, database_url):
    portal = Portal(built_project, database_url)  # the built demo site, in built_project/site
    yield portal
    portal.close()


def stored(portal) -> list[ArticleVote]:
    with portal.Session() as db:
        return list(db.scalars(select(ArticleVote).order_by(ArticleVote.id)))


# -- the vote ----------------------------------------------------------------------------------------


def test_a_vote_is_stored_and_its_comment_follows(portal):
    client = portal.client()  # anonymous: anyone may vote
    answer = client.post("/api/feedback", json={"path": ARTICLE, "helpful": False})
    assert answer.status_code == 201, answer.text
    vote = answer.json()
    commented = client.post(f"/api/feedback/{vote['id']}/comment",
                            json={"token": vote["token"], "comment": "Which codecs does the trunk need?"})
    assert commented.status_code == 200, commented.text
    [row] = stored(portal)
    assert (row.path, row.helpful, row.comment, row.user_id) == (ARTICLE, False, "Which codecs does the trunk need?",
                                                                 None)
    # Once only, and only with the vote's own token.
    again = client.post(f"/api/feedback/{vote['id']}/comment", json={"token": vote["token"], "comment": "More"})
    assert again.status_code == 409
    forged = client.post(f"/api/feedback/{vote['id']}/comment", json={"token": "0" * 64, "comment": "x"})
    assert forged.status_code == 404


def test_a_signed_in_vote_names_the_person(portal):
    answer = portal.client(ANN).post("/api/feedback", json={"path": "/" + ARTICLE, "helpful": True,
                                                            "comment": "Clear, thanks"})
    assert answer.status_code == 201, answer.text
    [row] = stored(portal)
    assert row.helpful and row.comment == "Clear, thanks" and row.user_id is not None
    assert row.path == ARTICLE  # the address as the site writes it


def test_the_form_post_without_javascript_gets_a_thank_you_page(portal):
    client = portal.client()
    answer = client.post("/api/feedback", data={"path": ARTICLE, "helpful": "yes", "comment": "<b>bold</b>"},
                         headers={"Accept": "text/html", "Referer": f"{SITE}/{ARTICLE}"})
    assert answer.status_code == 200
    assert "Thanks for your feedback" in answer.text and "Support Portal" in answer.text
    assert f'href="/{ARTICLE}"' in answer.text
    assert stored(portal)[0].comment == "<b>bold</b>"  # kept as written; escaped wherever it is shown


def test_only_articles_of_the_site_can_be_voted_on(portal):
    client = portal.client()
    for path in ("kb/", "no/such/article/", "../etc/passwd", "javascript:alert(1)", "", "a" * 400):
        answer = client.post("/api/feedback", json={"path": path, "helpful": True})
        assert answer.status_code in (404, 422), (path, answer.status_code)
    assert stored(portal) == []


@pytest.mark.parametrize("body", [
    b'{"path": "kb/xcally/how-to/set-up-sip-trunk/\\u0000", "helpful": true}',
    b'{"path": "kb/xcally/how-to/set-up-sip-trunk/", "helpful": true, "comment": "\\ud800"}',
    b'{"path": "kb/xcally/how-to/set-up-sip-trunk/", "helpful": true, "comment": "a\\u0000b"}',
    b'{"path": "kb/xcally/how-to/set-up-sip-trunk/", "helpful": 1}',
    b'{"path": "kb/xcally/how-to/set-up-sip-trunk/", "helpful": 99999999999999999999999999999999}',
    b'{"path": "kb/xcally/how-to/set-up-sip-trunk/", "helpful": "yes"}',
    b'{"path": 12, "helpful": true}',
    b'{"path": ["x"], "helpful": true}',
    b'{"path": "kb/xcally/how-to/set-up-sip-trunk/", "helpful": true, "comment": "' + b"x" * 1001 + b'"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"path": ' + b'{"a": ' * 200 + b"1" + b"}" * 200 + b', "helpful": true}',
    b"\xed\xa0\x80",
    b"not json",
    b"",
    b"null",
    b'"text"',
])
def test_hostile_votes_are_refused_without_a_server_error(portal, body):
    answer = portal.client().post("/api/feedback", content=body, headers={"Content-Type": "application/json"})
    assert 400 <= answer.status_code < 500, (body[:60], answer.status_code, answer.text)
    assert stored(portal) == []


@pytest.mark.parametrize("data", [
    {"path": ARTICLE, "helpful": "maybe"},
    {"path": ARTICLE},
    {"path": ARTICLE + "\x00", "helpful": "yes"},
    {"path": ARTICLE, "helpful": "yes", "comment": "\ud800"},
    {"path": ARTICLE, "helpful": "yes", "comment": "x" * 1001},
])
def test_hostile_form_posts_are_refused_without_a_server_error(portal, data):
    body = "&".join(f"{k}={quote_from_bytes(v.encode('utf-8', 'surrogatepass'))}" for k, v in data.items())
    answer = portal.client().post("/api/feedback", content=body.encode(),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert 400 <= answer.status_code < 500, (data, answer.status_code, answer.text)
    assert stored(portal) == []


@pytest.mark.parametrize("path", ["/api/feedback/0/comment", "/api/feedback/99999999999999999999/comment",
                                  "/api/feedback/-1/comment", "/api/feedback/abc/comment",
                                  "/api/feedback/1%00/comment"])
def test_hostile_comment_addresses_are_refused(portal, path):
    answer = portal.client().post(path, json={"token": "x", "comment": "y"})
    assert 400 <= answer.status_code < 500, (path, answer.status_code)


def test_a_burst_from_one_address_stores_only_a_few(portal):
    client = portal.client()

    def one(_):
        return client.post("/api/feedback", json={"path": ARTICLE, "helpful": True}).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(one, range(30)))
    assert codes.count(201) == votes.VOTES_PER_WINDOW, codes
    assert set(codes) == {201, 429}
    assert len(stored(portal)) == votes.VOTES_PER_WINDOW
    refused = client.post("/api/feedback", json={"path": ARTICLE, "helpful": True})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "minute" in refused.json()["detail"]


def test_the_address_is_kept_only_for_the_limit(portal):
    import datetime as dt

    from kbgen.db import utcnow

    with portal.Session() as db:
        votes.vote(db, secret="s", path=ARTICLE, helpful=True, address="203.0.113.9",
                   now=utcnow() - dt.timedelta(hours=1))
        votes.vote(db, secret="s", path=ARTICLE, helpful=False, address="203.0.113.10")
    first, second = stored(portal)
    assert first.client_hash is None and second.client_hash is not None
    assert "203.0.113" not in second.client_hash


# -- related articles -------------------------------------------------------------------------------


def test_related_articles_put_the_same_product_first():
    def article(key, product, title, tags=(), body=""):
        return Candidate(key, key + "/", title, product, tuple(tags), "", body)

    found = related_articles([
        article("a", "xcally", "Set up a SIP trunk", ["sip", "trunk"], "Register the trunk with the carrier."),
        article("b", "vidaoo", "SIP trunk for video rooms", ["sip", "trunk"], "Register the trunk with the carrier."),
        article("c", "xcally", "Call recording", ["recording", "sip"], "Recordings of every call."),
        article("d", "xcally", "Wallboards", ["reports"], "Nothing in common at all here."),
    ])
    assert [r.url for r in found["a"]] == ["c/", "b/"]  # same product first, though b shares more
    assert [r.same_product for r in found["a"]] == [True, False]
    assert found["d"] == []  # sharing nothing is not being related


def test_every_article_of_the_demo_ends_with_related_articles(built_project):
    site = built_project / "site"
    products = {path: item["product"] for path, item in
                json.loads((site / ".kbgen" / "articles.json").read_text())["articles"].items()}
    html = (site / ARTICLE / "index.html").read_text()
    block = html[html.index('class="kbgen-related"'):]
    block = block[:block.index("</nav>")]
    links = re.findall(r'<a href="([^"]+)">', block)
    assert 1 <= len(links) <= 5
    resolved = [str(Path("/" + ARTICLE, link).resolve()).strip("/") + "/" for link in links]
    assert ARTICLE not in resolved
    same = [products[path] == "xcally" for path in resolved]
    assert same == sorted(same, reverse=True)  # same product first
    # Under every writer's article, never on the generated listing pages.
    for path in products:
        page = (site / path / "index.html").read_text()
        assert 'data-kbgen-feedback ' in page and "Was this article helpful?" in page
    for listing in ("kb/", "kb/xcally/", "support/", "requests/", ""):
        assert "data-kbgen-feedback " not in (site / listing / "index.html").read_text()


# -- what failed to deflect a request, and the report --------------------------------------------------


def test_the_journey_is_bounded_and_cleaned():
    steps = journeys.parse(json.dumps(
        [{"kind": "search", "text": "Calls drop mail me at ann@acme.example", "ago": 120},
         {"kind": "article", "text": "/kb/xcally/troubleshooting/calls-drop-after-30-seconds/", "ago": 60},
         {"kind": "article", "text": "javascript:alert(1)", "ago": 50},
         {"kind": "search", "text": "\x00", "ago": 10},
         {"kind": "search", "text": "old", "ago": 99999},
         {"kind": "other", "text": "x", "ago": 1},
         {"kind": "search", "text": "x", "ago": True},
         "junk", None, 7] + [{"kind": "search", "text": f"q{i}", "ago": 5} for i in range(30)]))
    assert len(steps) <= journeys.MAX_STEPS
    assert all(s.text.startswith("q") for s in steps)  # only the last MAX_STEPS are read
    kept = journeys.parse([{"kind": "search", "text": "Calls drop mail me at ann@acme.example", "ago": 120},
                           {"kind": "article", "text": "/kb/x/", "ago": 60}])
    assert [(s.kind, s.text) for s in kept] == [("search", "calls drop mail me at [email]"), ("article", "kb/x/")]
    for hostile in ("[" * 10000, "x" * 100000, "\ud800", 12, {"a": 1}, None):
        assert journeys.parse(hostile) == []


def test_report_articles_shows_helpfulness_and_what_preceded_each_request(portal, built_project, database_url):
    client = portal.client()
    for helpful, comment in ((True, ""), (False, "The codec list is missing"), (False, "=HYPERLINK(1)")):
        client.post("/api/feedback", json={"path": ARTICLE, "helpful": helpful, "comment": comment})
    journey = [{"kind": "search", "text": "calls drop after 30 seconds", "ago": 300},
               {"kind": "article", "text": "kb/xcally/troubleshooting/calls-drop-after-30-seconds/", "ago": 200}]
    answer = portal.client(ANN).post("/api/tickets", json={**xcally(), "journey": journey})
    assert answer.status_code == 201, answer.text
    key = answer.json()["key"]
    with portal.Session() as db:
        assert [s.kind for s in db.scalars(select(JourneyStep).order_by(JourneyStep.position))] == ["search", "article"]
    # A request with a malformed journey is created all the same.
    assert portal.client(ANN).post("/api/tickets", json={**xcally("Other"), "journey": "[[["}).status_code == 201

    env = {"KBGEN_DATABASE_URL": database_url, "KBGEN_DATA_DIR": str(portal.settings.data_dir),
           "KBGEN_INDEX_DIR": ""}
    result = run_kbgen("report", "articles", "--days", "7", cwd=built_project, env=env)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "33%" in text and "Set up a SIP trunk" in text and "The codec list is missing" in text
    assert key in text and 'searched "calls drop after 30 seconds"' in text
    assert "Calls drop after 30 seconds" in text  # the article read, by its title
    as_csv = run_kbgen("report", "articles", "--csv", cwd=built_project, env=env)
    assert as_csv.returncode == 0, as_csv.stderr
    rows = as_csv.stdout.splitlines()
    assert rows[0].startswith("kind,article,title,yes,no,helpful_share")
    assert any(r.startswith(f"helpfulness,{ARTICLE},") and ",1,2,0.33," in r for r in rows)
    assert "'=HYPERLINK(1)" in as_csv.stdout  # no formula for a spreadsheet to run
    assert any(r.startswith("search,") and key in r for r in rows)


# -- in a real browser ----------------------------------------------------------------------------------


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=False)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_voting_by_keyboard_in_chromium(portal, page):
    with LiveServer(portal.app) as server:
        page.goto(f"{server.url}/{ARTICLE}")
        widget = page.locator("[data-kbgen-feedback]")
        widget.scroll_into_view_if_needed()
        assert not page.locator("#kbgen-feedback-text").is_visible()  # offered after the vote
        assert axe_problems(page, within=".kbgen-feedback") == []
        page.locator(".kbgen-feedback__button[value=no]").focus()
        page.keyboard.press("Enter")
        status = page.locator("[data-kbgen-feedback-status]")
        status.filter(has_text="Thanks").wait_for()
        assert page.evaluate("document.activeElement.hasAttribute('data-kbgen-feedback-status')")
        _shot(page, "feedback-voted-1280.png")
        page.keyboard.press("Tab")  # from the thanks, on to the comment box
        assert page.evaluate("document.activeElement.id") == "kbgen-feedback-text"
        page.keyboard.type("Which codecs?")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        status.filter(has_text="we have your comment").wait_for()
        assert axe_problems(page, within=".kbgen-feedback") == []
        page.set_viewport_size({"width": 390, "height": 844})
        assert axe_problems(page, within=".kbgen-feedback") == []
        assert axe_problems(page, within=".kbgen-related") == []
        widget.scroll_into_view_if_needed()
        _shot(page, "feedback-done-390.png")
    [row] = stored(portal)
    assert (row.helpful, row.comment) == (False, "Which codecs?")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_journey_goes_with_the_request_form(portal, page):
    with LiveServer(portal.app) as server:
        page.goto(f"{server.url}/search/?q=one+way+audio")
        page.goto(f"{server.url}/kb/xcally/troubleshooting/one-way-audio/")
        page.goto(f"{server.url}/support/xcally/technical-issue/")
        value = page.evaluate("""() => { const form = document.querySelector('form[data-kbgen-form]');
            form.dispatchEvent(new Event('submit', {cancelable: true, bubbles: true}));
            return form.querySelector('input[name=journey]').value; }""")
    steps = json.loads(value)
    assert [(s["kind"], s["text"]) for s in steps] == [
        ("search", "one way audio"), ("article", "kb/xcally/troubleshooting/one-way-audio/")]
    assert all(0 <= s["ago"] < 60 for s in steps)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_the_404_page_helps_in_chromium(portal, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    with LiveServer(portal.app) as server:
        answer = page.goto(f"{server.url}/kb/xcally/no-such-article/")
        assert answer.status == 404
        assert page.locator("h1").inner_text() == "We could not find that page"
        search = page.locator("#kbgen-notfound-q")
        assert page.get_by_label("Search the support portal").count() >= 2  # and the header's
        assert search.is_visible()
        links = page.locator(".kbgen-notfound__links a")
        assert links.count() == 4
        assert page.locator(".md-typeset a[href='/kb/']").count() == 1  # absolute: right at any depth
        assert page.evaluate("getComputedStyle(document.querySelector('.md-header')).backgroundColor") == \
            "rgb(11, 79, 138)"  # the brand's colour, so the stylesheets loaded from this depth
        assert axe_problems(page, within=".kbgen-notfound") == []
        assert axe_problems(page) == []
        _shot(page, f"404-{width}.png")
        search.fill("one way audio")
        search.press("Enter")
        page.wait_for_url(re.compile(r"/search/\?q=one(\+|%20)way(\+|%20)audio"))  # from the root, at any depth
