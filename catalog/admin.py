"""Catalog admin: categories, products with their variants, and a variant list with stock.

Stock figures come from inventory.selectors; stock only changes through the "Adjust stock"
page of the stock admin (inventory.services.adjust), never from these forms.
"""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from catalog.models import Category, Product, Variant
from inventory.admin import stock_status_label
from inventory.selectors import annotate_availability


def with_stock_figures(variants: QuerySet[Variant]) -> QuerySet[Variant]:
    """Variants with on_hand_now, reserved_now, available and low_stock_threshold_now, in the
    same query (the stock row is joined, reservations are a subquery)."""
    return annotate_availability(variants).annotate(reserved_now=Coalesce(F("stock__reserved"), Value(0)))


class StockFiguresMixin:
    """Read-only stock columns for a Variant queryset built by with_stock_figures."""

    @admin.display(description="On hand", ordering="on_hand_now")
    def on_hand(self, variant: Variant):
        return getattr(variant, "on_hand_now", "—")

    @admin.display(description="Reserved", ordering="reserved_now")
    def reserved(self, variant: Variant):
        # Includes reservations past their time that the sweeper has not released yet;
        # "available" already ignores those.
        return getattr(variant, "reserved_now", "—")

    @admin.display(description="Available", ordering="available")
    def available(self, variant: Variant):
        return getattr(variant, "available", "—")

    @admin.display(description="Stock status")
    def stock_status(self, variant: Variant):
        if not hasattr(variant, "available"):
            return "—"
        return stock_status_label(variant.available, variant.low_stock_threshold_now)

    @admin.display(description="Stock")
    def adjust_stock_link(self, variant: Variant):
        if not variant.pk:
            return "—"
        return format_html('<a href="{}">Adjust stock</a>', reverse("admin:inventory_stock_adjust", args=[variant.pk]))


class VariantForm(forms.ModelForm):
    class Meta:
        model = Variant
        fields = ["product", "sku", "name", "attributes", "price", "is_active", "position"]
        widgets = {"attributes": forms.Textarea(attrs={"rows": 2, "cols": 30})}

    def clean_attributes(self):
        # Pages and the API read attributes as name -> value pairs.
        attributes = self.cleaned_data["attributes"]
        if attributes is None:
            return {}
        if not isinstance(attributes, dict):
            raise forms.ValidationError('Attributes must be a JSON object, like {"size": "M", "colour": "blue"}.')
        return attributes


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "parent"]


class VariantInline(StockFiguresMixin, admin.TabularInline):
    model = Variant
    form = VariantForm
    extra = 0
    fields = ["sku", "name", "attributes", "price", "is_active", "position", "on_hand", "reserved", "available", "adjust_stock_link"]
    readonly_fields = ["on_hand", "reserved", "available", "adjust_stock_link"]
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Variant]:
        return with_stock_figures(super().get_queryset(request))


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "category", "is_active", "variant_count", "updated_at"]
    list_filter = ["is_active", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "slug", "variants__sku"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "category", "description", "is_active"]
    inlines = [VariantInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return super().get_queryset(request).annotate(variant_total=Count("variants"))

    @admin.display(description="Variants", ordering="variant_total")
    def variant_count(self, product: Product) -> int:
        return product.variant_total


@admin.register(Variant)
class VariantAdmin(StockFiguresMixin, admin.ModelAdmin):
    form = VariantForm
    list_display = ["sku", "product", "display_name", "price", "on_hand", "reserved", "available", "stock_status", "is_active", "adjust_stock_link"]
    list_filter = ["is_active", "product__category"]
    list_select_related = ["product"]
    search_fields = ["sku", "name", "product__name"]
    autocomplete_fields = ["product"]
    ordering = ["sku"]
    readonly_fields = ["on_hand", "reserved", "available", "stock_status", "adjust_stock_link"]
    fieldsets = [
        (None, {"fields": ["product", "sku", "name", "attributes", "price", "is_active", "position"]}),
        ("Stock", {"fields": ["on_hand", "reserved", "available", "stock_status", "adjust_stock_link"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Variant]:
        return with_stock_figures(super().get_queryset(request))

    @admin.display(description="Name")
    def display_name(self, variant: Variant) -> str:
        return variant.display_name
