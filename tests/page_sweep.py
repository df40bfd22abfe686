"""Every page type of the portal, as people reach it, checked in a real Chromium at desktop and phone sizes:
axe-core's critical and serious violations, and sideways scrolling. Used by tests/test_pages_browser.py, and
as a script to count the same on any running portal (issue 12's before/after figures):

    python tests/page_sweep.py http://127.0.0.1:8000 customer@acme.example demo-customer agent@support.example demo-agent
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Callable

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


@dataclass(frozen=True)
class PageType:
    name: str
    path: str  # from the site root; "{key}" is the viewer's first request
    who: str | None  # None: signed out; "customer" or "agent"
    prepare: Callable | None = None  # what a person does first on the page (open the live results, send empty)


def _live_results(page) -> None:
    box = page.locator("#kbgen-header-q")
    box.fill("call recording")
    page.wait_for_timeout(700)


def _send_empty(page) -> None:
    page.get_by_role("button", name="Send request").click()
    page.wait_for_timeout(300)


PAGE_TYPES = (
    PageType("home", "", None),
    PageType("knowledge base", "kb/xcally/", None),
    PageType("article", "{article}", None),
    PageType("search results with the live panel open", "search/?q=license", None, _live_results),
    PageType("sign-in", "login/", None),
    PageType("support: pick the software", "support/", "customer"),
    PageType("support: pick the request type", "support/xcally/", "customer"),
    PageType("form, empty", "support/xcally/technical-issue/", "customer"),
    PageType("form with errors", "support/xcally/technical-issue/", "customer", _send_empty),
    PageType("requests list", "requests/", "customer"),
    PageType("ticket page (customer)", "requests/{key}/", "customer"),
    PageType("requests list (agent)", "requests/", "agent"),
    PageType("ticket page (agent)", "requests/{key}/", "agent"),
)


def problems(page) -> dict[str, object]:
    """axe's critical and serious violations (rule ids with node counts) and the page's sideways overflow."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    serious = {v["id"]: len(v["nodes"]) for v in found if v.get("impact") in ("critical", "serious")}
    overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    return {"axe": serious, "overflow": max(0, int(overflow))}


def sweep(browser, base: str, logins: dict[str, tuple[str, str]], key: str, article: str) -> dict:
    """{page type: {size: problems}} for every page type at every size."""
    results: dict[str, dict] = {}
    contexts = {}
    for who, (email, password) in logins.items():
        context = browser.new_context()
        answer = context.request.post(f"{base}/api/session", data={"email": email, "password": password},
                                      headers={"Origin": base})
        assert answer.ok, (who, answer.status)
        contexts[who] = context
    contexts[None] = browser.new_context()
    for kind in PAGE_TYPES:
        for size, (width, height) in SIZES.items():
            page = contexts[kind.who].new_page()
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{base}/{kind.path.format(key=key, article=article)}")
            page.wait_for_load_state("load")
            page.wait_for_timeout(800)  # the scripts fill the page from the service (live pages never go idle)
            if kind.prepare:
                kind.prepare(page)
            results.setdefault(kind.name, {})[size] = problems(page)
            page.close()
    for context in contexts.values():
        context.close()
    return results


def main(argv: list[str]) -> None:
    import httpx
    from playwright.sync_api import sync_playwright

    base, customer, customer_pw, agent, agent_pw = argv[:5]
    article = argv[5] if len(argv) > 5 else "kb/xcally/how-to/call-recording/"
    with httpx.Client(base_url=base) as client:
        client.post("/api/session", json={"email": customer, "password": customer_pw}).raise_for_status()
        listed = client.get("/api/tickets").json()["items"]
        key = listed[0]["key"] if listed else "XC-1"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        results = sweep(browser, base, {"customer": (customer, customer_pw), "agent": (agent, agent_pw)}, key, article)
        browser.close()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
