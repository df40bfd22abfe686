"""Every page type people use, in a real Chromium at 1280 and 390 px wide, over the really built portal:
no critical or serious axe-core violation and no sideways scrolling (issue 12). The page list and the
checks are tests/page_sweep.py, which also measures any running portal from the command line."""
from __future__ import annotations

import pytest

from conftest import LiveServer, project_settings
from kbgen.web.app import create_app
from page_sweep import PAGE_TYPES, SIZES, sweep
from test_tickets_support import ANN, PASSWORD, add_people, SAM, xcally

pytestmark = pytest.mark.browser
ARTICLE = "kb/xcally/how-to/configure-music-on-hold/"


@pytest.fixture(scope="module")
def results(built_project, chromium, tmp_path_factory):
    import httpx

    database = tmp_path_factory.mktemp("sweep") / "kbgen.db"
    app = create_app(project_settings(built_project, f"sqlite:///{database}"))
    with app.state.sessionmaker.begin() as db:
        add_people(db)
    with LiveServer(app) as server:
        with httpx.Client(base_url=server.url) as client:
            client.post("/api/session", json={"email": ANN, "password": PASSWORD}).raise_for_status()
            key = client.post("/api/tickets", json=xcally(), headers={
                "X-CSRF-Token": client.cookies.get("kbgen_csrf"), "Origin": server.url}).json()["key"]
        yield sweep(chromium, server.url, {"customer": (ANN, PASSWORD), "agent": (SAM, PASSWORD)}, key, ARTICLE)
    app.state.engine.dispose()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", [k.name for k in PAGE_TYPES])
def test_every_page_type_passes_axe_and_fits_the_screen(results, kind, size):
    found = results[kind][size]
    assert found["axe"] == {}, f"{kind} at {size}: critical/serious axe violations {found['axe']}"
    assert found["overflow"] == 0, f"{kind} at {size}: the page scrolls sideways by {found['overflow']} px"
