from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from catalog.selectors import top_categories
from shop import fragments


def navigation(request: HttpRequest) -> dict:
    """The header's category links and a digest of them (the key of their cached links,
    shop/fragments.py). Lazy, so pages that do not show the header (emails, errors of the
    API) never run the query; read with the list's category counts."""
    categories = SimpleLazyObject(top_categories)
    return {
        "nav_categories": categories,
        "nav_digest": SimpleLazyObject(lambda: fragments.digest(fragments.model_values(category) for category in categories)),
    }
