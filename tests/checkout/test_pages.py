"""The checkout and order pages through Django's test client: each step renders, errors
sit next to their fields and change nothing, steps open only in order, an expired
reservation or missing stock shows the way back, and the test-mode banner shows."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import timezone
from moneyed import Money

from cart.models import Cart
from cart.session import SESSION_KEY as CART_SESSION_KEY
from inventory.models import Reservation, Stock
from checkout.views import PAYMENT_WAIT_SESSION_KEY
from orders.models import Order, OrderLine
from payments.models import Payment, Refund
from checkout import services as checkout_services
from shipping.models import ShippingMethod
from tests.support.shipping import make_method

ADDRESS = {
    "email": "ada@example.com",
    "shipping-name": "Ada Lovelace",
    "shipping-line1": "12 Analytical Row",
    "shipping-line2": "",
    "shipping-city": "London",
    "shipping-region": "",
    "shipping-postal_code": "N1 7AA",
    "shipping-country": "GB",
    "billing_same": "on",
}

STRIPE_EMULATED = dict(
    STRIPE_API_BASE="http://127.0.0.1:8420",
    STRIPE_SECRET_KEY="sk_test_emulated",
    STRIPE_PUBLISHABLE_KEY="pk_test_emulated",
    STRIPE_JS_URL="http://127.0.0.1:8420/js.stripe.com/v3/",
)


class _Inputs(HTMLParser):
    """Every form control and every label's `for`, to check that each is labelled."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_targets: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label" and attrs.get("for"):
            self.label_targets.add(attrs["for"])
        if tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit"):
            self.controls.append(attrs)


def unlabelled_controls(html: str) -> list[dict]:
    parser = _Inputs()
    parser.feed(html)
    return [c for c in parser.controls if c.get("id") not in parser.label_targets and not c.get("aria-label")]


@pytest.fixture
def standard(db) -> ShippingMethod:
    return make_method(code="standard", name="Standard", price=Money(Decimal("4.99"), "USD"), position=1)


@pytest.fixture
def express(db) -> ShippingMethod:
    return make_method(code="express", name="Express", price=Money(Decimal("12.50"), "USD"), position=2)


@pytest.fixture
def shopper(make_variant, make_cart, standard, express):
    """A browser whose session holds a cart of 2 x a 19.99 USD shirt (10 on hand)."""
    variant = make_variant("SHIRT-M", price="19.99", on_hand=10)
    cart = make_cart({variant: 2})
    client = Client()
    session = client.session
    session[CART_SESSION_KEY] = str(cart.pk)
    session.save()
    return client, cart, variant


def reserved(variant) -> int:
    return Stock.objects.get(variant=variant).reserved


def in_checkout(client: Client, cart: Cart) -> Cart:
    response = client.get("/checkout/")
    assert response.status_code == 302
    cart.refresh_from_db()
    assert cart.status == Cart.Status.CHECKOUT
    return cart


def through_address(client: Client, cart: Cart) -> None:
    in_checkout(client, cart)
    assert client.post("/checkout/address/", ADDRESS).status_code == 302


def through_shipping(client: Client, cart: Cart, method: str = "standard") -> None:
    through_address(client, cart)
    assert client.post("/checkout/shipping/", {"shipping_method": method}).status_code == 302


# --- start -------------------------------------------------------------------------------


def test_checkout_reserves_every_line_and_opens_the_address_step(shopper):
    client, cart, variant = shopper

    response = client.get("/checkout/")

    assert response.status_code == 302 and response["Location"] == "/checkout/address/"
    cart.refresh_from_db()
    assert cart.status == Cart.Status.CHECKOUT
    assert reserved(variant) == 2


def test_checkout_with_an_empty_session_goes_back_to_the_cart(db):
    response = Client().get("/checkout/")
    assert response.status_code == 302 and response["Location"] == "/cart/"


def test_missing_stock_at_start_is_shown_with_the_way_back_and_reserves_nothing(shopper, make_cart):
    client, cart, variant = shopper
    rival = make_cart({variant: 9})
    checkout_services.start_checkout(cart_id=rival.pk)  # 9 of 10 now held by another shopper

    response = client.get("/checkout/")

    assert response.status_code == 409
    html = response.content.decode()
    assert "Only 1 left of" in html
    assert 'href="/cart/"' in html
    cart.refresh_from_db()
    assert cart.status == Cart.Status.ACTIVE
    assert reserved(variant) == 9
    assert not Reservation.objects.filter(holder_id=cart.pk).exists()


# --- step 1 --------------------------------------------------------------------------------


def test_address_step_renders_progress_timer_and_a_label_for_every_input(shopper):
    client, cart, _ = shopper
    in_checkout(client, cart)

    response = client.get("/checkout/address/")

    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<li class="is-current" aria-current="step">\s*<span class="step-number" aria-hidden="true">1</span>', html)
    assert html.count('aria-current="step"') == 1
    assert 'class="reservation-timer" data-seconds-left="' in html
    seconds = int(re.search(r'data-seconds-left="(\d+)"', html).group(1))
    assert 290 <= seconds <= 300
    assert unlabelled_controls(html) == []
    assert 'name="shipping-postal_code"' in html and 'name="billing-postal_code"' in html


def test_address_errors_are_shown_next_to_their_fields_and_change_nothing(shopper):
    client, cart, _ = shopper
    in_checkout(client, cart)
    bad = {**ADDRESS, "email": "not-an-email", "shipping-postal_code": "", "shipping-country": "XX"}

    response = client.post("/checkout/address/", bad)

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_email" name="email" value="not-an-email"' in html  # what was typed is kept
    assert re.search(r'aria-invalid="true" aria-describedby="id_email-error"', html)
    assert re.search(r'<p class="field-error" id="id_email-error">Enter a valid email address.</p>', html)
    assert re.search(r'<p class="field-error" id="id_shipping_postal_code-error">This field is required.</p>', html)
    assert 'id="id_shipping_country-error"' in html
    assert 'id="id_shipping_city-error"' not in html
    cart.refresh_from_db()
    assert cart.email == "" and cart.shipping_address is None and cart.billing_address is None


def test_a_different_billing_address_is_checked_field_by_field(shopper):
    client, cart, _ = shopper
    in_checkout(client, cart)
    data = {k: v for k, v in ADDRESS.items() if k != "billing_same"}
    data.update({"billing-name": "Ada L", "billing-line1": "1 Bill St", "billing-city": "", "billing-postal_code": "E1", "billing-country": "GB"})

    response = client.post("/checkout/address/", data)

    assert response.status_code == 400
    html = response.content.decode()
    assert '<p class="field-error" id="id_billing_city-error">This field is required.</p>' in html
    assert re.search(r'id="billing-fields" class="address-fields" data-billing-fields>', html)  # shown, not hidden
    cart.refresh_from_db()
    assert cart.shipping_address is None


def test_a_valid_address_is_saved_and_leads_to_shipping(shopper):
    client, cart, _ = shopper
    in_checkout(client, cart)

    response = client.post("/checkout/address/", ADDRESS)

    assert response.status_code == 302 and response["Location"] == "/checkout/shipping/"
    cart.refresh_from_db()
    assert cart.email == "ada@example.com"
    assert cart.shipping_address == {"name": "Ada Lovelace", "line1": "12 Analytical Row", "city": "London", "postal_code": "N1 7AA", "country": "GB"}
    assert cart.billing_address is None


# --- step order ------------------------------------------------------------------------------


def test_shipping_step_does_not_open_before_the_address(shopper):
    client, cart, _ = shopper
    in_checkout(client, cart)

    response = client.get("/checkout/shipping/")

    assert response.status_code == 302 and response["Location"] == "/checkout/address/"


def test_payment_step_does_not_open_before_a_shipping_method(shopper):
    client, cart, _ = shopper
    through_address(client, cart)

    response = client.get("/checkout/payment/")

    assert response.status_code == 302 and response["Location"] == "/checkout/shipping/"


def test_a_step_of_a_cart_not_in_checkout_starts_checkout_first(shopper):
    client, _, _ = shopper
    response = client.get("/checkout/payment/")
    assert response.status_code == 302 and response["Location"] == "/checkout/"


def test_checkout_again_mid_way_returns_to_the_furthest_step(shopper):
    client, cart, _ = shopper
    through_address(client, cart)

    response = client.get("/checkout/")

    assert response.status_code == 302 and response["Location"] == "/checkout/shipping/"


# --- step 2 ----------------------------------------------------------------------------------


def test_shipping_step_offers_each_method_priced_in_the_cart_currency(shopper):
    client, cart, _ = shopper
    through_address(client, cart)

    response = client.get("/checkout/shipping/")

    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<li class="is-done">\s*<a href="/checkout/address/">', html)
    assert "Standard" in html and "$4.99" in html
    assert "Express" in html and "$12.50" in html
    assert unlabelled_controls(html) == []


def test_no_shipping_method_chosen_shows_the_error_by_the_choices_and_changes_nothing(shopper):
    client, cart, _ = shopper
    through_address(client, cart)

    response = client.post("/checkout/shipping/", {"shipping_method": "teleport"})

    assert response.status_code == 400
    assert 'id="shipping-method-error">Unknown shipping method' in response.content.decode()
    cart.refresh_from_db()
    assert cart.shipping_method == ""


def test_a_shipping_method_is_saved_and_priced_into_the_total(shopper):
    client, cart, _ = shopper
    through_address(client, cart)

    response = client.post("/checkout/shipping/", {"shipping_method": "express"})

    assert response.status_code == 302 and response["Location"] == "/checkout/payment/"
    cart.refresh_from_db()
    assert cart.shipping_method == "express"
    page = client.get("/checkout/payment/").content.decode()
    assert 'data-total="52.48"' in page  # 2 x 19.99 + 12.50
    assert "Pay $52.48" in page


def test_a_yen_checkout_prices_each_step_in_whole_yen_at_the_fixed_rate(fixed_rates, make_variant, make_cart, standard):  # noqa: F811
    variant = make_variant("SHIRT-JP", price="19.99", on_hand=5)
    cart = make_cart({variant: 2}, currency="JPY")
    client = Client()
    session = client.session
    session[CART_SESSION_KEY] = str(cart.pk)
    session.save()
    through_shipping(client, cart)

    html = client.get("/checkout/payment/").content.decode()

    # 19.99 x 151.237 = 3023.23 -> 3023 a unit, x 2 = 6046; shipping 4.99 x 151.237 -> 755.
    assert "¥6,046" in html and "¥755" in html
    assert 'data-total="6801' in html and "Pay ¥6,801" in html


# --- step 3 ----------------------------------------------------------------------------------


def test_payment_step_mounts_stripe_js_from_the_setting_with_the_publishable_key(shopper, settings):
    for name, value in STRIPE_EMULATED.items():
        setattr(settings, name, value)
    client, cart, _ = shopper
    through_shipping(client, cart)

    response = client.get("/checkout/payment/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<script src="http://127.0.0.1:8420/js.stripe.com/v3/"></script>' in html
    assert 'data-publishable-key="pk_test_emulated"' in html
    assert f'data-payment-url="/api/v1/carts/{cart.pk}/payment/"' in html
    assert 'id="card-element"' in html and 'aria-labelledby="card-label"' in html
    assert 'id="card-errors"' in html
    assert re.search(r'<button type="submit" id="pay-button"', html)
    # Only Stripe's own script is loaded for the card: nothing in the page stands in for it.
    # The others are the shop's own: the step's, and the header menus' of every page.
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts == ["/static/js/header_menus.js", "http://127.0.0.1:8420/js.stripe.com/v3/", "/static/js/checkout.js"]


def test_test_mode_banner_shows_while_payments_are_emulated(shopper, settings):
    for name, value in STRIPE_EMULATED.items():
        setattr(settings, name, value)
    client, cart, _ = shopper
    in_checkout(client, cart)

    html = client.get("/checkout/address/").content.decode()

    assert "Test mode:</strong> payments are emulated. Use card 4242 4242 4242 4242." in html


def test_no_test_mode_banner_with_live_keys(shopper, settings):
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_PUBLISHABLE_KEY = "pk_live_123"
    client, cart, _ = shopper
    in_checkout(client, cart)

    html = client.get("/checkout/address/").content.decode()

    assert "test-mode-banner" not in html


# --- reservation --------------------------------------------------------------------------------


def test_opening_a_step_extends_a_reservation_close_to_its_end(shopper):
    client, cart, variant = shopper
    in_checkout(client, cart)
    soon = timezone.now() + timedelta(seconds=60)
    Cart.objects.filter(pk=cart.pk).update(reservation_expires_at=soon)
    Reservation.objects.filter(holder_id=cart.pk).update(expires_at=soon)

    before = timezone.now()
    client.get("/checkout/address/")

    cart.refresh_from_db()
    assert cart.reservation_expires_at >= before + timedelta(seconds=299)
    assert all(r.expires_at == cart.reservation_expires_at for r in Reservation.objects.filter(holder_id=cart.pk, status="active"))
    assert reserved(variant) == 2


def test_an_expired_reservation_shows_the_way_back_to_the_cart_and_to_reserve_again(shopper):
    client, cart, variant = shopper
    through_address(client, cart)
    past = timezone.now() - timedelta(seconds=5)
    Cart.objects.filter(pk=cart.pk).update(reservation_expires_at=past)
    Reservation.objects.filter(holder_id=cart.pk).update(expires_at=past)

    response = client.get("/checkout/shipping/")

    assert response.status_code == 409
    html = response.content.decode()
    assert "Your reservation expired" in html
    assert 'action="/checkout/cancel/"' in html and "Back to your cart" in html
    assert 'action="/checkout/"' in html and "Reserve the items again" in html

    again = client.post("/checkout/")

    assert again.status_code == 302 and again["Location"] == "/checkout/shipping/"
    cart.refresh_from_db()
    assert cart.reservation_expires_at > timezone.now() + timedelta(seconds=290)
    assert reserved(variant) == 2


def test_posting_a_step_after_expiry_changes_nothing(shopper):
    client, cart, _ = shopper
    through_address(client, cart)
    past = timezone.now() - timedelta(seconds=5)
    Cart.objects.filter(pk=cart.pk).update(reservation_expires_at=past)

    response = client.post("/checkout/shipping/", {"shipping_method": "standard"})

    assert response.status_code == 409
    cart.refresh_from_db()
    assert cart.shipping_method == ""


def test_back_to_cart_ends_the_checkout_and_releases_the_stock(shopper):
    client, cart, variant = shopper
    in_checkout(client, cart)

    response = client.post("/checkout/cancel/")

    assert response.status_code == 302 and response["Location"] == "/cart/"
    cart.refresh_from_db()
    assert cart.status == Cart.Status.ACTIVE
    assert reserved(variant) == 0


# --- confirmation and orders -----------------------------------------------------------------------


def paid_order(cart: Cart, *, user=None, number: str = "ORD-2026-00042") -> Order:
    """An order as complete_checkout leaves it, written directly: these tests are about pages."""
    Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.COMPLETED, completed_at=timezone.now())
    usd = lambda amount: Money(Decimal(amount), "USD")  # noqa: E731
    order = Order.objects.create(
        number=number, cart=cart, user=user, currency="USD", exchange_rate=Decimal(1), email="ada@example.com",
        shipping_address={"name": "Ada Lovelace", "line1": "12 Analytical Row", "city": "London", "postal_code": "N1 7AA", "country": "GB"},
        shipping_method="standard", subtotal=usd("39.98"), shipping=usd("4.99"), tax=usd("0"), discount=usd("0"),
        total=usd("44.97"), refunded=usd("0"),
    )
    OrderLine.objects.create(
        order=order, sku="SHIRT-M", product_name="Linen shirt", variant_name="M", quantity=2,
        unit_price_usd=usd("19.99"), unit_price=usd("19.99"), line_total=usd("39.98"),
    )
    return order


def test_confirmation_page_shows_the_order_once_paid(shopper):
    client, cart, _ = shopper
    through_shipping(client, cart)
    order = paid_order(cart)

    response = client.get("/checkout/complete/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "ORD-2026-00042" in html and "$44.97" in html and "Linen shirt" in html
    assert re.search(r'<li class="is-current" aria-current="step">\s*<span class="step-number" aria-hidden="true">4</span>', html)
    assert f"/orders/ORD-2026-00042/?token={order.access_token}" in html
    # The finished checkout cannot be reopened: /checkout/ now shows the confirmation.
    assert client.get("/checkout/")["Location"] == "/checkout/complete/"


def test_confirmation_page_waits_for_a_payment_still_being_confirmed(shopper):
    client, cart, _ = shopper
    through_shipping(client, cart)
    a_payment(cart, status="requires_action")  # 3-D Secure finished in the browser, webhook on its way

    response = client.get("/checkout/complete/")

    assert response.status_code == 200
    assert '<meta http-equiv="refresh" content="3">' in response.content.decode()


def test_order_page_for_a_guest_holding_the_signed_link(shopper):
    client, cart, _ = shopper
    order = paid_order(cart)

    response = Client().get(f"/orders/{order.number}/?token={order.access_token}")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Order ORD-2026-00042" in html and "$44.97" in html and "USD" in html
    assert "SHIRT-M" in html and "Paid" in html


@pytest.mark.parametrize("query", ["", "?token=wrong"])
def test_order_page_is_not_found_without_the_right_token(shopper, query):
    client, cart, _ = shopper
    order = paid_order(cart)

    assert Client().get(f"/orders/{order.number}/{query}").status_code == 404


def test_order_pages_for_a_signed_in_customer_show_only_their_orders(shopper, make_cart, make_variant, django_user_model):
    client, cart, _ = shopper
    ada = django_user_model.objects.create_user("ada", "ada@example.com", "pw-123456")
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "pw-123456")
    mine = paid_order(cart, user=ada, number="ORD-2026-00001")
    theirs = paid_order(make_cart({make_variant(): 1}), user=bob, number="ORD-2026-00002")
    browser = Client()
    browser.force_login(ada)

    listing = browser.get("/orders/").content.decode()

    assert mine.number in listing and theirs.number not in listing
    assert browser.get(f"/orders/{mine.number}/").status_code == 200
    assert browser.get(f"/orders/{theirs.number}/").status_code == 404


def test_order_list_asks_a_guest_to_sign_in(db):
    response = Client().get("/orders/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- confirmation of a paid order that could not be supplied (invariant 12) -------------------

REFRESH = '<meta http-equiv="refresh"'


def a_payment(cart: Cart, *, status: str, attempt: int = 1, order: Order | None = None, amount: int = 4497) -> Payment:
    return Payment.objects.create(
        cart=cart, attempt=attempt, order=order, stripe_payment_intent_id=f"pi_page_{cart.pk.hex[:12]}_{attempt}",
        amount=amount, currency="USD", status=status,
    )


def unsupplied_order(cart: Cart, *, refund_status: str, refunded: str) -> Order:
    """An order as complete_checkout leaves one paid after its reservation lapsed with no
    stock left: flagged for staff, its payment refunded (or being refunded) in full."""
    order = paid_order(cart)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.NEEDS_ATTENTION, refunded=Money(Decimal(refunded), "USD"))
    payment = a_payment(cart, status="succeeded", order=order)
    Refund.objects.create(payment=payment, order=order, amount=4497, currency="USD", reason=Refund.Reason.OUT_OF_STOCK, status=refund_status)
    return order


def test_order_that_could_not_be_supplied_says_it_is_refunded_not_placed(shopper):
    client, cart, _ = shopper
    through_shipping(client, cart)
    order = unsupplied_order(cart, refund_status=Refund.Status.SUCCEEDED, refunded="44.97")

    response = client.get("/checkout/complete/")

    assert response.status_code == 200
    html = " ".join(response.content.decode().split())
    assert "We could not complete your order" in html
    assert "no longer in stock, so we could not reserve them for you and cannot send them" in html
    assert "Your payment of <strong>$44.97</strong> has been refunded in full." in html
    assert "Our staff have been told." in html and "ada@example.com" in html
    assert '<a class="button button-primary" href="/">Back to the shop</a>' in html
    assert f"/orders/{order.number}/?token={order.access_token}" in html
    for wrong in ("Thank you", "your order is placed", "We have sent a confirmation"):
        assert wrong not in html


def test_order_that_could_not_be_supplied_while_its_refund_is_on_its_way(shopper):
    client, cart, _ = shopper
    through_shipping(client, cart)
    unsupplied_order(cart, refund_status=Refund.Status.PENDING, refunded="0")

    html = " ".join(client.get("/checkout/complete/").content.decode().split())

    assert "We are refunding your payment of <strong>$44.97</strong> in full." in html
    assert "has been refunded" not in html and "Thank you" not in html


def test_order_that_could_not_be_supplied_whose_refund_stripe_refused(shopper):
    client, cart, _ = shopper
    through_shipping(client, cart)
    unsupplied_order(cart, refund_status=Refund.Status.FAILED, refunded="0")

    html = " ".join(client.get("/checkout/complete/").content.decode().split())

    assert "Your payment of <strong>$44.97</strong> could not be refunded automatically. Our staff will refund you in full." in html
    assert "has been refunded" not in html and "Thank you" not in html


def test_order_flagged_for_staff_for_another_reason_is_still_placed(shopper):
    client, cart, _ = shopper
    through_shipping(client, cart)
    order = paid_order(cart)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.NEEDS_ATTENTION)

    html = client.get("/checkout/complete/").content.decode()

    assert "Thank you, your order is placed" in html and "Our staff are looking at this order" in html
    assert "refund" not in html.lower()


# --- waiting for a payment, for a while ------------------------------------------------------


def waited_a_minute(client: Client) -> None:
    """As if the page had been waiting for the same payment state for over a minute."""
    session = client.session
    wait = session[PAYMENT_WAIT_SESSION_KEY]
    wait["since"] = (timezone.now() - timedelta(seconds=61)).isoformat()
    session[PAYMENT_WAIT_SESSION_KEY] = wait
    session.save()


def test_confirmation_page_of_a_cart_that_never_asked_to_pay_does_not_wait(shopper):
    client, cart, _ = shopper
    through_shipping(client, cart)

    response = client.get("/checkout/complete/")

    assert response.status_code == 200
    html = " ".join(response.content.decode().split())
    assert REFRESH not in html
    assert "We have not received your payment yet" in html
    assert "Your items are still reserved for you" in html
    assert '<a class="button button-primary" href="/checkout/payment/">Go back to the payment step</a>' in html


@pytest.mark.parametrize("status", ["requires_payment_method", "canceled"])
def test_confirmation_page_of_a_declined_or_cancelled_payment_does_not_wait(shopper, status):
    client, cart, _ = shopper
    through_shipping(client, cart)
    a_payment(cart, status=status)

    html = client.get("/checkout/complete/").content.decode()

    assert REFRESH not in html and "We have not received your payment yet" in html


@pytest.mark.parametrize("status", ["requires_action", "processing"])
def test_confirmation_page_stops_waiting_for_the_bank_after_a_minute(shopper, status):
    client, cart, _ = shopper
    through_shipping(client, cart)
    a_payment(cart, status=status)
    assert REFRESH in client.get("/checkout/complete/").content.decode()
    assert REFRESH in client.get("/checkout/complete/").content.decode()  # still within the minute

    waited_a_minute(client)
    response = client.get("/checkout/complete/")

    html = " ".join(response.content.decode().split())
    assert response.status_code == 200 and REFRESH not in html
    assert "We have not received your payment yet" in html and "Your bank has not confirmed the payment." in html
    assert 'href="/checkout/payment/">Go back to the payment step</a>' in html
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.CHECKOUT  # the page changes nothing


def test_paid_payment_whose_order_is_late_stops_waiting_and_says_it_arrived(shopper):
    client, cart, _ = shopper
    through_shipping(client, cart)
    a_payment(cart, status="succeeded")
    assert REFRESH in client.get("/checkout/complete/").content.decode()

    waited_a_minute(client)
    html = " ".join(client.get("/checkout/complete/").content.decode().split())

    assert REFRESH not in html
    assert "Your payment has been received" in html and "You do not need to pay again" in html
    assert "We have not received your payment" not in html


def test_a_new_payment_attempt_starts_the_wait_again(shopper):
    client, cart, _ = shopper
    through_shipping(client, cart)
    a_payment(cart, status="requires_action")
    client.get("/checkout/complete/")
    waited_a_minute(client)
    assert REFRESH not in client.get("/checkout/complete/").content.decode()

    Payment.objects.filter(cart=cart).update(status="canceled")
    a_payment(cart, status="requires_action", attempt=2)

    assert REFRESH in client.get("/checkout/complete/").content.decode()


def test_payment_refused_for_its_amount_is_said_to_be_refunded(shopper):
    client, cart, _ = shopper
    through_shipping(client, cart)
    payment = a_payment(cart, status="succeeded", amount=3998)
    Refund.objects.create(payment=payment, amount=3998, currency="USD", reason=Refund.Reason.AMOUNT_MISMATCH)

    html = " ".join(client.get("/checkout/complete/").content.decode().split())

    assert REFRESH not in html
    assert "The amount charged, $39.98, did not match your order" in html and "we are refunding it in full" in html
    assert 'href="/checkout/payment/">Check your order and pay again</a>' in html


def test_once_the_order_exists_the_waiting_page_shows_it(shopper):
    client, cart, _ = shopper
    through_shipping(client, cart)
    a_payment(cart, status="requires_action")
    assert REFRESH in client.get("/checkout/complete/").content.decode()

    paid_order(cart)
    html = client.get("/checkout/complete/").content.decode()

    assert REFRESH not in html and "Thank you, your order is placed" in html
