"""What search engines read about a product: schema.org Product data (JSON-LD) with one
offer per variant, in the currency and at the prices the page shows."""
from __future__ import annotations

from typing import Any

from django.conf import settings

from catalog.models import Product

SCHEMA_AVAILABILITY = {
    "in_stock": "https://schema.org/InStock",
    "low_stock": "https://schema.org/LimitedAvailability",
    "out_of_stock": "https://schema.org/OutOfStock",
}


def _amount(money: Any) -> str:
    return format(money.amount, "f")


def product_structured_data(card: Any, *, url: str, image_urls: list[str]) -> dict[str, Any]:
    """schema.org Product for a product page's card (catalog.views.ProductCard): every
    active variant an Offer with its SKU, shown price and currency, and availability; more
    than one variant makes an AggregateOffer with the lowest and highest price."""
    product: Product = card.product
    offers = [
        {
            "@type": "Offer",
            "sku": option.variant.sku,
            "price": _amount(option.price),
            "priceCurrency": option.price.currency.code,
            "availability": SCHEMA_AVAILABILITY[option.status],
            "itemCondition": "https://schema.org/NewCondition",
            "url": url,
        }
        for option in card.options
    ]
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "url": url,
        "brand": {"@type": "Brand", "name": getattr(settings, "SHOP_NAME", "Shop")},
    }
    if product.description:
        data["description"] = product.description
    if image_urls:
        data["image"] = image_urls
    if product.category_id:
        data["category"] = product.category.name
    if len(offers) == 1:
        data["sku"] = offers[0]["sku"]
        data["offers"] = offers[0]
    elif offers:
        prices = [option.price.amount for option in card.options]
        data["offers"] = {
            "@type": "AggregateOffer",
            "priceCurrency": offers[0]["priceCurrency"],
            "lowPrice": format(min(prices), "f"),
            "highPrice": format(max(prices), "f"),
            "offerCount": len(offers),
            "availability": SCHEMA_AVAILABILITY[card.status],
            "offers": offers,
        }
    return data
