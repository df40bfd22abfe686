"""The markup of every page and email kbgen writes itself, rendered from Jinja templates in kbgen/theme/.

MkDocs renders the site's page templates (main.html and the pages it extends) with its own
environment; everything else kbgen turns into HTML or email text (the bodies of generated
pages, the service's own pages, error pages, emails) goes through `render` here:

- autoescape is on for every template, whatever its name: a person's text is always text.
  Mark HTML that kbgen itself made safe (e.g. a rendered comment, already sanitized by
  kbgen/tickets/markup.py) with `Markup` before handing it over;
- an undefined name is an error, not an empty string, so a renamed context key fails the tests;
- the facts templates show (products, statuses, priorities, roles, URLs, limits) come from
  kbgen/facts.py as the global `facts`, never written into a template by hand.

Python builds the context; templates hold the markup. No module under kbgen/ writes HTML.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

THEME_DIR = Path(__file__).resolve().parent / "theme"

__all__ = ["THEME_DIR", "Markup", "environment", "render"]


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(THEME_DIR)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    from kbgen import dates
    from kbgen.facts import template_globals  # here, not above: kbgen.facts imports the modules that render

    env.globals.update(template_globals())
    env.filters.update(when=dates.when, day=dates.day, iso=dates.iso)  # one date format (kbgen/dates.py): {{ x.at | when }}
    return env


def render(name: str, /, **context: Any) -> str:
    """The template `name` (a path under kbgen/theme/) rendered with `context`."""
    return environment().get_template(name).render(**context)
