"""Discount codes through the API: applied to the cart (active or in checkout) with a
reason when they do not apply, a use reserved with the payment request under the code's
row lock and committed with the order (invariant 16), and the PaymentIntent charging
exactly the server's total."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import stripe
from django.utils import timezone

from cart.models import Cart
from checkout import services as checkout_services
from checkout.payment import request_payment
from discounts.models import DiscountCode, DiscountUse
from orders.models import Order
from shop.errors import DiscountUnavailable
from taxes.models import TaxRate
from tests.support.api_helpers import assert_error, money
from tests.support.race import Crew
from tests.support.shipping import make_method, make_zone
from tests.support.stripe_fixtures import ADDRESS

US_ADDRESS = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Los Angeles", "region": "CA", "postal_code": "90001", "country": "US"}
DE_ADDRESS = {"name": "Ada Lovelace", "line1": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117", "country": "DE"}


@pytest.fixture
def shop(db, make_variant):
    """A US zone (standard $5, free from $100) and CA sales tax 7.25% without shipping;
    a $40 shirt."""
    make_method(code="standard", name="Standard", price="5.00", free_over="100.00", zone=make_zone("United States", ["US"]))
    TaxRate.objects.create(country="US", region="CA", name="Sales tax", rate=Decimal("7.25"), shipping_taxable=False)
    return make_variant("SHIRT", price="40.00", on_hand=100)


def code(text: str = "SAVE10", kind: str = "percent", value: str | None = "10", **fields) -> DiscountCode:
    return DiscountCode.objects.create(code=text, kind=kind, value=Decimal(value) if value else None, **fields)


def in_checkout(api, cart_id, *, email: str = "ada@example.com", address: dict = US_ADDRESS, method: str = "standard") -> dict:
    assert api.post(f"/api/v1/carts/{cart_id}/checkout/").status_code == 200
    response = api.patch(f"/api/v1/carts/{cart_id}/checkout/", {"email": email, "shipping_address": address, "shipping_method": method})
    assert response.status_code == 200, response.content
    return response.json()


# --- applying a code -------------------------------------------------------------------


def test_a_code_applies_to_an_active_cart_case_insensitively_and_can_be_removed(api, shop, make_cart):
    code()
    cart = make_cart({shop: 2})

    body = api.patch(f"/api/v1/carts/{cart.pk}/", {"discount_code": " save10 "}).json()

    assert (body["discount_code"], body["discount"], body["total"]) == ("SAVE10", money("8.00"), money("72.00"))
    assert body["discount_problem"] is None and body["prices_include_tax"] is False
    removed = api.patch(f"/api/v1/carts/{cart.pk}/", {"discount_code": ""}).json()
    assert (removed["discount_code"], removed["discount"], removed["total"]) == (None, money("0.00"), money("80.00"))


@pytest.mark.parametrize(
    ("make_code", "reason"),
    [
        (lambda world: None, "unknown"),
        (lambda world: code(ends_at=timezone.now() - timedelta(minutes=1)), "expired"),
        (lambda world: code(starts_at=timezone.now() + timedelta(days=1)), "not_started"),
        (lambda world: code(usage_limit=1), "used_up"),
        (lambda world: code(min_subtotal_usd=Decimal("500.00")), "minimum_not_met"),
        (lambda world: code().products.add(world["other"].product), "not_in_cart"),
        (lambda world: code(per_customer_limit=1), "customer_limit"),
    ],
)
def test_a_code_that_does_not_apply_is_400_with_its_reason_and_changes_nothing(api, shop, make_cart, make_variant, make_code, reason):
    world = {"other": make_variant("SOCKS", price="5.00")}
    make_code(world)
    row = DiscountCode.objects.filter(code="SAVE10").first()
    if reason in ("used_up", "customer_limit"):  # someone (this shopper, for the second) used it already
        DiscountUse.objects.create(code=row, holder_id="00000000-0000-0000-0000-000000000001", email="ADA@example.com", status="committed")
    cart = make_cart({shop: 2})
    if reason == "customer_limit":  # the limit is per email: known in checkout
        in_checkout(api, cart.pk)

    path = f"/api/v1/carts/{cart.pk}/checkout/" if reason == "customer_limit" else f"/api/v1/carts/{cart.pk}/"
    error = assert_error(api.patch(path, {"discount_code": "save10"}), 400, "discount_not_applicable")

    assert error["details"] == {"reason": reason}
    assert "SAVE10" in error["message"]
    stored = Cart.objects.get(pk=cart.pk)
    assert stored.discount_code == ""
    assert api.get(f"/api/v1/carts/{cart.pk}/").json()["discount"] == money("0.00")


def test_a_code_that_is_not_text_is_400_invalid(api, shop, make_cart):
    cart = make_cart({shop: 1})

    error = assert_error(api.patch(f"/api/v1/carts/{cart.pk}/", {"discount_code": 10}), 400, "invalid")

    assert "discount_code" in error["details"]


def test_a_code_applies_in_checkout_and_changes_the_total_to_pay(api, shop, make_cart):
    code()
    cart = make_cart({shop: 2})
    before = in_checkout(api, cart.pk)

    after = api.patch(f"/api/v1/carts/{cart.pk}/checkout/", {"discount_code": "SAVE10"}).json()

    # 80.00 + 5.00 + 5.80 tax  ->  72.00 + 5.00 + 5.22 tax
    assert (before["total"], after["total"]) == (money("90.80"), money("82.22"))
    assert after["tax_lines"] == [{"name": "Sales tax", "rate": "7.25", "amount": money("5.22")}]


def test_a_completed_cart_cannot_take_a_code(api, stripe_emulator, shop, make_cart):
    code()
    cart = make_cart({shop: 1})
    in_checkout(api, cart.pk)
    api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method()})

    assert_error(api.patch(f"/api/v1/carts/{cart.pk}/", {"discount_code": "SAVE10"}), 409, "cart_not_active")


# --- shipping zones --------------------------------------------------------------------


def test_an_address_outside_every_zone_is_400_naming_the_country_and_changes_nothing(api, shop, make_cart):
    cart = make_cart({shop: 1})
    api.post(f"/api/v1/carts/{cart.pk}/checkout/")

    error = assert_error(api.patch(f"/api/v1/carts/{cart.pk}/checkout/", {"email": "a@example.com", "shipping_address": ADDRESS}), 400, "invalid")

    assert error["details"] == {"shipping_address.country": ["Sorry, we do not ship to United Kingdom."]}
    assert (Cart.objects.get(pk=cart.pk).email, Cart.objects.get(pk=cart.pk).shipping_address) == ("", None)


def test_shipping_methods_are_those_of_the_address_zone_with_delivery_window_and_threshold(api, shop, make_cart, fixed_rates):
    europe = make_zone("Europe", ["DE", "FR"])
    make_method(code="standard", name="Standard EU", price="7.50", free_over="100.00", zone=europe, min_days=3, max_days=6)
    make_method(code="express", name="Express EU", price="19.00", zone=europe, min_days=1, max_days=3, position=1)
    cart = make_cart({shop: 3}, currency="EUR")
    in_checkout(api, cart.pk, address=DE_ADDRESS)

    methods = api.get(f"/api/v1/shipping-methods/?cart={cart.pk}").json()

    # 3 x 36.00 = 108.00 EUR >= 90.00 EUR (100 USD): standard ships free
    assert methods == [
        {"code": "standard", "name": "Standard EU", "price": money("0.00", "EUR"), "regular_price": money("6.75", "EUR"),
         "estimated_delivery": {"min_days": 3, "max_days": 6}, "free_over": money("90.00", "EUR")},
        {"code": "express", "name": "Express EU", "price": money("17.10", "EUR"), "regular_price": money("17.10", "EUR"),
         "estimated_delivery": {"min_days": 1, "max_days": 3}, "free_over": None},
    ]


def test_a_method_the_new_address_zone_lacks_is_dropped(api, shop, make_cart):
    make_method(code="express", name="Express", price="20.00", zone=make_zone("Germany", ["DE"]))
    cart = make_cart({shop: 1})
    assert in_checkout(api, cart.pk, address=DE_ADDRESS, method="express")["shipping"] == money("20.00")

    body = api.patch(f"/api/v1/carts/{cart.pk}/checkout/", {"shipping_address": US_ADDRESS}).json()

    assert (body["shipping_method"], body["shipping"], body["checkout_step"]) == (None, money("0.00"), "shipping")
    error = assert_error(api.patch(f"/api/v1/carts/{cart.pk}/checkout/", {"shipping_method": "express"}), 400, "invalid")
    assert error["details"] == {"shipping_method": ["Unknown shipping method for this address; choose one of standard."]}


# --- paying -----------------------------------------------------------------------------


def test_the_payment_intent_charges_the_total_with_discount_shipping_and_tax_and_the_order_keeps_each_part(
    api, stripe_emulator, shop, make_cart, mailoutbox
):
    code()
    cart = make_cart({shop: 2})
    in_checkout(api, cart.pk)
    api.patch(f"/api/v1/carts/{cart.pk}/", {"discount_code": "SAVE10"})
    shown = api.get(f"/api/v1/carts/{cart.pk}/").json()["total"]

    paid = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method(), "total": money("0.50")}).json()

    assert paid["amount"] == shown == money("82.22")
    assert stripe.PaymentIntent.retrieve(paid["payment_intent_id"]).amount == 8222
    order = Order.objects.get(cart_id=cart.pk)
    assert (order.subtotal.amount, order.discount.amount, order.shipping.amount, order.tax.amount, order.total.amount) == (
        Decimal("80.00"), Decimal("8.00"), Decimal("5.00"), Decimal("5.22"), Decimal("82.22")
    )
    assert (order.discount_code, order.tax_lines) == ("SAVE10", [{"name": "Sales tax", "rate": "7.25", "amount": "5.22"}])
    line = order.lines.get()
    assert (line.discount.amount, line.tax.amount, line.tax_rate) == (Decimal("8.00"), Decimal("5.22"), Decimal("7.25"))
    use = DiscountUse.objects.get()
    assert (use.status, use.order_id, use.email) == ("committed", order.pk, "ada@example.com")
    quote = order.cart.payments.get().quote
    assert (quote["discount_code"], quote["discount"], quote["tax"], quote["shipping"], quote["total"]) == ("SAVE10", "8.00", "5.22", "5.00", "82.22")
    api_order = api.get(api.get(f"/api/v1/carts/{cart.pk}/").json()["order"]["url"]).json()
    assert (api_order["discount_code"], api_order["total"]) == ("SAVE10", money("82.22"))
    assert api_order["tax_lines"] == [{"name": "Sales tax", "rate": "7.25", "amount": money("5.22")}]


def test_a_used_up_code_is_409_discount_unavailable_before_stripe_is_asked(api, stripe_emulator, shop, make_cart):
    row = code(usage_limit=1)
    cart = make_cart({shop: 1})
    in_checkout(api, cart.pk)
    api.patch(f"/api/v1/carts/{cart.pk}/", {"discount_code": "SAVE10"})
    DiscountUse.objects.create(code=row, holder_id="00000000-0000-0000-0000-000000000002", email="b@example.com", status="committed")
    intents_before = len(stripe.PaymentIntent.list().data)

    error = assert_error(api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method()}), 409, "discount_unavailable")

    assert error["details"] == {"reason": "used_up"}
    assert len(stripe.PaymentIntent.list().data) == intents_before
    assert Cart.objects.get(pk=cart.pk).status == "checkout"


def test_an_expired_code_is_refused_at_payment_but_a_use_held_keeps_its_terms(api, stripe_emulator, shop, make_cart):
    row = code()
    cart = make_cart({shop: 1})
    in_checkout(api, cart.pk)
    api.patch(f"/api/v1/carts/{cart.pk}/", {"discount_code": "SAVE10"})
    api.post(f"/api/v1/carts/{cart.pk}/payment/", {})  # reserves the use, no card yet
    DiscountCode.objects.filter(pk=row.pk).update(ends_at=timezone.now() - timedelta(seconds=1))

    held = api.get(f"/api/v1/carts/{cart.pk}/").json()
    paid = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method()}).json()

    assert held["discount"] == money("4.00") and held["discount_problem"] is None
    assert paid["cart"]["status"] == "completed" and paid["amount"] == held["total"]

    other = make_cart({shop: 1})
    in_checkout(api, other.pk, email="other@example.com")
    Cart.objects.filter(pk=other.pk).update(discount_code="SAVE10")  # applied before it expired
    error = assert_error(api.post(f"/api/v1/carts/{other.pk}/payment/", {}), 409, "discount_unavailable")
    assert error["details"] == {"reason": "expired"}


def test_the_per_customer_limit_counts_uses_by_email(api, stripe_emulator, shop, make_cart):
    code(per_customer_limit=1)
    first = make_cart({shop: 1})
    in_checkout(api, first.pk, email="ada@example.com")
    api.patch(f"/api/v1/carts/{first.pk}/", {"discount_code": "SAVE10"})
    api.post(f"/api/v1/carts/{first.pk}/payment/", {"payment_method": stripe_emulator.payment_method()})

    second = make_cart({shop: 1})
    in_checkout(api, second.pk, email="Ada@Example.com")
    error = assert_error(api.patch(f"/api/v1/carts/{second.pk}/checkout/", {"discount_code": "SAVE10"}), 400, "discount_not_applicable")
    assert error["details"] == {"reason": "customer_limit"}

    third = make_cart({shop: 1})
    in_checkout(api, third.pk, email="bob@example.com")
    assert api.patch(f"/api/v1/carts/{third.pk}/checkout/", {"discount_code": "SAVE10"}).status_code == 200


def test_cancelling_checkout_releases_the_reserved_use(api, stripe_emulator, shop, make_cart):
    code(usage_limit=1)
    cart = make_cart({shop: 1})
    in_checkout(api, cart.pk)
    api.patch(f"/api/v1/carts/{cart.pk}/", {"discount_code": "SAVE10"})
    api.post(f"/api/v1/carts/{cart.pk}/payment/", {})
    assert DiscountUse.objects.get().status == "reserved"

    api.delete(f"/api/v1/carts/{cart.pk}/checkout/")

    assert DiscountUse.objects.get().status == "released"
    other = make_cart({shop: 1})
    in_checkout(api, other.pk, email="bob@example.com")
    assert api.patch(f"/api/v1/carts/{other.pk}/checkout/", {"discount_code": "SAVE10"}).status_code == 200


def test_a_lapsed_use_taken_by_another_checkout_refuses_the_payment(api, stripe_emulator, shop, make_cart):
    row = code(usage_limit=1)
    cart = make_cart({shop: 1})
    in_checkout(api, cart.pk)
    api.patch(f"/api/v1/carts/{cart.pk}/", {"discount_code": "SAVE10"})
    api.post(f"/api/v1/carts/{cart.pk}/payment/", {})
    DiscountUse.objects.filter(holder_id=cart.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    DiscountUse.objects.create(code=row, holder_id="00000000-0000-0000-0000-000000000003", email="b@example.com", status="committed")

    error = assert_error(api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method()}), 409, "discount_unavailable")

    assert error["details"] == {"reason": "used_up"}
    assert not Order.objects.exists()
    assert DiscountUse.objects.filter(code=row).exclude(status="released").count() == 2  # the lapsed one and the other's


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_the_last_use_of_a_code_paid_for_by_twenty_checkouts_at_once_is_charged_once(api, stripe_emulator, make_variant, make_cart):
    make_method(code="standard", name="Standard", price="5.00", zone=make_zone("United States", ["US"]))
    shirt = make_variant("SHIRT", price="40.00", on_hand=100)
    code(usage_limit=1)
    carts = []
    for n in range(20):
        cart = make_cart({shirt: 1})
        in_checkout(api, cart.pk, email=f"shopper{n}@example.com")
        assert api.patch(f"/api/v1/carts/{cart.pk}/", {"discount_code": "SAVE10"}).status_code == 200
        carts.append(cart)
    cards = [stripe_emulator.payment_method() for _ in carts]

    with Crew(20) as crew:
        outcomes = crew.run([lambda c=cart, pm=pm: request_payment(cart_id=c.pk, payment_method=pm) for cart, pm in zip(carts, cards)])

    paid = [o for o in outcomes if o.ok]
    refused = [o for o in outcomes if not o.ok]
    assert len(paid) == 1, [o.error for o in refused if not isinstance(o.error, DiscountUnavailable)]
    assert all(isinstance(o.error, DiscountUnavailable) and o.error.reason == "used_up" for o in refused)
    assert Order.objects.count() == 1 and Order.objects.get().discount.amount == Decimal("4.00")
    assert list(DiscountUse.objects.exclude(status="released").values_list("status", flat=True)) == ["committed"]
    charged = [intent for intent in stripe.PaymentIntent.list(limit=100).data if intent.status == "succeeded"]
    assert [intent.amount for intent in charged] == [4100]  # 36.00 + 5.00 shipping, once
    assert Cart.objects.filter(status="checkout").count() == 19  # the others keep their reservation


def test_changing_the_code_in_checkout_releases_the_use_of_the_old_one(api, stripe_emulator, shop, make_cart):
    code()
    code("SAVE20", value="20")
    cart = make_cart({shop: 1})
    in_checkout(api, cart.pk)
    checkout_services.set_discount_code(cart_id=cart.pk, code="SAVE10")
    api.post(f"/api/v1/carts/{cart.pk}/payment/", {})

    checkout_services.set_discount_code(cart_id=cart.pk, code="save20")

    assert list(DiscountUse.objects.values_list("code__code", "status")) == [("SAVE10", "released")]
    assert api.get(f"/api/v1/carts/{cart.pk}/").json()["discount"] == money("8.00")


def test_paid_after_its_use_lapsed_and_the_code_ran_out_is_a_flagged_refunded_order(
    api, stripe_emulator, shop, make_cart, mailoutbox, django_capture_on_commit_callbacks
):
    from checkout.completion import Problem, complete_checkout
    from inventory.models import Stock
    from payments import stripe_client
    from payments.models import Refund

    row = code(usage_limit=1)
    cart = make_cart({shop: 1})
    in_checkout(api, cart.pk)
    api.patch(f"/api/v1/carts/{cart.pk}/", {"discount_code": "SAVE10"})
    intent_id = api.post(f"/api/v1/carts/{cart.pk}/payment/", {}).json()["payment_intent_id"]
    stripe_emulator.confirm_directly(intent_id)  # 3-D Secure finished in the browser; its webhook is late
    DiscountUse.objects.filter(holder_id=cart.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    DiscountUse.objects.create(code=row, holder_id="00000000-0000-0000-0000-000000000004", email="b@example.com", status="committed")

    with django_capture_on_commit_callbacks(execute=True):
        outcome = complete_checkout(cart_id=cart.pk, payment_intent=stripe_client.retrieve_payment_intent(intent_id))

    assert outcome.problem == Problem.OUT_OF_STOCK and outcome.order.status == "needs_attention"
    (email,) = [message for message in mailoutbox if message.to == ["ada@example.com"]]
    assert "discount code SAVE10" in email.body and "no longer in stock" not in email.body
    assert "SAVE10" in outcome.order.staff_note
    assert list(Refund.objects.values_list("reason", "amount")) == [("out_of_stock", 4361)]  # 36.00 + 5.00 + 2.61 tax, in full
    assert DiscountUse.objects.filter(code=row).exclude(status="released").count() == 1  # only the other shopper's
    assert (Stock.objects.get(variant=shop).on_hand, Stock.objects.get(variant=shop).reserved) == (100, 0)


def test_cancelling_an_order_gives_its_use_back(api, stripe_emulator, shop, make_cart):
    from checkout.cancellation import cancel_order

    row = code(usage_limit=1)
    cart = make_cart({shop: 1})
    in_checkout(api, cart.pk)
    api.patch(f"/api/v1/carts/{cart.pk}/", {"discount_code": "SAVE10"})
    api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method()})
    order = Order.objects.get(cart_id=cart.pk)

    cancel_order(order_id=order.pk, by_customer=True)

    assert list(DiscountUse.objects.filter(code=row).values_list("status", "order_id")) == [("released", order.pk)]
    other = make_cart({shop: 1})
    in_checkout(api, other.pk, email="bob@example.com")
    assert api.patch(f"/api/v1/carts/{other.pk}/checkout/", {"discount_code": "SAVE10"}).status_code == 200


def test_a_code_that_does_not_apply_leaves_a_currency_sent_with_it_unchanged(api, shop, make_cart, fixed_rates):
    cart = make_cart({shop: 1})

    assert_error(api.patch(f"/api/v1/carts/{cart.pk}/", {"currency": "EUR", "discount_code": "NOPE"}), 400, "discount_not_applicable")

    assert (Cart.objects.get(pk=cart.pk).currency, Cart.objects.get(pk=cart.pk).discount_code) == ("USD", "")
