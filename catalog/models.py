from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Func
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField


def slug_url(view_name: str, slug: str) -> str:
    """reverse(view_name, args=[slug]), remembered: a list page links dozens of products
    and categories, and reverse() is slow. Keyed by everything reverse() depends on."""
    return _reversed(view_name, slug, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(), get_language())


@lru_cache(maxsize=8192)
def _reversed(view_name: str, slug: str, urlconf: str, script_prefix: str, language: str | None) -> str:
    return reverse(view_name, args=[slug], urlconf=urlconf)


class Category(models.Model):
    name = models.CharField(max_length=120, verbose_name=_("name"))
    slug = models.SlugField(max_length=140, unique=True, verbose_name=_("slug"))
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent"))

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("categories")
        verbose_name = _("category")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return slug_url("catalog:category", self.slug)


class Product(models.Model):
    slug = models.SlugField(max_length=140, unique=True, verbose_name=_("slug"))
    name = models.CharField(max_length=200, verbose_name=_("name"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products", verbose_name=_("category"))
    # The shipping weight of its variants that give none.
    weight_grams = models.PositiveIntegerField(null=True, blank=True, help_text=_("Shipping weight of each variant that gives none."), verbose_name=_("weight grams"))
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    # Kept by the database (triggers of migration 0004): name (weight A), active variants'
    # SKUs and attribute values (B), description (C). Read it, never write it.
    search_vector = SearchVectorField(null=True, editable=False)
    # The name with its numbers zero-padded, so "Tee 2" sorts before "Tee 10".
    name_sort = models.GeneratedField(
        expression=Func(F("name"), function="catalog_natural_sort_key", output_field=models.TextField()),
        output_field=models.TextField(),
        db_persist=True,
    )
    # Units sold in paid orders (catalog.services.record_sales): the best-selling order.
    units_sold = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("units sold"))

    class Meta:
        ordering = ["name_sort", "id"]
        indexes = [
            models.Index(fields=["is_active", "name"]),
            GinIndex(fields=["search_vector"], name="catalog_product_search_gin"),
            models.Index(fields=["name_sort", "id"], name="catalog_product_name_sort"),
        ]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return slug_url("catalog:product_detail", self.slug)


class Variant(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants", verbose_name=_("product"))
    sku = models.CharField(max_length=64, unique=True, verbose_name=_("sku"))
    name = models.CharField(max_length=200, blank=True, verbose_name=_("name"))
    attributes = models.JSONField(default=dict, blank=True, verbose_name=_("attributes"))
    # The base price: always USD (invariant 5).
    price = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", currency_choices=[("USD", "USD")], verbose_name=_("price"))
    weight_grams = models.PositiveIntegerField(null=True, blank=True, help_text=_("Shipping weight; empty: the product's."), verbose_name=_("weight grams"))
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    position = models.PositiveIntegerField(default=0, verbose_name=_("position"))

    class Meta:
        ordering = ["product_id", "position", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(price__gte=0), name="variant_price_not_negative")]
        verbose_name = _("variant")
        verbose_name_plural = _("variants")

    def __str__(self) -> str:
        return f"{self.product.name} – {self.display_name}" if self.product_id else self.sku

    @property
    def shipping_weight_grams(self) -> int:
        """Its own weight, else its product's, else 0 (the product must be loaded)."""
        if self.weight_grams is not None:
            return self.weight_grams
        return self.product.weight_grams or 0

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        if self.attributes:
            return ", ".join(str(v) for v in self.attributes.values())
        return self.sku


def product_image_path(image: "ProductImage", filename: str) -> str:
    """Uploads land under products/<product slug>/; the storage adds a suffix when the
    name is taken."""
    return f"products/{image.product.slug}/{filename}"


class ProductImage(models.Model):
    """A picture of a product, shown in `position` order; one with a variant is that
    variant's picture (shown when the shopper picks it). The file lives in the default
    storage; `thumbnails` records the sizes made from it (catalog.images)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images", verbose_name=_("product"))
    variant = models.ForeignKey(
        Variant, null=True, blank=True, on_delete=models.SET_NULL, related_name="images",
        help_text=_("Optional: the variant this picture shows (its colour, say)."), verbose_name=_("variant"),
    )
    image = models.ImageField(upload_to=product_image_path, width_field="width", height_field="height", max_length=255, verbose_name=_("image"))
    width = models.PositiveIntegerField(null=True, blank=True, editable=False, verbose_name=_("width"))
    height = models.PositiveIntegerField(null=True, blank=True, editable=False, verbose_name=_("height"))
    alt = models.CharField(
        _("alt text"), max_length=200, blank=True,
        help_text=_("What the picture shows, for people who cannot see it; empty: the product's name."),
    )
    position = models.PositiveIntegerField(default=0, verbose_name=_("position"))
    # {alias: [storage name, width, height]} of each thumbnail made from `image`.
    thumbnails = models.JSONField(default=dict, blank=True, editable=False, verbose_name=_("thumbnails"))

    class Meta:
        ordering = ["product_id", "position", "id"]
        indexes = [models.Index(fields=["product", "position"])]
        verbose_name = _("product image")
        verbose_name_plural = _("product images")

    def __str__(self) -> str:
        return self.alt or self.image.name

    @property
    def alt_text(self) -> str:
        return self.alt or self.product.name
