"""Catalog admin: categories, products with their variants, and a variant list.

The inventory app adds the stock columns to the product and variant pages
(inventory.admin); stock only changes through its "Adjust stock" page.
"""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from catalog.models import Category, Product, Variant


class VariantForm(forms.ModelForm):
    class Meta:
        model = Variant
        fields = ["product", "sku", "name", "attributes", "price", "weight_grams", "is_active", "position"]
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


class VariantInline(admin.TabularInline):
    model = Variant
    form = VariantForm
    extra = 0
    fields = ["sku", "name", "attributes", "price", "weight_grams", "is_active", "position"]
    show_change_link = True


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "category", "is_active", "variant_count", "updated_at"]
    list_filter = ["is_active", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "slug", "variants__sku"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "category", "description", "weight_grams", "is_active"]
    inlines = [VariantInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return super().get_queryset(request).annotate(variant_total=Count("variants"))

    @admin.display(description="Variants", ordering="variant_total")
    def variant_count(self, product: Product) -> int:
        return product.variant_total


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    form = VariantForm
    list_display = ["sku", "product", "display_name", "price", "is_active"]
    list_filter = ["is_active", "product__category"]
    list_select_related = ["product"]
    search_fields = ["sku", "name", "product__name"]
    autocomplete_fields = ["product"]
    ordering = ["sku"]
    fieldsets = [(None, {"fields": ["product", "sku", "name", "attributes", "price", "weight_grams", "is_active", "position"]})]

    @admin.display(description="Name")
    def display_name(self, variant: Variant) -> str:
        return variant.display_name
