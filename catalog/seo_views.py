"""robots.txt: crawlers keep out of the shopper's own pages and the back office, and are
pointed to the sitemap. /favicon.ico: the static icon."""
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET

# Pages that are one shopper's (cart, checkout, account, orders) or not for the public.
PRIVATE_PATHS = ("/cart/", "/checkout/", "/account/", "/accounts/", "/orders/", "/admin/", "/api/")


@require_GET
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in PRIVATE_PATHS), ""]
    lines.append(f"Sitemap: {settings.SITE_URL.rstrip('/')}{reverse('sitemap')}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico for browsers that ask for it: the static icon. Its (hashed) address is
    looked up per request, not when the URLs load, so a process that has not collected
    the static files (a Celery worker) still starts."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))
