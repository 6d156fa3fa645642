"""The site's URLs. Each app's pages and API come from its own urls modules, included by
dotted path, so this project module imports none of the apps."""
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve as serve_file

from shop import health

urlpatterns = [
    # Probes and metrics (shop.health): no session, no language, no redirect.
    path("healthz", health.healthz, name="health"),
    path("readyz", health.readyz, name="readiness"),
    path("metrics", health.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("shop.api_urls")),
    # set_language: the header's language selector (Django's view, and a signed-in customer's account)
    path("i18n/", include("accounts.language_urls")),
    path("accounts/", include("allauth.urls")),  # sign-up, login, verification, passwords, email
    path("", include("checkout.urls")),  # /checkout/... and the cart page's /cart/checkout/...
    path("", include("cart.urls")),  # /cart/... and the currency selector's /currency/
    path("orders/", include("orders.urls")),
    path("account/addresses/", include("addresses.urls")),
    path("account/", include("accounts.urls")),
    path("", include("catalog.seo_urls")),  # sitemap.xml, robots.txt, favicon.ico
    path("", include("catalog.urls")),
]

if settings.SERVE_MEDIA:  # uploaded product images in `make run`; production: the storage serves them
    urlpatterns.insert(0, re_path(rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$", serve_file, {"document_root": settings.MEDIA_ROOT}))

handler404 = "shop.views.not_found"
# allauth answers its rate limits with this view (a 429 page in the shop's look).
handler429 = "accounts.views.too_many_requests"
