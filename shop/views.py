from django.views.defaults import page_not_found

from shop.api_errors import not_found_json


def not_found(request, exception=None):
    """API paths answer 404 in the API's error shape; pages get the HTML page."""
    if request.path.startswith("/api/"):
        return not_found_json()
    return page_not_found(request, exception)
