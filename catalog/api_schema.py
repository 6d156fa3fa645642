"""OpenAPI documentation of the catalog endpoints' JSON (docs/api.md Catalog): serializers
used only in `@extend_schema` of catalog/api.py; responses are built by catalog.api."""
from __future__ import annotations

from rest_framework import serializers

from shop.api_schema import EnumString, MoneySerializer

STOCK_STATUSES = ("in_stock", "low_stock", "out_of_stock")


class VariantSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    attributes = serializers.DictField(help_text='Free-form, like {"size": "M"}.')
    price = MoneySerializer(help_text="In the requested currency, converted from the USD price.")
    available = serializers.IntegerField(help_text="On hand minus active reservations.")
    availability = EnumString(STOCK_STATUSES, enum_name="StockStatus")

    class Meta:
        ref_name = "Variant"


class ProductImageSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="The picture, at most 1120 x 1400 pixels.")
    alt = serializers.CharField(help_text="What it shows (the product's name when staff gave no text).")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    variant = serializers.CharField(allow_null=True, help_text="The SKU of the variant it shows, or null.")

    class Meta:
        ref_name = "ProductImage"


class ProductSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    category = serializers.SlugField(allow_null=True, help_text="The category's slug, or null.")
    images = ProductImageSerializer(many=True, help_text="In display order.")
    variants = VariantSerializer(many=True)

    class Meta:
        ref_name = "Product"


class ProductPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ProductSerializer(many=True)

    class Meta:
        ref_name = "ProductPage"
