"""Server-side search: a Whoosh index written at build time, queried by the portal service.

indexer.py builds it (pages and their sections) and swaps it in atomically (store.py);
query.py answers a search with typo tolerance (spelling.py) and writers' synonyms
(synonyms.py), reorders the best pages by their sections (rerank.py) and shows a page kept
in several versions once (versions.py); warm.py opens the index when the service starts;
missed.py remembers what customers could not find.
"""
