"""Priorities: the same five for every product, so they live here and not in forms/*.yml.

The form pages show them with their definitions and the rule, the intake accepts only
their slugs, the API schema documents them, and the requests pages name them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Priority:
    slug: str
    name: str
    definition: str


PRIORITIES: tuple[Priority, ...] = (
    Priority("highest", "Highest",
             "Your services are down: customers cannot be served and there is no workaround."),
    Priority("high", "High",
             "A critical error or a system block: a core function is stopped for many users "
             "and there is no acceptable workaround."),
    Priority("medium", "Medium",
             "Something does not work as expected, but there is a workaround or only some users are affected."),
    Priority("low", "Low",
             "A minor problem or a question, with little impact on daily work."),
    Priority("lowest", "Lowest",
             "A suggestion, a cosmetic issue or a request for information, with no impact on operations."),
)
PRIORITY_RULE = ("Use Highest only if your services are down; "
                 "Highest/High for critical errors and system block only.")
DEFAULT_PRIORITY = "medium"
PRIORITY_SLUGS = tuple(p.slug for p in PRIORITIES)
