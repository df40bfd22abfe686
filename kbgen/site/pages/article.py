"""What the portal adds to a writer's article: the header's chips and the contact line it ends with."""
from __future__ import annotations

from kbgen.site.catalog import find_product, find_type
from kbgen.site.content import Article
from kbgen.site.pages.listing import contact_footer

__all__ = ["article_facts", "contact_footer"]


def article_facts(article: Article) -> dict | None:
    """What the article header shows (kbgen/theme/main.html), in the catalog's names and labels
    rather than the front matter's spelling ("reference" shows as "Technical resources")."""
    product, kind = find_product(article.product), find_type(article.type)
    if not (product and kind):
        return None
    updated = article.meta.get("updated")
    return {"product": product.name, "type": kind.label, "updated": updated if hasattr(updated, "strftime") else None}
