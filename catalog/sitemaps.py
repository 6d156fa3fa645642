"""sitemap.xml: the home page, every category, every active
product. Addresses are the shop's public ones (SITE_URL), whatever host was asked."""
from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import QuerySet
from django.urls import reverse

from catalog.models import Category, Product


class _SiteUrlSitemap(Sitemap):
    """Writes SITE_URL's scheme and host into every address."""

    def get_protocol(self, protocol: str | None = None) -> str:
        return urlsplit(settings.SITE_URL).scheme or "https"

    def get_domain(self, site=None) -> str:
        return urlsplit(settings.SITE_URL).netloc


class HomeSitemap(_SiteUrlSitemap):
    changefreq = "daily"
    priority = 1.0

    def items(self) -> list[str]:
        return ["catalog:product_list"]

    def location(self, item: str) -> str:
        return reverse(item)


class CategorySitemap(_SiteUrlSitemap):
    changefreq = "daily"
    priority = 0.7

    def items(self) -> QuerySet[Category]:
        return Category.objects.order_by("slug")


class ProductSitemap(_SiteUrlSitemap):
    changefreq = "weekly"
    priority = 0.8
    limit = 5000

    def items(self) -> QuerySet[Product]:
        return Product.objects.filter(is_active=True).only("slug", "updated_at").order_by("slug")

    def lastmod(self, product: Product):
        return product.updated_at


SITEMAPS = {"home": HomeSitemap, "categories": CategorySitemap, "products": ProductSitemap}
