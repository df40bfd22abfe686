"""kbgen/facts.py hands each fact from its definition to the site: templates, CSS and the scripts.

The browser tests run kbgen-core.js with the real built facts and check it applies the same
rules as the service (the `next` address after signing in, the ticket key) and that every
status chip gets its tone's colours from the generated kbgen-status.css.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kbgen import facts
from kbgen.accounts import ROLES
from kbgen.site.catalog import PRODUCTS
from kbgen.templates import render
from kbgen.tickets import KEY_PATTERN, workflow

ASSETS = Path(__file__).resolve().parent.parent / "kbgen" / "theme" / "assets"

NEXT_CASES = ["/", "/kb/xcally/?q=hold#music", "/requests/XC-42/", "/" + "a" * 1999, "/" + "a" * 2000,
              "//evil.example/", "/\\evil.example", "/a\\b", "https://evil.example/", "javascript:alert(1)",
              "kb/xcally/", "", "/a\nb", "/a\x00", "/a\x7f", "/a\tb", " /kb/"]
KEY_CASES = ["XC-42", "xc-42", "LIC-1", "ABCDEFGHIJ-1234567890", "ABCDEFGHIJK-1", "XC-12345678901", "XC1-2",
             "XC-", "-42", "XC--42", "XC-4a", "XC 42", ""]


def built_facts() -> dict:
    text = facts.built_assets()["assets/kbgen-facts.js"]
    match = re.fullmatch(r"/\*[^*]*\*/\nwindow\.kbgenFacts = (.*);\n?", text, re.S)
    assert match, text[:200]
    return json.loads(match.group(1))


def test_the_scripts_get_exactly_what_export_says():
    exported = facts.export()
    assert built_facts() == json.loads(json.dumps(exported))
    assert [s["slug"] for s in exported["statuses"]] == [s.slug for s in workflow.STATUSES]
    assert [p["name"] for p in exported["products"]] == [p.name for p in PRODUCTS]
    assert exported["key_pattern"] == KEY_PATTERN
    assert set(exported["support_roles"]) <= {r["slug"] for r in exported["roles"]}
    assert exported["default_sort"].lstrip("-") in exported["sorts"]


def test_the_facts_survive_text_that_would_end_a_script():
    rendered = render("assets/kbgen-facts.js")
    assert "</" not in rendered.split("window.kbgenFacts", 1)[1]  # tojson escapes <, > and &


def test_the_status_stylesheet_gives_every_status_its_tone_and_every_tone_has_colours():
    css = facts.built_assets()["assets/kbgen-status.css"]
    hand_written = (ASSETS / "kbgen-requests.css").read_text()
    for status in workflow.STATUSES:
        rule = re.search(r'\[data-status-slug="%s"\]\s*\{([^}]*)\}' % re.escape(status.slug), css)
        assert rule, f"no rule for {status.slug}"
        assert f"var(--kbgen-tone-{status.tone}-bg)" in rule.group(1)
        for part in ("bg", "fg"):
            assert re.search(rf"--kbgen-tone-{status.tone}-{part}\s*:\s*#[0-9a-f]{{6}}", hand_written), \
                f"kbgen-requests.css has no colour --kbgen-tone-{status.tone}-{part}"


def test_pages_are_filled_in_and_relative_to_the_site_root():
    assert facts.page("ticket", key="XC-42") == "requests/XC-42/"
    assert facts.page("support_form", product="xcally", request_type="technical-issue") == \
        "support/xcally/technical-issue/"
    assert facts.page("follow_up", product="xcally", key="XC-42") == "support/xcally/?related=XC-42"
    assert all(not p.startswith("/") for p in facts.PAGES.values())


@pytest.mark.parametrize("value", NEXT_CASES)
def test_safe_next_keeps_a_path_on_this_site_and_nothing_else(value):
    on_site = (value.startswith("/") and not value.startswith("//") and "\\" not in value
               and len(value) <= facts.NEXT_MAX_LENGTH and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in value))
    assert facts.safe_next(value) == (value if on_site else None)


def test_templates_read_the_facts_global():
    env_facts = facts.template_globals()["facts"]
    assert env_facts.status(workflow.FINAL.slug) is workflow.FINAL
    assert env_facts.limits.attachments_max == facts.export()["limits"]["attachments_max"]


def test_the_built_site_carries_the_facts_and_loads_them_before_every_script(built_project):
    site = built_project / "site"
    for path, text in facts.built_assets().items():
        assert (site / path).read_text() == text
    html = (site / "index.html").read_text()
    scripts = re.findall(r'<script src="[^"]*assets/(kbgen-[\w-]+\.js)"', html)
    assert scripts[:2] == ["kbgen-facts.js", "kbgen-core.js"], scripts
    assert set(scripts[2:]) == {"kbgen-account.js", "kbgen-search.js", "kbgen-forms.js", "kbgen-requests.js", "kbgen-live.js",
                                "kbgen-watch.js", "kbgen-replies.js", "kbgen-rating.js", "kbgen-feedback.js"}
    assert "assets/kbgen-status.css" in html


@pytest.fixture
def core_page(page):
    page.set_content('<html><head><meta name="kbgen-root" content="../../"></head>'
                     '<body><div class="md-typeset"></div></body></html>')
    page.add_script_tag(content=facts.built_assets()["assets/kbgen-facts.js"])
    page.add_script_tag(content=(ASSETS / "kbgen-core.js").read_text())
    return page


@pytest.mark.browser
def test_the_browser_applies_the_services_rules(core_page):
    answers = core_page.evaluate("""([nexts, keys]) => ({
        next: nexts.map(v => window.kbgen.safeNext(v)),
        key: keys.map(v => window.kbgen.isKey(v)),
        page: window.kbgen.page("ticket", {key: "XC-42"}),
        signIn: window.kbgen.signInPage("/kb/xcally/?q=1"),
        path: window.kbgen.keyInPath("/help/requests/XC-42/"),
        agent: window.kbgenFacts.roles.map(r => window.kbgen.isSupportTeam({role: r.slug}))
    })""", [NEXT_CASES, KEY_CASES])
    assert answers["next"] == [facts.safe_next(v) or "" for v in NEXT_CASES]
    assert answers["key"] == [re.fullmatch(KEY_PATTERN, v) is not None for v in KEY_CASES]
    assert answers["page"] == facts.page("ticket", key="XC-42")
    assert answers["signIn"] == facts.page("sign_in") + "?next=%2Fkb%2Fxcally%2F%3Fq%3D1"
    assert answers["path"] == "XC-42"
    assert answers["agent"] == [r.can_answer_tickets for r in ROLES]


@pytest.mark.browser
def test_every_status_chip_shows_its_tones_colours(core_page):
    core_page.add_style_tag(content=(ASSETS / "kbgen-requests.css").read_text())
    core_page.add_style_tag(content=facts.built_assets()["assets/kbgen-status.css"])
    colours = core_page.evaluate("""(slugs) => slugs.map(slug => {
        const chip = window.kbgen.el("span", {"class": "kbgen-status", "data-status-slug": slug, text: slug});
        document.querySelector(".md-typeset").appendChild(chip);
        return getComputedStyle(chip).backgroundColor;
    })""", [s.slug for s in workflow.STATUSES])
    by_tone: dict[str, set[str]] = {}
    for status, colour in zip(workflow.STATUSES, colours):
        by_tone.setdefault(status.tone, set()).add(colour)
    assert all(len(c) == 1 for c in by_tone.values()), by_tone  # one colour per tone
    assert len({c for cs in by_tone.values() for c in cs}) == len(by_tone)  # and the tones differ
