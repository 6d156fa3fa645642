from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.defaults import page_not_found

from shop.currency_choice import choose_currency
from shop.errors import UnsupportedCurrency


def not_found(request, exception=None):
    """API paths answer 404 in the API's error shape; pages get the HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "not_found", "message": "Not found.", "details": {}}}, status=404)
    return page_not_found(request, exception)


def _back(request: HttpRequest) -> str:
    """Where the shopper came from, if it is on this site; else the home page."""
    for candidate in (request.POST.get("next"), request.META.get("HTTP_REFERER")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return "/"


@require_POST
def set_currency(request: HttpRequest) -> HttpResponse:
    """The currency selector's form (CSRF-protected POST): remember the choice and go
    back to the page it was made on."""
    try:
        choice = choose_currency(request, request.POST.get("currency"))
    except UnsupportedCurrency as error:
        messages.error(request, error.message)
        return redirect(_back(request))
    if choice.cart_locked:
        messages.info(
            request,
            f"Prices now show in {choice.currency}. Your checkout stays in {choice.cart_currency}; "
            "cancel the checkout to pay in another currency.",
        )
    return redirect(_back(request))
