from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from catalog.selectors import top_categories


def navigation(request: HttpRequest) -> dict:
    """The header's category links. Lazy, so pages that do not show the header (emails,
    errors of the API) never run the query; read with the list's category counts."""
    return {"nav_categories": SimpleLazyObject(top_categories)}
