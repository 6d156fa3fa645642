"""The JSON API under /api/v1/: each app's endpoints come from its own api_urls module
(included by dotted path, so this project module imports no app)."""
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, include, path, re_path, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView

from shop.api_errors import not_found_json

app_name = "api"

NOT_FOUND_ROUTE = "not-found"


@csrf_exempt  # answers only 404 or a 308 to a DRF view, which does its own CSRF check
def not_found(request: HttpRequest, unmatched: str = "") -> HttpResponse:
    """Any other path under /api/v1/: the API's 404 even with DEBUG on, or a 308 to the
    same route with its trailing slash (308 keeps the method and body, unlike
    APPEND_SLASH's 301, so a POST without the slash still arrives as a POST)."""
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.url_name != NOT_FOUND_ROUTE:
            query = request.META.get("QUERY_STRING", "")
            response = HttpResponse(status=308)
            response["Location"] = request.path + "/" + (f"?{query}" if query else "")
            return response
    return not_found_json()


urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include("catalog.api_urls")),
    path("", include("currencies.api_urls")),
    path("", include("checkout.api_urls")),
    path("", include("payments.api_urls")),
    path("", include("orders.api_urls")),
    # Last: whatever no route above matched.
    re_path(r"^(?P<unmatched>.*)$", not_found, name=NOT_FOUND_ROUTE),
]
