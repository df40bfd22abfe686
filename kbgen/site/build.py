"""Building the site: MkDocs renders, kbgen's plugin adds pages and the index.

The site is rendered into a temporary folder beside the target and swapped in
only when the build succeeded, so a failed build never leaves a half-written
site/ (a running `kbgen serve` keeps serving the previous one).
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.exceptions import Abort, ConfigurationError, PluginError

from kbgen.site.check import ContentRules, check_project
from kbgen.site.content import iter_markdown


class BuildFailed(Exception):
    pass


def load(config_file: str | Path | None, **overrides):
    try:
        return load_config(str(config_file) if config_file else None, **overrides)
    except (ConfigurationError, Abort) as exc:
        raise BuildFailed(f"{config_file or 'mkdocs.yml'}: {exc}") from None


def build_site(config_file: str | Path | None = None, site_dir: str | Path | None = None,
               strict: bool = False) -> Path:
    config = load(config_file, strict=strict, **({"site_dir": str(site_dir)} if site_dir else {}))
    final = Path(config.site_dir).resolve()
    staging = final.parent / f".{final.name}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    config.site_dir = str(staging)
    config.plugins.on_startup(command="build", dirty=False)
    try:
        mkdocs_build(config)
    except (PluginError, Abort, ConfigurationError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BuildFailed(str(exc)) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        config.plugins.on_shutdown()
    _swap(staging, final)
    return final


def _swap(staging: Path, final: Path) -> None:
    old = final.parent / f".{final.name}.old-{os.getpid()}"
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def rules_of(config) -> ContentRules:
    """The content rules set on the kbgen plugin in mkdocs.yml (defaults when it is not listed)."""
    plugin = config.plugins.get("kbgen")
    if plugin is None:
        return ContentRules()
    return ContentRules(tuple(plugin.config.required), plugin.config.closed_front_matter,
                        plugin.config.check_links)


def check(config_file: str | Path | None = None) -> tuple[list[str], int]:
    """Validate content and forms without rendering; returns (problems, pages checked)."""
    logging.getLogger("mkdocs").setLevel(logging.ERROR)  # config loading chatter is not a problem
    config = load(config_file)
    project = Path(config.config_file_path).resolve().parent
    plugin = config.plugins.get("kbgen")
    forms_dir = project / (plugin.config.forms_dir if plugin else "forms")
    docs_dir = Path(config.docs_dir)
    problems = check_project(docs_dir, rules_of(config), forms_dir)
    return problems, sum(1 for _ in iter_markdown(docs_dir))  # articles: saved replies are not pages
