"""Shopper pages of the catalog: the product list (all or one category) and a product
with its add-to-cart form (posted to the cart app). Prices are shown in the shopper's
currency."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from moneyed import Money

from catalog import selectors
from catalog.filters import SORTS, parse_listing
from catalog.models import Category, Product, Variant
from catalog.stock import Availability, stock_status
from currencies import rates
from currencies.choice import shopper_currency
from currencies.money import convert_from_base
from shop import fragments

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

    @cached_property
    def digest(self) -> str:
        """A digest of everything the card and the product page show (shop/fragments.py):
        the product, its category, its pictures, each variant with its stock and its
        price in the shopper's currency, all as read by this request."""
        product = self.product
        category = product.category
        return fragments.digest((
            fragments.model_values(product),
            fragments.model_values(category) if category is not None else None,
            *(fragments.model_values(image) for image in product.images.all()),
            *(
                (*fragments.model_values(option.variant, "available", "low_stock_threshold_now"), option.price.amount, str(option.price.currency))
                for option in self.options
            ),
        ))


def product_card(product: Product, currency: str, rate: Decimal) -> ProductCard:
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
    """All products or one category's, searched (?q=), sorted and filtered by the query
    string (catalog.filters); a bad value is named next to its field and left out."""
    category = get_object_or_404(Category, slug=slug) if slug else None
    currency, rate = _currency_and_rate(request)
    parsed = parse_listing(request.GET, currency=currency, rate=rate, category=category)
    found = selectors.search_products(parsed.listing)
    paginator = Paginator(found.products, settings.CATALOG_PAGE_SIZE)
    page = paginator.page(_clamped_page_number(request.GET.get("page"), paginator))
    cards = [product_card(product, currency, rate) for product in page.object_list]
    context: dict[str, Any] = {
        "category": category,
        "page": page,
        "cards": cards,
        "listing": parsed.listing,
        "errors": parsed.errors,
        "fuzzy": found.fuzzy,
        "facets": selectors.facets(found),
        "sorts": SORTS,
        "currency": currency,
        "suggested_categories": selectors.categories().filter(parent__isnull=True) if not cards else [],
    }
    return render(request, "catalog/product_list.html", context)


def _clamped_page_number(text: str | None, paginator: Paginator) -> int:
    """A page past the end shows the last page; zero, a negative number or anything not a
    number shows the first."""
    try:
        number = int(text or 1)
    except ValueError:
        return 1
    return min(max(number, 1), paginator.num_pages)


@require_http_methods(["GET", "HEAD", "POST"])
def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    product = selectors.product_detail(slug)
    if product is None:
        raise Http404("No such product.")
    if request.method == "POST":
        # The add-to-cart form posted here before it posted to the cart: a form still
        # open in a tab goes on to the cart's URL with its method and body (307).
        return HttpResponseRedirect(reverse("cart:add", args=[slug]), status=307)
    return render_product_page(request, product)


def render_product_page(
    request: HttpRequest,
    product: Product,
    *,
    chosen_sku: str | None = None,
    quantity: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The product page; its add-to-cart form posts to the cart (cart.views.add), which
    shows this page again with `errors` next to the fields when it refuses the add."""
    currency, rate = _currency_and_rate(request)
    card = product_card(product, currency, rate)
    if chosen_sku is None:
        chosen_sku = next((option.variant.sku for option in card.options if option.orderable), "")
    context: dict[str, Any] = {
        "card": card, "product": product, "errors": errors or {}, "chosen_sku": chosen_sku, "quantity": quantity,
        # A refused add shows the shopper's own input and messages: rendered, not cached.
        "fragment_key": "" if errors else fragments.digest(("product-page", card.digest, chosen_sku, quantity)),
    }
    return render(request, "catalog/product_detail.html", context, status=status)
