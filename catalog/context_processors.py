from django.http import HttpRequest

from catalog.selectors import categories


def navigation(request: HttpRequest) -> dict:
    """The header's category links. A queryset, so pages that do not show the header
    (emails, errors of the API) never run the query."""
    return {"nav_categories": categories().filter(parent__isnull=True)}
