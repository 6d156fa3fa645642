"""Shopper pages of the catalog: the product list (all or one category) and a product
with its add-to-cart form. Prices are shown in the shopper's currency."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import InvalidPage, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods
from moneyed import Money

from cart.session import add_to_cart, quantity_from_form
from catalog import selectors
from catalog.models import Category, Product, Variant
from inventory.selectors import Availability, stock_status
from shop import rates
from shop.currency_choice import shopper_currency
from shop.errors import InsufficientStock, ShopError
from shop.money import convert_from_base

# How a product's badge reads when its variants differ: the best status wins.
_STATUS_RANK: dict[Availability, int] = {"in_stock": 0, "low_stock": 1, "out_of_stock": 2}


@dataclass(frozen=True)
class VariantOption:
    variant: Variant
    price: Money
    available: int
    status: Availability

    @property
    def orderable(self) -> bool:
        return self.status != "out_of_stock"


@dataclass(frozen=True)
class ProductCard:
    product: Product
    options: list[VariantOption]
    lowest_price: Money | None
    prices_differ: bool
    status: Availability


def _product_card(product: Product, currency: str, rate: Decimal) -> ProductCard:
    options = [
        VariantOption(
            variant=variant,
            price=convert_from_base(variant.price.amount, currency, rate),
            available=variant.available,
            status=stock_status(variant.available, variant.low_stock_threshold_now),
        )
        for variant in product.active_variants
    ]
    prices = [option.price for option in options]
    return ProductCard(
        product=product,
        options=options,
        lowest_price=min(prices, key=lambda money: money.amount) if prices else None,
        prices_differ=len({price.amount for price in prices}) > 1,
        status=min((option.status for option in options), key=_STATUS_RANK.__getitem__, default="out_of_stock"),
    )


def _currency_and_rate(request: HttpRequest) -> tuple[str, Decimal]:
    currency = shopper_currency(request)
    return currency, rates.current_rate(currency)


@require_http_methods(["GET", "HEAD"])
def product_list(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    category = get_object_or_404(Category, slug=slug) if slug else None
    paginator = Paginator(selectors.product_list(category=category), settings.CATALOG_PAGE_SIZE)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except InvalidPage:
        raise Http404("No such page.") from None
    currency, rate = _currency_and_rate(request)
    cards = [_product_card(product, currency, rate) for product in page.object_list]
    return render(request, "catalog/product_list.html", {"category": category, "page": page, "cards": cards})


def _field_of(error: ShopError) -> str:
    """Which form field an add-to-cart error belongs next to."""
    if isinstance(error, InsufficientStock) or "quantity" in error.details:
        return "quantity"
    if "sku" in error.details:
        return "variant"
    return "form"


@require_http_methods(["GET", "HEAD", "POST"])
def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    product = selectors.product_detail(slug)
    if product is None:
        raise Http404("No such product.")
    currency, rate = _currency_and_rate(request)
    card = _product_card(product, currency, rate)
    first_orderable = next((option.variant.sku for option in card.options if option.orderable), "")
    context: dict[str, Any] = {"card": card, "product": product, "errors": {}, "chosen_sku": first_orderable}
    if request.method != "POST":
        return render(request, "catalog/product_detail.html", context)

    sku = request.POST.get("variant", "")
    quantity = quantity_from_form(request.POST.get("quantity"))
    context.update(chosen_sku=sku, quantity=request.POST.get("quantity", ""))
    chosen = next((option.variant for option in card.options if option.variant.sku == sku), None)
    if chosen is None:
        context["errors"] = {"variant": "Choose one of the options shown."}
        return render(request, "catalog/product_detail.html", context, status=400)
    try:
        add_to_cart(request, sku=sku, quantity=quantity)
    except ShopError as error:
        context["errors"] = {_field_of(error): error.message}
        return render(request, "catalog/product_detail.html", context, status=error.status)
    messages.success(request, f"Added {quantity} × {chosen} to your cart.")
    return redirect("cart:detail")
