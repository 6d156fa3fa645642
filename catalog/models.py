from __future__ import annotations

from django.db import models
from django.urls import reverse
from djmoney.models.fields import MoneyField


class Category(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:category", args=[self.slug])


class Product(models.Model):
    slug = models.SlugField(max_length=140, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    # The shipping weight of its variants that give none.
    weight_grams = models.PositiveIntegerField(null=True, blank=True, help_text="Shipping weight of each variant that gives none.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["is_active", "name"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:product_detail", args=[self.slug])


class Variant(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    # The base price: always USD (invariant 5).
    price = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", currency_choices=[("USD", "USD")])
    weight_grams = models.PositiveIntegerField(null=True, blank=True, help_text="Shipping weight; empty: the product's.")
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["product_id", "position", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(price__gte=0), name="variant_price_not_negative")]

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
