from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, path, re_path, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView

from cart import api as cart_api
from catalog import api as catalog_api
from orders import api as orders_api
from payments import api as payments_api

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
    return JsonResponse({"error": {"code": "not_found", "message": "Not found.", "details": {}}}, status=404)


urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("products/", catalog_api.ProductListView.as_view(), name="product-list"),
    path("products/<slug:slug>/", catalog_api.ProductDetailView.as_view(), name="product-detail"),
    path("currencies/", catalog_api.CurrencyListView.as_view(), name="currencies"),
    path("carts/", cart_api.CartCreateView.as_view(), name="cart-create"),
    path("carts/<str:cart_id>/", cart_api.CartDetailView.as_view(), name="cart-detail"),
    path("carts/<str:cart_id>/lines/", cart_api.CartLinesView.as_view(), name="cart-lines"),
    path("carts/<str:cart_id>/lines/<str:line_id>/", cart_api.CartLineDetailView.as_view(), name="cart-line"),
    path("carts/<str:cart_id>/stock/", cart_api.CartStockView.as_view(), name="cart-stock"),
    path("carts/<str:cart_id>/checkout/", cart_api.CheckoutView.as_view(), name="cart-checkout"),
    path("carts/<str:cart_id>/payment/", payments_api.PaymentView.as_view(), name="cart-payment"),
    path("webhooks/stripe/", payments_api.stripe_webhook, name="stripe-webhook"),
    path("shipping-methods/", cart_api.ShippingMethodsView.as_view(), name="shipping-methods"),
    path("orders/", orders_api.OrderListView.as_view(), name="order-list"),
    path("orders/<str:number>/", orders_api.OrderDetailView.as_view(), name="order-detail"),
    # Last: whatever no route above matched.
    re_path(r"^(?P<unmatched>.*)$", not_found, name=NOT_FOUND_ROUTE),
]
