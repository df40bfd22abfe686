"""The README is part of the product: its examples must work and every setting must be in it."""
from __future__ import annotations

import re
import shutil

import pytest

from conftest import REPO
from kbgen.site.content import parse_article
from kbgen.forms import check_forms
from kbgen.settings import Settings

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
    # Project layout overrides for tests, and how `kbgen serve --workers` tells its workers the project.
    internal = {"KBGEN_CONTENT_DIR", "KBGEN_FORMS_DIR", "KBGEN_PROJECT_DIR"}
    settings = set(Settings.environment_variables())
    assert {"KBGEN_DATABASE_URL", "KBGEN_SUPPORT_EMAIL", "KBGEN_LOGIN_ATTEMPTS"} <= settings
    missing = sorted(v for v in settings - internal if not re.search(rf"\b{v}\b", README))
    assert missing == [], f"document these in README.md's Configuration table: {missing}"


def test_no_environment_variable_is_read_outside_the_settings():
    """The settings model is the one list: a KBGEN_* name in the code is one of its fields (or internal)."""
    internal = {"KBGEN_PROJECT_DIR", "KBGEN_AGENT_EMAIL"}  # workers' project; `kbgen tickets --as` default
    known = set(Settings.environment_variables()) | internal
    used = {}
    for path in (REPO / "kbgen").rglob("*.py"):
        for name in re.findall(r"\bKBGEN_[A-Z_]+[A-Z]\b", path.read_text()):
            used.setdefault(name, path.relative_to(REPO).as_posix())
    strays = sorted(f"{name} ({where})" for name, where in used.items() if name not in known)
    assert strays == [], f"read these through kbgen/settings.py's Settings (a field each): {strays}"


def test_the_two_commands_are_in_the_readme():
    assert "make run" in README and "make test" in README


def test_settings_read_the_documented_names_and_refuse_what_they_cannot_use(tmp_path):
    from kbgen.settings import SettingsError, yes_or_no

    env = {"KBGEN_SUPPORT_EMAIL": "team@vendor.example", "KBGEN_LOGIN_ATTEMPTS": "7", "KBGEN_COOKIE_SECURE": "ON",
           "KBGEN_ALLOWED_ORIGINS": "https://a.example/, https://b.example", "KBGEN_PUBLIC_URL": "https://x.example/",
           "KBGEN_MAIL_FROM": "", "KBGEN_SECRET_KEY": "s"}
    settings = Settings.from_env(tmp_path, env=env)
    assert (settings.support_team_email, settings.login_attempts_per_window, settings.cookie_secure) == (
        "team@vendor.example", 7, True)
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.public_url == "https://x.example" and settings.public_url_configured
    assert settings.mail_from == Settings.mail_from == "support-portal@localhost"  # empty is unset
    assert settings.data_dir == tmp_path.resolve() / ".kbgen" / "data"
    for name, value in [("KBGEN_LOGIN_ATTEMPTS", "abc"), ("KBGEN_COOKIE_SECURE", "maybe"),
                        ("KBGEN_PASSWORD_HASH_WAIT_SECONDS", "soon")]:
        with pytest.raises(SettingsError, match=f"^{name} is '{value}': "):
            Settings.from_env(tmp_path, env={name: value})
    assert [yes_or_no(w) for w in ("Yes", " on", "1", True, "off", "", None, False, "maybe")] == [
        True, True, True, True, False, False, False, False, None]
