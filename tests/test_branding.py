"""Branding: the portal's name, logo, favicon, colours and footer, defined once in mkdocs.yml (extra.kbgen.brand)
and shown by the site, the service's own pages and the emails."""
from __future__ import annotations

import json
import re
import shutil

import pytest
from starlette.testclient import TestClient

from conftest import copy_project, project_settings, run_kbgen
from kbgen.mail import account_mail
from kbgen.site import brand as branding
from kbgen.web.app import create_app

DEMO = "Support Portal"


def test_the_demo_brand_is_on_every_page_and_no_made_with_material(built_project):
    site = built_project / "site"
    article = (site / "kb/xcally/how-to/set-up-sip-trunk/index.html").read_text()
    assert "<title>Set up a SIP trunk to your carrier - Support Portal</title>" in article
    assert 'data-md-color-primary="custom"' in article
    assert "Support for XCALLY, XPLANY, WitiOp and Vidaoo." in article
    css = (site / "assets/kbgen-brand.css").read_text()
    assert "--md-primary-fg-color: #0b4f8a;" in css and "--md-accent-fg-color: #c2410c;" in css
    for page in site.rglob("*.html"):
        assert "Made with" not in page.read_text(), page
    assert json.loads((site / branding.BRAND_FILE).read_text())["name"] == DEMO


def test_the_service_pages_and_emails_show_the_same_brand(built_project, database_url):
    settings = project_settings(built_project, database_url)
    app = create_app(settings)
    try:
        page = TestClient(app).get("/account/password/forgot/")
        assert page.status_code == 200
        assert f"<title>Forgot your password? · {DEMO}</title>" in page.text
        assert f">{DEMO}</a>" in page.text  # the header
        assert 'href="/assets/kbgen-brand.css"' in page.text  # its colours
        # No inline style but the one the Content-Security-Policy trusts.
        assert len(re.findall(r"<style>", page.text)) == 1 and " style=" not in page.text
    finally:
        app.state.engine.dispose()
    email = account_mail.compose(settings, "password_reset", to_email="ann@acme.example", to_name="Ann",
                                 link="https://portal.example/reset", minutes="60",
                                 expires="7 March 2025 at 14:05 UTC")
    assert DEMO in email.text and "Support for XCALLY" in email.text
    assert "background:#0b4f8a;color:#ffffff" in email.html and f">{DEMO}</div>" in email.html


LOGO = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'


def _with_brand(project, brand_yaml: str) -> None:
    config = (project / "mkdocs.yml").read_text()
    start = config.index("    brand:\n")
    end = config.index("\nmarkdown_extensions:")
    (project / "mkdocs.yml").write_text(config[:start] + brand_yaml + config[end:])


def test_a_portal_with_its_own_logo_favicon_colours_and_footer(tmp_path):
    project = copy_project(tmp_path / "portal")
    (project / "content/images").mkdir()
    (project / "content/images/logo.svg").write_text(LOGO)
    (project / "content/images/favicon.svg").write_text(LOGO)
    _with_brand(project, """    brand:
      name: "Acme <Help> & Co"
      logo: images/logo.svg
      favicon: images/favicon.svg
      primary: "#fc0"
      footer:
        text: "© Acme <b>Ltd</b>"
        links:
          - {label: Privacy, url: "https://acme.example/privacy"}
      made_with_material: true
""")
    result = run_kbgen("build", cwd=project, env={"KBGEN_INDEX_DIR": ""})
    assert result.returncode == 0, result.stdout + result.stderr
    html = (project / "site/kb/xcally/how-to/set-up-sip-trunk/index.html").read_text()
    assert "<title>Set up a SIP trunk to your carrier - Acme &lt;Help&gt; &amp; Co</title>" in html
    assert re.search(r'<img src="[./]*images/logo.svg"', html)
    assert re.search(r'<link rel="icon" href="[./]*images/favicon.svg"', html)
    assert "© Acme &lt;b&gt;Ltd&lt;/b&gt;" in html and 'href="https://acme.example/privacy">Privacy</a>' in html
    assert "Made with" in html  # asked for
    css = (project / "site/assets/kbgen-brand.css").read_text()
    assert "--md-primary-fg-color: #ffcc00;" in css
    assert "--md-primary-bg-color: #1f2328;" in css  # dark text on a light colour: readable
    assert branding.for_site(project / "site").logo == "images/logo.svg"


@pytest.mark.parametrize("brand_yaml, expected", [
    ('    brand:\n      primary: blue\n', r"mkdocs\.yml:\d+: extra\.kbgen\.brand\.primary: 'blue' is not a colour"),
    ('    brand:\n      accent: "#12345"\n', r"extra\.kbgen\.brand\.accent: '#12345' is not a colour"),
    ('    brand:\n      logo: images/missing.svg\n',
     r"extra\.kbgen\.brand\.logo: 'images/missing.svg' is not a file in the docs folder"),
    ('    brand:\n      footer:\n        links:\n          - {label: X, url: "javascript:alert(1)"}\n',
     r"extra\.kbgen\.brand\.footer\.links\[0\]\.url: 'javascript:alert\(1\)' must be"),
    ('    brand:\n      colour: "#fff"\n', r"extra\.kbgen\.brand\.colour: is not a brand setting"),
    ('    brand:\n      made_with_material: perhaps\n', r"made_with_material: must be true or false"),
])
def test_bad_brand_values_stop_the_build_at_their_line(tmp_path, brand_yaml, expected):
    project = copy_project(tmp_path / "portal")
    _with_brand(project, brand_yaml)
    result = run_kbgen("build", cwd=project, env={"KBGEN_INDEX_DIR": ""})
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert re.search(expected, output), output
    # Each bad value is on the last line of its brand: block.
    key_line = (project / "mkdocs.yml").read_text().splitlines().index("    brand:") + len(brand_yaml.splitlines())
    assert f"mkdocs.yml:{key_line}:" in output
    assert not (project / "site").exists()  # nothing written


def test_every_problem_is_listed_and_text_is_checked(tmp_path):
    config = tmp_path / "mkdocs.yml"
    config.write_text("site_name: X\nextra:\n  kbgen:\n    brand:\n      name: \"a\\u0000b\"\n"
                      f"      footer:\n        text: \"{'x' * 400}\"\n        links: [{{label: A}}]\n")
    import yaml

    with pytest.raises(branding.BrandError) as caught:
        branding.brand_from_config(yaml.safe_load(config.read_text())["extra"], config_file=config)
    assert [p.split(": ")[1] for p in caught.value.problems] == [
        "extra.kbgen.brand.name", "extra.kbgen.brand.footer.text", "extra.kbgen.brand.footer.links[0]"]
    assert caught.value.problems[0].startswith("mkdocs.yml:5: ")


def test_the_service_reads_the_built_brand_else_mkdocs_yml_else_defaults(tmp_path, built_project):
    assert branding.for_site(tmp_path / "no-site") == branding.Brand()
    assert branding.Brand().name == "Support portal" and not branding.Brand().made_with_material
    assert branding.for_site(tmp_path / "no-site", built_project).name == DEMO  # mkdocs.yml beside it
    site = tmp_path / "site"
    shutil.copytree(built_project / "site" / ".kbgen", site / ".kbgen")
    assert branding.for_site(site).primary == "#0b4f8a"
    (site / branding.BRAND_FILE).write_text("{not json")
    assert branding.for_site(site) == branding.Brand()  # a damaged file never stops the service
