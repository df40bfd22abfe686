"""Articles that learn: readers' "Was this helpful?" votes and what preceded each new request.

- `votes`: a vote (yes/no, an optional comment) on an article, rate-limited per client address;
- `journeys`: the searches and articles a requester saw before opening a request, which the
  browser keeps for itself and sends only with the request (kbgen-feedback.js);
- `report`: what writers read from both (`kbgen report articles`).

The tables are in `models`; the articles a vote may name come from the built site
(`articles.json`, written by the plugin beside the search index).
"""
from __future__ import annotations

from kbgen.exports import lazy

__getattr__ = lazy(__name__, globals(), {"models": "ArticleVote JourneyStep"})
