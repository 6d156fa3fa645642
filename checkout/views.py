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
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_countries import countries as all_countries

from addresses import forms as address_forms
from addresses import selectors as address_selectors
from addresses import services as address_services
from addresses.formatting import address_lines, country_name
from cart.models import Cart
from cart.pricing import price_cart
from cart.selectors import reservation_is_live
from cart.session import current_cart, current_cart_id
from cart.views import cart_action, render_cart
from checkout import cancellation, confirmation, services
from checkout import flow
from checkout.selectors import cart_with_order
from orders import selectors as order_selectors
from orders.selectors import guest_link
from orders.selectors import order_totals
from payments.selectors import payments_are_emulated, payments_in_test_mode
from payments import customers
from shipping import selectors as shipping_selectors
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
from shop.client_ip import client_key
from shop.ratelimits import RateLimited, too_many_requests

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
        messages.info(request, gettext("Your cart is empty."))
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
        messages.info(request, gettext("Your cart is empty."))
        return redirect("cart:detail")
    expired = cart.status == Cart.Status.CHECKOUT and not reservation_is_live(cart)
    # Opening /checkout/ again mid-checkout only finds the step; re-reserving an expired
    # checkout is the shopper's explicit choice (a POST from the expired page).
    if cart.status == Cart.Status.ACTIVE or (expired and request.method == "POST"):
        try:
            cart = services.start_checkout(cart_id=cart.pk, client=client_key(request))
        except InsufficientStock as error:
            return _problem(request, error, cart=cart)
        except RateLimited as error:
            return too_many_requests(request, error.retry_after)
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
    return address_forms.address_from_post(data, prefix)


def _default_country(codes: set[str]) -> str:
    return DEFAULT_COUNTRY if DEFAULT_COUNTRY in codes else (next(iter(codes)) if len(codes) == 1 else "")


def _address_fields(
    prefix: str,
    values: dict[str, Any] | None,
    errors: dict[str, list[str]],
    error_prefix: str,
    countries: list[tuple[str, str]],
    default_country: str = "",
) -> address_forms.AddressForm:
    """The address form of the values' country (addresses.forms): its fields, labels,
    required marks, region choices and postal-code hint, and the errors next to them."""
    codes = {code for code, _ in countries}
    return address_forms.address_form(
        prefix=prefix,
        values=values,
        errors=errors,
        error_prefix=error_prefix,
        countries=countries,
        default_country=default_country or _default_country(codes),
        section=prefix,
    )


SAVED_SHIPPING_FIELD = "saved_address"
SAVED_BILLING_FIELD = "saved_billing_address"
NEW_ADDRESS = "new"


def _saved_addresses(book: list, kind: str, shippable: set[str] | None) -> list[dict[str, Any]]:
    """A signed-in shopper's address book as the address step offers it for `kind`
    ("shipping" or "billing"): each address written out, its default mark, and whether
    it may be chosen (the shop ships there; any country for billing)."""
    return [
        {
            "id": str(saved.pk),
            "lines": address_lines(saved.as_address()),
            "address": saved.as_address(),
            "is_default": saved.is_default_shipping if kind == address_selectors.SHIPPING else saved.is_default_billing,
            "available": shippable is None or saved.country in shippable,
            "country_name": country_name(saved.country),
        }
        for saved in book
    ]


def _preselected(saved: list[dict[str, Any]], cart_address: dict | None) -> str:
    """Which saved address the step starts on: the cart's own if it is one of them, else
    the default (when it may be chosen); "new" when the cart's address is another."""
    if not saved:
        return ""
    if cart_address:
        return next((entry["id"] for entry in saved if entry["address"] == cart_address), NEW_ADDRESS)
    return next((entry["id"] for entry in saved if entry["is_default"] and entry["available"]), NEW_ADDRESS)


def _saved_errors(errors: dict[str, list[str]], choice_field: str, address_field: str, using_saved: bool) -> list[str]:
    """The problems of a chosen saved address (one of another customer's, or in a
    country the shop no longer ships to): shown by the list, not by the new-address fields."""
    return [
        message
        for key, messages in errors.items()
        if key == choice_field or (using_saved and (key == address_field or key.startswith(f"{address_field}.")))
        for message in messages
    ]


def _address_context(
    request: HttpRequest,
    *,
    email: str,
    shipping: dict | None,
    billing: dict | None,
    billing_same: bool,
    errors: dict[str, list[str]],
    saved_choice: str | None = None,
    billing_choice: str | None = None,
    save_address: bool = False,
    cart_shipping: dict | None = None,
    cart_billing: dict | None = None,
) -> dict[str, Any]:
    """The address step's fields: the shipping address offers the countries the shop
    ships to, the billing address any country, and both a signed-in shopper's saved
    addresses (None choices: start on the cart's address, else the default)."""
    shipping_countries = shipping_selectors.shippable_countries()
    shippable = {code for code, _ in shipping_countries}
    billing_countries = [(country.code, country.name) for country in all_countries]
    book = address_selectors.addresses_of(user_id=request.user.pk) if request.user.is_authenticated else []
    saved_shipping = _saved_addresses(book, address_selectors.SHIPPING, shippable)
    saved_billing = _saved_addresses(book, address_selectors.BILLING, None)
    saved_choice = _preselected(saved_shipping, cart_shipping) if saved_choice is None else saved_choice
    billing_choice = _preselected(saved_billing, cart_billing) if billing_choice is None else billing_choice
    using_saved = bool(saved_shipping) and saved_choice not in ("", NEW_ADDRESS)
    using_saved_billing = bool(saved_billing) and billing_choice not in ("", NEW_ADDRESS)
    # A chosen saved address is not also typed into the new-address fields.
    chosen = {entry["id"]: entry["address"] for entry in saved_billing}
    if using_saved and shipping == chosen.get(saved_choice):
        shipping = None
    if using_saved_billing and billing == chosen.get(billing_choice):
        billing = None
    shipping_default = _default_country(shippable)
    shipping_form = _address_fields("shipping", shipping, errors, "shipping_address", shipping_countries, shipping_default)
    billing_default = (shipping or {}).get("country") or shipping_default or DEFAULT_COUNTRY
    billing_form = _address_fields("billing", billing, errors, "billing_address", billing_countries, billing_default)
    return {
        "email": email,
        "email_errors": errors.get("email", []),
        "shipping_form": shipping_form,
        "shipping_errors": [] if using_saved else errors.get("shipping_address", []),
        "billing_form": billing_form,
        "billing_errors": [] if using_saved_billing else errors.get("billing_address", []),
        "billing_same": billing_same,
        "saved_shipping": saved_shipping,
        "saved_choice": saved_choice,
        "saved_errors": _saved_errors(errors, SAVED_SHIPPING_FIELD, "shipping_address", using_saved),
        "saved_billing": saved_billing,
        "billing_choice": billing_choice,
        "billing_saved_errors": _saved_errors(errors, SAVED_BILLING_FIELD, "billing_address", using_saved_billing),
        "can_save_address": request.user.is_authenticated,
        "save_address": save_address,
        "errors": errors,
    }


def _address_step_get(request: HttpRequest, cart: Cart) -> dict[str, Any]:
    """The step as it opens: the cart's details, else a signed-in shopper's defaults."""
    signed_in = request.user.is_authenticated
    billing_same = cart.billing_address is None
    if signed_in and cart.shipping_address is None and cart.billing_address is None:
        # A customer whose default billing address is not their default shipping one
        # starts with it chosen.
        default_billing = address_selectors.default_address(user_id=request.user.pk, kind=address_selectors.BILLING)
        default_shipping = address_selectors.default_address(user_id=request.user.pk, kind=address_selectors.SHIPPING)
        if default_billing is not None and (default_shipping is None or default_billing.pk != default_shipping.pk):
            billing_same = False
    return _address_context(
        request,
        email=cart.email or (request.user.email if signed_in else ""),
        shipping=cart.shipping_address,
        billing=cart.billing_address,
        billing_same=billing_same,
        errors={},
        cart_shipping=cart.shipping_address,
        cart_billing=cart.billing_address,
    )


def _chosen_saved_address(request: HttpRequest, choice: str, *, field: str) -> dict[str, str] | None:
    """The saved address the shopper chose (their own only), or None for a new one."""
    if not request.user.is_authenticated or choice in ("", NEW_ADDRESS):
        return None
    try:
        return address_selectors.address_of(user_id=request.user.pk, address_id=choice).as_address()
    except NotFound:
        raise InvalidInput(
            gettext("Choose one of your saved addresses or enter a new one."),
            details={field: [gettext("Choose one of your saved addresses or enter a new one.")]},
        ) from None


@require_http_methods(["GET", "HEAD", "POST"])
def address(request: HttpRequest) -> HttpResponse:
    cart, response = _open_step(request, flow.ADDRESS)
    if response is not None:
        return response
    if request.method != "POST":
        return _page(request, "checkout/address.html", cart, flow.ADDRESS, _address_step_get(request, cart))

    email = request.POST.get("email", "").strip()
    shipping = _address_from_form(request.POST, "shipping")
    billing_same = request.POST.get("billing_same") == "on"
    billing = _address_from_form(request.POST, "billing")
    signed_in = request.user.is_authenticated
    saved_choice = request.POST.get(SAVED_SHIPPING_FIELD, "") if signed_in else ""
    billing_choice = request.POST.get(SAVED_BILLING_FIELD, "") if signed_in else ""
    save_address = signed_in and request.POST.get("save_address") == "on"
    state = {
        "email": email, "shipping": shipping, "billing": billing, "billing_same": billing_same,
        "saved_choice": saved_choice, "billing_choice": billing_choice, "save_address": save_address,
    }
    typing_new = saved_choice in ("", NEW_ADDRESS)
    typing_new_billing = not billing_same and billing_choice in ("", NEW_ADDRESS)
    # The country changed since the fields were laid out (or "Update" was pressed): show
    # that country's fields again, keeping what was typed, rather than judge these.
    if (typing_new and address_forms.country_changed(request.POST, "shipping")) or (
        typing_new_billing and address_forms.country_changed(request.POST, "billing")
    ):
        context = _address_context(request, errors={}, **state)
        context["form_notice"] = gettext("The address fields now follow the chosen country. Check them, then continue.")
        return _page(request, "checkout/address.html", cart, flow.ADDRESS, context)
    try:
        chosen = _chosen_saved_address(request, saved_choice, field=SAVED_SHIPPING_FIELD)
        chosen_billing = None if billing_same else _chosen_saved_address(request, billing_choice, field=SAVED_BILLING_FIELD)
        updated = services.update_checkout(
            cart_id=cart.pk,
            email=email,
            shipping_address=chosen if chosen is not None else shipping,
            billing_address=None if billing_same else (chosen_billing if chosen_billing is not None else billing),
        )
    except InvalidInput as error:
        context = _address_context(request, errors=error.details, **state)
        context["form_error"] = gettext("Please correct the fields marked below.")
        return _page(request, "checkout/address.html", cart, flow.ADDRESS, context, status=400)
    except ReservationExpired as error:
        return _problem(request, error, cart=cart)
    except CartNotInCheckout:  # cancelled or paid in another tab meanwhile
        return redirect("checkout:start")
    if save_address and chosen is None:
        # After the checkout accepted it: the address book stores the same normalized address.
        try:
            address_services.save_checkout_address(user_id=request.user.pk, address=updated.shipping_address)
        except InvalidInput as error:  # a full address book does not stop the checkout
            messages.warning(request, error.message)
        else:
            messages.success(request, gettext("The address is saved in your address book."))
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
            "method_errors": [gettext("A shipping method is required: choose one below.")] if not chosen else error.details.get("shipping_method", [error.message]),
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
        "complete_url": reverse("checkout:complete"),
        "discount_error": discount_error,
        "discount_value": discount_code,
        **_saved_cards_context(request),
    }
    return _page(request, "checkout/payment.html", cart, flow.PAYMENT, context, status=status)


def _saved_cards_context(request: HttpRequest) -> dict[str, Any]:
    """A signed-in shopper's saved cards, offered above the new-card field (the first one
    that has not expired chosen), and the box to save the new card. Stripe being away
    only hides the saved cards; paying with it away fails with its own message."""
    if not request.user.is_authenticated:
        return {"can_save_card": False, "saved_cards": [], "chosen_card": ""}
    try:
        cards = customers.saved_cards(user_id=request.user.pk)
        unavailable = False
    except ShopError:  # PaymentProviderUnavailable
        cards, unavailable = [], True
    usable = [card for card in cards if not card.has_expired()]
    return {
        "can_save_card": True,
        "saved_cards": cards,
        "saved_cards_unavailable": unavailable,
        "chosen_card": usable[0].payment_method_id if usable else "",
    }


# --- the discount code, on the payment step and the cart page ------------------------

ENTER_A_CODE = gettext_lazy("Enter a discount code.")


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
    messages.success(request, gettext("Discount code removed.") if removing else gettext("Discount code %(code)s applied.") % {"code": cart.discount_code})
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
        return render_cart(request, status=400, error=gettext("Your cart is empty."))
    if not removing and not typed.strip():
        return render_cart(request, status=400, discount_error=ENTER_A_CODE)
    try:
        cart = services.set_discount_code(cart_id=cart_id, code=typed)
    except ShopError as error:
        return render_cart(request, status=error.status, discount_error=_refusal(error), discount_code=typed)
    messages.success(request, gettext("Discount code removed.") if removing else gettext("Discount code %(code)s applied.") % {"code": cart.discount_code})
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
        request, lambda cart_id: services.start_checkout(cart_id=cart_id, client=client_key(request)), success="", then=CHECKOUT_PATH
    )


@require_POST
def cancel_from_cart(request: HttpRequest) -> HttpResponse:
    """The cart page's "Cancel checkout" button."""
    return cart_action(
        request,
        lambda cart_id: services.cancel_checkout(cart_id=cart_id),
        success=gettext("Checkout cancelled; your items are no longer reserved."),
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
    messages.success(
        request, gettext("Order %(number)s is cancelled. Your payment is on its way back to your card; we have sent you an email.") % {"number": number}
    )
    return redirect(page)
