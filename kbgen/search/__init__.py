"""Server-side search: a Whoosh index written at build time, queried by the portal service.

indexer.py builds it (pages and their sections) and swaps it in atomically (store.py);
query.py answers a search with typo tolerance (spelling.py) and writers' synonyms
(synonyms.py); missed.py remembers what customers could not find.
"""
