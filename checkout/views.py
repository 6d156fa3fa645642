"""The checkout pages: contact and address -> shipping method -> payment -> confirmation.

Each view finds the shopper's cart, calls one service and renders. Reserving, checking
addresses, extending the reservation and paying are rules of checkout.services,
checkout.payment and the apps below; which page may open when is checkout.flow. The cart
page's own checkout buttons (/cart/checkout/, /cart/checkout/cancel/) are here too.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django_countries import countries as all_countries

from cart.models import Cart
from cart.pricing import price_cart
from cart.selectors import reservation_is_live
from cart.session import current_cart, current_cart_id
from cart.validation import ADDRESS_FIELDS
from cart.views import cart_action, render_cart
from checkout import cancellation, confirmation, services
from checkout import flow
from checkout.selectors import cart_with_order
from orders import selectors as order_selectors
from orders.selectors import guest_link
from orders.selectors import order_totals
from payments.selectors import payments_are_emulated, payments_in_test_mode
from payments.setup_intents import create_setup_intent, rate_limited_response
from shipping import selectors as shipping_selectors
from shop.api_errors import shop_error_json
from shop.errors import (
    CartNotActive,
    CartNotInCheckout,
    InsufficientStock,
    InvalidInput,
    NotFound,
    PaymentInProgress,
    ReservationExpired,
    ShopError,
)

# The cart whose checkout this browser went through, kept after the cart is completed
# (cart.session forgets completed carts) so the confirmation page can find its order.
CHECKOUT_SESSION_KEY = "checkout_cart_id"
# Since when the confirmation page has waited for the same payment state of the cart.
PAYMENT_WAIT_SESSION_KEY = "checkout_payment_wait"

STEP_URL_NAMES = {
    flow.ADDRESS: "checkout:address",
    flow.SHIPPING: "checkout:shipping",
    flow.PAYMENT: "checkout:payment",
    flow.CONFIRMATION: "checkout:complete",
}

ADDRESS_LABELS = {
    "name": "Full name",
    "line1": "Address",
    "line2": "Apartment, suite, etc. (optional)",
    "city": "City",
    "region": "State, province or region (optional)",
    "postal_code": "Postal code",
    "country": "Country",
}
ADDRESS_AUTOCOMPLETE = {
    "name": "name",
    "line1": "address-line1",
    "line2": "address-line2",
    "city": "address-level2",
    "region": "address-level1",
    "postal_code": "postal-code",
    "country": "country",
}
DEFAULT_COUNTRY = "US"


# --- shared pieces -------------------------------------------------------------------


def _progress(cart: Cart, current: str) -> list[dict[str, Any]]:
    """The progress indicator: earlier steps done, the current one marked, and every
    step the shopper may go back (or on) to a link. A finished order links nowhere."""
    current_index = flow.STEPS.index(current)
    editable = cart.status == Cart.Status.CHECKOUT
    return [
        {
            "number": number,
            "title": flow.STEP_TITLES[step],
            "url": reverse(STEP_URL_NAMES[step]),
            "current": step == current,
            "done": number - 1 < current_index or cart.status == Cart.Status.COMPLETED,
            "linked": editable and step not in (current, flow.CONFIRMATION) and flow.may_open(cart, step),
        }
        for number, step in enumerate(flow.STEPS, start=1)
    ]


def _page(request: HttpRequest, template: str, cart: Cart, step: str, context: dict[str, Any] | None = None, *, status: int = 200) -> HttpResponse:
    lines = list(cart.lines.all())
    expires_at = cart.reservation_expires_at if cart.status == Cart.Status.CHECKOUT else None
    seconds_left = max(0, int((expires_at - timezone.now()).total_seconds())) if expires_at else 0
    base = {
        "cart": cart,
        "totals": price_cart(cart, lines),
        "shipping_method_name": shipping_selectors.method_name(
            (cart.shipping_address or {}).get("country"), cart.shipping_method
        ) if cart.shipping_method else "",
        "step": step,
        "progress": _progress(cart, step),
        "expires_at": expires_at,
        "seconds_left": seconds_left,
        "time_left": f"{seconds_left // 60}:{seconds_left % 60:02d}",
        "test_mode": payments_in_test_mode(),
        "emulated": payments_are_emulated(),
    }
    base.update(context or {})
    return render(request, template, base, status=status)


def _problem(request: HttpRequest, error: ShopError, *, cart: Cart | None) -> HttpResponse:
    """Stock gone or reservation expired: say so, with the way back to the cart."""
    return render(
        request,
        "checkout/problem.html",
        {
            "error": error,
            "expired": isinstance(error, ReservationExpired),
            "items": getattr(error, "items", []),
            "cart": cart,
            "test_mode": payments_in_test_mode(),
            "emulated": payments_are_emulated(),
        },
        status=error.status,
    )


def _open_step(request: HttpRequest, step: str) -> tuple[Cart | None, HttpResponse | None]:
    """The shopper's cart, in checkout, with a live reservation extended if needed and
    allowed to open `step`; otherwise the response that takes them where they belong."""
    cart = current_cart(request)
    if cart is None:
        finished = _finished_cart(request)
        if finished is not None and finished.status == Cart.Status.COMPLETED:
            return None, redirect("checkout:complete")
        messages.info(request, "Your cart is empty.")
        return None, redirect("cart:detail")
    if cart.status == Cart.Status.ACTIVE:
        return None, redirect("checkout:start")
    request.session[CHECKOUT_SESSION_KEY] = str(cart.pk)
    try:
        resumed = services.resume_checkout(cart_id=cart.pk)
    except ReservationExpired as error:
        return None, _problem(request, error, cart=cart)
    except CartNotInCheckout:
        return None, redirect("cart:detail")
    cart.reservation_expires_at = resumed.reservation_expires_at
    if not flow.may_open(cart, step):
        return None, redirect(STEP_URL_NAMES[flow.furthest_step(cart)])
    return cart, None


def _finished_cart(request: HttpRequest) -> Cart | None:
    cart_id = request.session.get(CHECKOUT_SESSION_KEY)
    if not cart_id:
        return None
    try:
        return cart_with_order(cart_id)
    except NotFound:
        return None


# --- start and cancel ----------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """/checkout/: reserve the cart (or re-reserve an expired checkout) and go to the
    step the shopper is on."""
    cart = current_cart(request)
    if cart is None:
        finished = _finished_cart(request)
        if finished is not None and finished.status == Cart.Status.COMPLETED:
            return redirect("checkout:complete")
        messages.info(request, "Your cart is empty.")
        return redirect("cart:detail")
    expired = cart.status == Cart.Status.CHECKOUT and not reservation_is_live(cart)
    # Opening /checkout/ again mid-checkout only finds the step; re-reserving an expired
    # checkout is the shopper's explicit choice (a POST from the expired page).
    if cart.status == Cart.Status.ACTIVE or (expired and request.method == "POST"):
        try:
            cart = services.start_checkout(cart_id=cart.pk)
        except InsufficientStock as error:
            return _problem(request, error, cart=cart)
        except (InvalidInput, CartNotActive) as error:
            messages.error(request, error.message)
            return redirect("cart:detail")
    request.session[CHECKOUT_SESSION_KEY] = str(cart.pk)
    return redirect(STEP_URL_NAMES[flow.furthest_step(cart)])


@require_POST
def cancel(request: HttpRequest) -> HttpResponse:
    """Back to the cart: the checkout ends and its reservation is released."""
    cart = current_cart(request)
    if cart is not None and cart.status == Cart.Status.CHECKOUT:
        try:
            services.cancel_checkout(cart_id=cart.pk)
        except CartNotInCheckout:
            pass
        except PaymentInProgress as error:  # a payment of this cart is being confirmed right now
            messages.error(request, error.message)
            return redirect("checkout:payment")
    return redirect("cart:detail")


# --- step 1: contact and address -----------------------------------------------------


def _address_from_form(data, prefix: str) -> dict[str, str]:
    return {field: data.get(f"{prefix}-{field}", "").strip() for field in ADDRESS_FIELDS}


def _address_fields(
    prefix: str,
    values: dict[str, Any] | None,
    errors: dict[str, list[str]],
    error_prefix: str,
    countries: list[tuple[str, str]],
) -> list[dict[str, Any]]:
    codes = {code for code, _ in countries}
    default_country = DEFAULT_COUNTRY if DEFAULT_COUNTRY in codes else (next(iter(codes)) if len(codes) == 1 else "")
    values = {**(values or {})}
    values["country"] = values.get("country") or default_country
    return [
        {
            "name": f"{prefix}-{field}",
            "id": f"id_{prefix}_{field}",
            "key": field,
            "label": ADDRESS_LABELS[field],
            "value": values.get(field) or "",
            # A country not in the list (one the shop does not ship to): the list asks
            # for a choice instead of showing another country as chosen.
            "offered": field != "country" or values["country"] in codes,
            "errors": errors.get(f"{error_prefix}.{field}", []),
            "required": field not in ("line2", "region"),
            "autocomplete": f"{'billing' if prefix == 'billing' else 'shipping'} {ADDRESS_AUTOCOMPLETE[field]}",
        }
        for field in ADDRESS_FIELDS
    ]


def _address_context(email: str, shipping: dict | None, billing: dict | None, billing_same: bool, errors: dict[str, list[str]]) -> dict[str, Any]:
    """The address step's fields: the shipping address offers the countries the shop
    ships to; the billing address any country."""
    shipping_countries = shipping_selectors.shippable_countries()
    billing_countries = [(country.code, country.name) for country in all_countries]
    return {
        "email": email,
        "email_errors": errors.get("email", []),
        "shipping_fields": _address_fields("shipping", shipping, errors, "shipping_address", shipping_countries),
        "shipping_errors": errors.get("shipping_address", []),
        "shipping_countries": shipping_countries,
        "billing_fields": _address_fields("billing", billing, errors, "billing_address", billing_countries),
        "billing_errors": errors.get("billing_address", []),
        "billing_countries": billing_countries,
        "billing_same": billing_same,
        "errors": errors,
    }


@require_http_methods(["GET", "HEAD", "POST"])
def address(request: HttpRequest) -> HttpResponse:
    cart, response = _open_step(request, flow.ADDRESS)
    if response is not None:
        return response
    if request.method != "POST":
        context = _address_context(
            cart.email or (request.user.email if request.user.is_authenticated else ""),
            cart.shipping_address,
            cart.billing_address,
            cart.billing_address is None,
            {},
        )
        return _page(request, "checkout/address.html", cart, flow.ADDRESS, context)

    email = request.POST.get("email", "").strip()
    shipping = _address_from_form(request.POST, "shipping")
    billing_same = request.POST.get("billing_same") == "on"
    billing = _address_from_form(request.POST, "billing")
    try:
        services.update_checkout(
            cart_id=cart.pk,
            email=email,
            shipping_address=shipping,
            billing_address=None if billing_same else billing,
        )
    except InvalidInput as error:
        context = _address_context(email, shipping, billing, billing_same, error.details)
        context["form_error"] = "Please correct the fields marked below."
        return _page(request, "checkout/address.html", cart, flow.ADDRESS, context, status=400)
    except ReservationExpired as error:
        return _problem(request, error, cart=cart)
    except CartNotInCheckout:  # cancelled or paid in another tab meanwhile
        return redirect("checkout:start")
    return redirect("checkout:shipping")


# --- step 2: shipping method ---------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def shipping(request: HttpRequest) -> HttpResponse:
    cart, response = _open_step(request, flow.SHIPPING)
    if response is not None:
        return response
    options = flow.shipping_options(cart)
    if request.method != "POST":
        chosen = cart.shipping_method or (options[0].code if len(options) == 1 else "")
        return _page(request, "checkout/shipping.html", cart, flow.SHIPPING, {"options": options, "chosen": chosen})

    chosen = request.POST.get("shipping_method", "")
    try:
        services.update_checkout(cart_id=cart.pk, shipping_method=chosen)
    except InvalidInput as error:
        context = {
            "options": options,
            "chosen": chosen,
            "method_errors": ["Choose a shipping method."] if not chosen else error.details.get("shipping_method", [error.message]),
        }
        return _page(request, "checkout/shipping.html", cart, flow.SHIPPING, context, status=400)
    except ReservationExpired as error:
        return _problem(request, error, cart=cart)
    except CartNotInCheckout:  # cancelled or paid in another tab meanwhile
        return redirect("checkout:start")
    return redirect("checkout:payment")


# --- step 3: payment -----------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def payment(request: HttpRequest) -> HttpResponse:
    cart, response = _open_step(request, flow.PAYMENT)
    if response is not None:
        return response
    return _payment_page(request, cart)


def _payment_page(request: HttpRequest, cart: Cart, *, status: int = 200, discount_error: str | None = None, discount_code: str = "") -> HttpResponse:
    context = {
        "stripe_js_url": getattr(settings, "STRIPE_JS_URL", "https://js.stripe.com/v3/"),
        "publishable_key": getattr(settings, "STRIPE_PUBLISHABLE_KEY", ""),
        # The payment API's path is fixed by docs/api.md.
        "payment_api_url": f"/api/v1/carts/{cart.pk}/payment/",
        "cart_api_url": reverse("api:cart-detail", args=[cart.pk]),
        "setup_intent_url": reverse("checkout:setup_intent"),
        "complete_url": reverse("checkout:complete"),
        "discount_error": discount_error,
        "discount_value": discount_code,
    }
    return _page(request, "checkout/payment.html", cart, flow.PAYMENT, context, status=status)


@require_POST
def setup_intent(request: HttpRequest) -> JsonResponse:
    """A fresh SetupIntent for the payment step: Stripe.js collects the card into it and
    the page sends the resulting PaymentMethod to the payment API."""
    if (limited := rate_limited_response(request)) is not None:
        return limited
    cart = current_cart(request)
    if cart is None or cart.status != Cart.Status.CHECKOUT:
        return shop_error_json(CartNotInCheckout())
    try:
        client_secret = create_setup_intent(cart_id=cart.pk)
    except ShopError as error:
        return shop_error_json(error)
    return JsonResponse({"client_secret": client_secret})


# --- the discount code, on the payment step and the cart page ------------------------

ENTER_A_CODE = "Enter a discount code."


def _typed_code(request: HttpRequest) -> str:
    return request.POST.get("code", "")


def _refusal(error: ShopError) -> str:
    """What the field says when a code is refused: the reason, in the shopper's words."""
    if isinstance(error, InvalidInput):
        return next(iter(error.details.get("discount_code", [])), error.message)
    return error.message


@require_POST
def apply_discount(request: HttpRequest) -> HttpResponse:
    """The payment step's discount code form: apply the code and come back to the step
    (its total, and so the Pay button, now with the discount); a code that does not apply
    is explained next to the field and changes nothing."""
    return _set_discount_in_checkout(request, _typed_code(request), removing=False)


@require_POST
def remove_discount(request: HttpRequest) -> HttpResponse:
    return _set_discount_in_checkout(request, "", removing=True)


def _set_discount_in_checkout(request: HttpRequest, typed: str, *, removing: bool) -> HttpResponse:
    cart, response = _open_step(request, flow.PAYMENT)
    if response is not None:
        return response
    if not removing and not typed.strip():
        return _payment_page(request, cart, status=400, discount_error=ENTER_A_CODE)
    try:
        cart = services.set_discount_code(cart_id=cart.pk, code=typed)
    except ReservationExpired as error:
        return _problem(request, error, cart=cart)
    except (CartNotActive, CartNotInCheckout):  # paid or cancelled in another tab meanwhile
        return redirect("checkout:start")
    except ShopError as error:
        return _payment_page(request, cart, status=error.status, discount_error=_refusal(error), discount_code=typed)
    messages.success(request, "Discount code removed." if removing else f"Discount code {cart.discount_code} applied.")
    return redirect("checkout:payment")


@require_POST
def apply_discount_from_cart(request: HttpRequest) -> HttpResponse:
    """The cart page's discount code form (the cart in checkout too): apply the code; a
    code that does not apply is explained next to the field and changes nothing."""
    return _set_discount_from_cart(request, _typed_code(request), removing=False)


@require_POST
def remove_discount_from_cart(request: HttpRequest) -> HttpResponse:
    return _set_discount_from_cart(request, "", removing=True)


def _set_discount_from_cart(request: HttpRequest, typed: str, *, removing: bool) -> HttpResponse:
    cart_id = current_cart_id(request)
    if cart_id is None:
        return render_cart(request, status=400, error="Your cart is empty.")
    if not removing and not typed.strip():
        return render_cart(request, status=400, discount_error=ENTER_A_CODE)
    try:
        cart = services.set_discount_code(cart_id=cart_id, code=typed)
    except ShopError as error:
        return render_cart(request, status=error.status, discount_error=_refusal(error), discount_code=typed)
    messages.success(request, "Discount code removed." if removing else f"Discount code {cart.discount_code} applied.")
    return redirect("cart:detail")


# --- step 4: confirmation ------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def complete(request: HttpRequest) -> HttpResponse:
    cart = _finished_cart(request)
    if cart is None:
        return redirect("checkout:start")
    if cart.status == Cart.Status.COMPLETED:
        order = getattr(cart, "order", None)
        if order is not None:
            context = {
                "order": order,
                "order_lines": list(order.lines.all()),
                "order_totals": order_totals(order),
                "order_url": _order_page_url(order),
                # Paid after the reservation lapsed with no stock left: refunded, not placed.
                "unsupplied": confirmation.unsupplied_order_refund(order),
            }
            return _page(request, "checkout/complete.html", cart, flow.CONFIRMATION, context)
    if cart.status == Cart.Status.CHECKOUT:
        # Paid but not yet confirmed (3-D Secure finished, the webhook on its way): the
        # page refreshes itself until the order exists, for a while; a payment that never
        # came is said to be missing instead of waited for.
        progress = confirmation.payment_progress(cart_id=cart.pk)
        waited = _waited_for(request, cart, progress.key)
        keep_waiting = progress.worth_waiting_for and waited < confirmation.PAYMENT_WAIT_LIMIT
        context = {
            "payment": progress,
            "refresh_seconds": confirmation.PAYMENT_WAIT_REFRESH_SECONDS if keep_waiting else None,
        }
        return _page(request, "checkout/processing.html", cart, flow.CONFIRMATION, context)
    return redirect("checkout:start")


def _waited_for(request: HttpRequest, cart: Cart, payment_key: str) -> timedelta:
    """How long this browser has been shown the same payment state of this cart; a new
    attempt or a new status starts the wait again."""
    now = timezone.now()
    seen = request.session.get(PAYMENT_WAIT_SESSION_KEY)
    try:
        if seen["cart"] == str(cart.pk) and seen["payment"] == payment_key:
            return max(now - datetime.fromisoformat(seen["since"]), timedelta(0))
    except (KeyError, TypeError, ValueError):
        pass  # nothing (or something unreadable) stored: the wait starts now
    request.session[PAYMENT_WAIT_SESSION_KEY] = {"cart": str(cart.pk), "payment": payment_key, "since": now.isoformat()}
    return timedelta(0)


def _order_page_url(order) -> str:
    return guest_link(order)


# --- the cart page's checkout buttons ------------------------------------------------

CHECKOUT_PATH = "/checkout/"


@require_POST
def start_from_cart(request: HttpRequest) -> HttpResponse:
    """The cart page's "Checkout" button: reserve, then the checkout's first step; a
    refusal shows the cart page with the reason."""
    return cart_action(
        request, lambda cart_id: services.start_checkout(cart_id=cart_id), success="", then=CHECKOUT_PATH
    )


@require_POST
def cancel_from_cart(request: HttpRequest) -> HttpResponse:
    """The cart page's "Cancel checkout" button."""
    return cart_action(
        request,
        lambda cart_id: services.cancel_checkout(cart_id=cart_id),
        success="Checkout cancelled; your items are no longer reserved.",
    )


# --- the order page's cancel button ---------------------------------------------------


@require_POST
def cancel_order(request: HttpRequest, number: str) -> HttpResponse:
    """The shopper cancels their order from its page (signed in, or with the guest link's
    token). Anyone else gets 404, as for an order that does not exist."""
    user_id = request.user.pk if request.user.is_authenticated else None
    token = request.POST.get("token") or None
    order = order_selectors.order_for_viewer(number=number, user_id=user_id, token=token)
    if order is None:
        raise Http404("No such order.")
    page = reverse("orders:detail", args=[number]) + (f"?token={token}" if token else "")
    try:
        cancellation.cancel_order(order_id=order.pk, by_customer=True, actor_id=user_id)
    except ShopError as error:
        messages.error(request, error.message)
        return redirect(page)
    messages.success(request, f"Order {number} is cancelled. Your payment is on its way back to your card; we have sent you an email.")
    return redirect(page)
