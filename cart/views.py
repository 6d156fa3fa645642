"""Shopper pages of the cart: see it, change quantities, remove lines, start or cancel
checkout. Each action calls one cart service; a refused action re-renders the cart page
with the reason and changes nothing. Every amount comes from cart.pricing.price_cart."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from cart import services
from cart.models import Cart
from cart.pricing import PricedLine, price_cart
from cart.session import current_cart, current_cart_id, quantity_from_form
from inventory.selectors import Availability, availability_of
from shop.errors import InsufficientStock, InvalidInput, NotFound, ShopError

CHECKOUT_PATH = "/checkout/"


@dataclass(frozen=True)
class CartRow:
    priced: PricedLine
    available: int
    status: Availability
    error: str | None


def _render_cart(
    request: HttpRequest, *, status: int = 200, error: str | None = None, line_errors: dict[int, str] | None = None
) -> HttpResponse:
    cart = current_cart(request)
    line_errors = line_errors or {}
    context: dict[str, Any] = {"cart": cart, "error": error}
    if cart is not None:
        lines = list(cart.lines.all())
        availability = availability_of([line.variant_id for line in lines])
        totals = price_cart(cart, lines)
        context.update(
            totals=totals,
            in_checkout=cart.status == Cart.Status.CHECKOUT,
            reservation_live=bool(cart.reservation_expires_at and cart.reservation_expires_at > timezone.now()),
            rows=[
                CartRow(priced, *availability[priced.line.variant_id], line_errors.get(priced.line.pk))
                for priced in totals.lines
            ],
        )
    return render(request, "cart/cart_detail.html", context, status=status)


@require_GET
def cart_detail(request: HttpRequest) -> HttpResponse:
    return _render_cart(request)


def _cart_action(
    request: HttpRequest, action: Callable[[Any], Any], *, success: str, line_id: int | None = None, then: str = "cart:detail"
) -> HttpResponse:
    """Run one cart service on the shopper's cart; on a refusal show the cart page with
    the reason (next to the line when there is one) and the error's status."""
    cart_id = current_cart_id(request)
    try:
        if cart_id is None:
            raise NotFound("That line is not in your cart.") if line_id is not None else InvalidInput("Your cart is empty.")
        action(cart_id)
    except ShopError as error:
        if line_id is not None and isinstance(error, (InvalidInput, InsufficientStock)):
            return _render_cart(request, status=error.status, line_errors={line_id: error.message})
        return _render_cart(request, status=error.status, error=error.message)
    if success:
        messages.success(request, success)
    return redirect(then)


@require_POST
def update_line(request: HttpRequest, line_id: int) -> HttpResponse:
    quantity = quantity_from_form(request.POST.get("quantity"))
    return _cart_action(
        request,
        lambda cart_id: services.set_line_quantity(cart_id=cart_id, line_id=line_id, quantity=quantity),
        success="Quantity updated.",
        line_id=line_id,
    )


@require_POST
def remove_line(request: HttpRequest, line_id: int) -> HttpResponse:
    return _cart_action(
        request,
        lambda cart_id: services.remove_line(cart_id=cart_id, line_id=line_id),
        success="Item removed from your cart.",
        line_id=line_id,
    )


@require_POST
def checkout_start(request: HttpRequest) -> HttpResponse:
    return _cart_action(
        request, lambda cart_id: services.start_checkout(cart_id=cart_id), success="", then=CHECKOUT_PATH
    )


@require_POST
def checkout_cancel(request: HttpRequest) -> HttpResponse:
    return _cart_action(
        request,
        lambda cart_id: services.cancel_checkout(cart_id=cart_id),
        success="Checkout cancelled; your items are no longer reserved.",
    )
