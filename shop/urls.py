"""The site's URLs. Each app's pages and API come from its own urls modules, included by
dotted path, so this project module imports none of the apps."""
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("shop.api_urls")),
    path("accounts/", include("allauth.urls")),  # sign-up, login, verification, passwords, email
    path("", include("checkout.urls")),  # /checkout/... and the cart page's /cart/checkout/...
    path("", include("cart.urls")),  # /cart/... and the currency selector's /currency/
    path("orders/", include("orders.urls")),
    path("account/addresses/", include("addresses.urls")),
    path("account/", include("accounts.urls")),
    path("", include("catalog.urls")),
]

handler404 = "shop.views.not_found"
# allauth answers its rate limits with this view (a 429 page in the shop's look).
handler429 = "accounts.views.too_many_requests"
