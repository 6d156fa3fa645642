"""Shopper pages of the cart: see it, add to it from a product page, change quantities,
remove lines, and switch the currency. Each action calls one service; a refused action
re-renders the page with the reason and changes nothing. Every amount comes from
cart.pricing.price_cart. (The checkout buttons and the discount code form on the cart page
are checkout's views: they call checkout's services.)"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.utils.translation import gettext

from cart import services
from cart.models import Cart
from cart.pricing import PricedLine, price_cart
from cart.selectors import line_pictures, reservation_is_live
from cart.session import add_to_cart, current_cart, current_cart_id, follow_chosen_currency, quantity_from_form
from catalog import selectors as catalog_selectors
from catalog.models import ProductImage
from catalog.views import render_product_page
from currencies.choice import remember_currency
from inventory.selectors import Availability, availability_of
from shipping import selectors as shipping_selectors
from shop.errors import InsufficientStock, InvalidInput, NotFound, ShopError, UnsupportedCurrency
from shop.redirects import back_url


@dataclass(frozen=True)
class CartRow:
    priced: PricedLine
    available: int
    status: Availability
    error: str | None
    picture: ProductImage | None = None  # the line's thumbnail (cart.selectors.line_pictures)


def render_cart(
    request: HttpRequest,
    *,
    status: int = 200,
    error: str | None = None,
    line_errors: dict[int, str] | None = None,
    discount_error: str | None = None,
    discount_code: str = "",
) -> HttpResponse:
    """The cart page; a refused action shows its reason at the top, next to its line, or
    (`discount_error`, with what was typed) next to the discount code field."""
    cart = current_cart(request)
    line_errors = line_errors or {}
    context: dict[str, Any] = {"cart": cart, "error": error, "discount_error": discount_error, "discount_value": discount_code}
    if cart is not None:
        lines = list(cart.lines.all())
        availability = availability_of([line.variant_id for line in lines])
        pictures = line_pictures(lines)
        totals = price_cart(cart, lines)
        context.update(
            totals=totals,
            in_checkout=cart.status == Cart.Status.CHECKOUT,
            reservation_live=reservation_is_live(cart),
            shipping_method_name=shipping_selectors.method_name(
                (cart.shipping_address or {}).get("country"), cart.shipping_method
            ) if cart.shipping_method else "",
            rows=[
                CartRow(
                    priced, *availability[priced.line.variant_id], line_errors.get(priced.line.pk),
                    picture=pictures.get(priced.line.pk),
                )
                for priced in totals.lines
            ],
        )
    return render(request, "cart/cart_detail.html", context, status=status)


@require_GET
def cart_detail(request: HttpRequest) -> HttpResponse:
    return render_cart(request)


def cart_action(
    request: HttpRequest, action: Callable[[Any], Any], *, success: str, line_id: int | None = None, then: str = "cart:detail"
) -> HttpResponse:
    """Run one cart service on the shopper's cart; on a refusal show the cart page with
    the reason (next to the line when there is one) and the error's status."""
    cart_id = current_cart_id(request)
    try:
        if cart_id is None:
            raise NotFound(gettext("That line is not in your cart.")) if line_id is not None else InvalidInput(gettext("Your cart is empty."))
        action(cart_id)
    except ShopError as error:
        if line_id is not None and isinstance(error, (InvalidInput, InsufficientStock)):
            return render_cart(request, status=error.status, line_errors={line_id: error.message})
        return render_cart(request, status=error.status, error=error.message)
    if success:
        messages.success(request, success)
    return redirect(then)


@require_POST
def update_line(request: HttpRequest, line_id: int) -> HttpResponse:
    quantity = quantity_from_form(request.POST.get("quantity"))
    return cart_action(
        request,
        lambda cart_id: services.set_line_quantity(cart_id=cart_id, line_id=line_id, quantity=quantity),
        success=gettext("Quantity updated."),
        line_id=line_id,
    )


@require_POST
def remove_line(request: HttpRequest, line_id: int) -> HttpResponse:
    return cart_action(
        request,
        lambda cart_id: services.remove_line(cart_id=cart_id, line_id=line_id),
        success=gettext("Item removed from your cart."),
        line_id=line_id,
    )


def _field_of(error: ShopError) -> str:
    """Which product-page field an add-to-cart error belongs next to."""
    if isinstance(error, InsufficientStock) or "quantity" in error.details:
        return "quantity"
    if "sku" in error.details:
        return "variant"
    return "form"


@require_http_methods(["GET", "HEAD", "POST"])
def add(request: HttpRequest, slug: str) -> HttpResponse:
    """The product page's add-to-cart form. A refusal shows the product page again with
    the reason next to the field, and changes nothing. A GET (a link followed from that
    page, such as the currency selector's way back) goes to the product page."""
    product = catalog_selectors.product_detail(slug)
    if product is None:
        raise Http404("No such product.")
    if request.method != "POST":
        return redirect(product.get_absolute_url())
    sku = request.POST.get("variant", "")
    raw_quantity = request.POST.get("quantity", "")
    quantity = quantity_from_form(raw_quantity)
    chosen = next((variant for variant in product.active_variants if variant.sku == sku), None)
    if chosen is None:
        errors = {"variant": gettext("Choose one of the options shown.")}
        return render_product_page(request, product, chosen_sku=sku, quantity=raw_quantity, errors=errors, status=400)
    try:
        add_to_cart(request, sku=sku, quantity=quantity)
    except ShopError as error:
        errors = {_field_of(error): error.message}
        return render_product_page(request, product, chosen_sku=sku, quantity=raw_quantity, errors=errors, status=error.status)
    messages.success(request, gettext("Added %(quantity)s × %(item)s to your cart.") % {"quantity": quantity, "item": chosen})
    return redirect("cart:detail")


@require_POST
def set_currency(request: HttpRequest) -> HttpResponse:
    """The currency selector's form (CSRF-protected POST): remember the choice, let the
    open cart follow it unless its checkout fixed the quote, and go back to the page."""
    try:
        code = remember_currency(request, request.POST.get("currency"))
    except UnsupportedCurrency as error:
        messages.error(request, error.message)
        return redirect(back_url(request))
    fixed_currency = follow_chosen_currency(request, code)
    if fixed_currency is not None:
        messages.info(
            request,
            gettext(
                "Prices now show in %(currency)s. Your checkout stays in %(fixed)s; cancel the checkout to pay in another currency."
            ) % {"currency": code, "fixed": fixed_currency},
        )
    return redirect(back_url(request))
