"""checkout.completion.complete_checkout: one order, one stock commit, one email whatever the
callers; the quote check; invariant 12 (paid after the reservation lapsed); refunds."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import stripe
from django.core import mail
from django.utils import timezone
from moneyed import Money

from cart import services as cart_services
from cart.models import Cart, CartLine
from inventory import services as inventory
from inventory.models import Reservation, Stock, StockMovement
from orders import services as order_services
from orders.models import Order, OrderNumberSequence
from checkout.completion import Problem
from payments import refunds, stripe_client
from payments.models import Payment, Refund
from tests.support.net import free_port
from tests.support.race import Crew
from tests.support.stripe_fixtures import ADDRESS
from checkout import services as checkout_services
from checkout import completion as checkout_completion


def paid_intent(api, emulator, cart) -> stripe_client.PaymentIntentInfo:
    """The cart's intent from the payment endpoint, then paid at Stripe by the browser."""
    response = api.post(f"/api/v1/carts/{cart.pk}/payment/", {})
    assert response.status_code == 200, response.content
    emulator.confirm_directly(response.json()["payment_intent_id"])
    return stripe_client.retrieve_payment_intent(response.json()["payment_intent_id"])


def expire(cart: Cart, *, sweep: bool) -> None:
    past = timezone.now() - timedelta(seconds=1)
    Cart.objects.filter(pk=cart.pk).update(reservation_expires_at=past)
    Reservation.objects.filter(holder_id=cart.pk, status="active").update(expires_at=past)
    if sweep:
        inventory.expire_reservations()


def charge_refunded(intent_id: str) -> int:
    charge = stripe.PaymentIntent.retrieve(intent_id).latest_charge
    return sum(int(r.amount) for r in stripe.Refund.list(charge=charge.id).data)


@pytest.fixture
def lamp(make_variant):
    return make_variant("LAMP-1", price="40.00", on_hand=2, finish="brass")


# --- exactly once ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_concurrent_callers_make_one_order_one_commit_one_email(api, stripe_emulator, ready_cart, lamp, mailoutbox):
    cart = ready_cart({lamp: 2})
    intent = paid_intent(api, stripe_emulator, cart)

    with Crew(8) as crew:
        outcomes = crew.run([lambda: checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=intent)] * 8)

    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    orders = {o.value.order.pk for o in outcomes}
    assert len(orders) == 1 and sum(o.value.created for o in outcomes) == 1
    assert Order.objects.count() == 1
    assert list(StockMovement.objects.filter(reason="sale").values_list("delta", flat=True)) == [-2]
    assert (Stock.objects.get(variant=lamp).on_hand, Stock.objects.get(variant=lamp).reserved) == (0, 0)
    assert len(mail.outbox) == 1


def test_a_second_call_returns_the_same_order(api, stripe_emulator, ready_cart, lamp):
    cart = ready_cart({lamp: 1})
    intent = paid_intent(api, stripe_emulator, cart)

    first = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=intent)
    second = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=intent)

    assert (first.created, second.created) == (True, False)
    assert first.order.pk == second.order.pk and second.problem == Problem.NONE
    assert StockMovement.objects.filter(reason="sale").count() == 1


def test_an_unpaid_intent_completes_nothing(api, stripe_emulator, ready_cart, lamp):
    cart = ready_cart({lamp: 1})
    intent_id = api.post(f"/api/v1/carts/{cart.pk}/payment/", {}).json()["payment_intent_id"]

    outcome = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=stripe_client.retrieve_payment_intent(intent_id))

    assert outcome == checkout_completion.CheckoutOutcome(None, False, Problem.NOT_PAID)
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.CHECKOUT


# --- the order snapshot ---------------------------------------------------------------


def test_order_snapshots_lines_prices_rate_and_addresses(api, stripe_emulator, ready_cart, make_variant, fixed_rates, settings):
    settings.CURRENCIES = tuple(fixed_rates)
    vase = make_variant("VASE-9", price="19.99", on_hand=5, colour="green")
    cart = cart_services.create_cart(currency="EUR")
    cart_services.add_line(cart_id=cart.pk, sku="VASE-9", quantity=3)
    ready_cart_body = api.post(f"/api/v1/carts/{cart.pk}/checkout/").json()
    assert ready_cart_body["status"] == "checkout"
    api.patch(f"/api/v1/carts/{cart.pk}/checkout/", {"email": "ed@example.com", "shipping_address": ADDRESS, "billing_address": {**ADDRESS, "name": "Ed Billing"}})
    intent = paid_intent(api, stripe_emulator, cart)

    order = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=intent).order

    vase.price = Money(Decimal("99.00"), "USD")
    vase.name = "Renamed"
    vase.save()
    order.refresh_from_db()
    line = order.lines.get()
    assert (line.sku, line.product_name, line.variant_name, line.attributes) == ("VASE-9", vase.product.name, "green", {"colour": "green"})
    assert line.unit_price_usd == Money(Decimal("19.99"), "USD")
    assert line.unit_price == Money(Decimal("17.99"), "EUR")  # 19.99 x 0.9 = 17.991, half-up
    assert line.line_total == Money(Decimal("53.97"), "EUR") and order.total == Money(Decimal("53.97"), "EUR")
    assert order.exchange_rate == Decimal("0.9") and order.currency == "EUR"
    assert intent.amount == 5397 and intent.currency == "EUR"
    assert order.email == "ed@example.com" and order.shipping_address == ADDRESS
    assert order.billing_address["name"] == "Ed Billing"


def test_order_numbers_count_up_per_year(api, stripe_emulator, ready_cart, make_variant):
    OrderNumberSequence.objects.create(year=2031, last=122)

    assert order_services.next_order_number(2031) == "ORD-2031-00123"
    assert order_services.next_order_number(2031) == "ORD-2031-00124"
    assert order_services.next_order_number(2032) == "ORD-2032-00001"


# --- the quote check ------------------------------------------------------------------


def test_a_charge_that_differs_from_the_quote_is_refunded_and_flagged_without_an_order(
    api, stripe_emulator, ready_cart, lamp, django_capture_on_commit_callbacks, settings
):
    settings.STAFF_ALERT_EMAILS = ["staff@example.com"]
    cart = ready_cart({lamp: 1})
    intent = paid_intent(api, stripe_emulator, cart)
    # The quote moved after the intent was paid (the catalog price alone no longer can).
    CartLine.objects.filter(cart=cart).update(quoted_unit_price_usd=Decimal("45.00"))

    with django_capture_on_commit_callbacks(execute=True):
        outcome = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=intent)

    assert (outcome.order, outcome.problem) == (None, Problem.AMOUNT_MISMATCH)
    assert not Order.objects.exists()
    payment = Payment.objects.get(cart=cart)
    assert payment.needs_attention and "$40.00" in payment.attention_reason and "$45.00" in payment.attention_reason
    refund = Refund.objects.get(payment=payment)
    assert (refund.status, refund.amount, refund.reason) == ("succeeded", 4000, "amount_mismatch")
    assert charge_refunded(intent.id) == 4000
    cart.refresh_from_db()
    assert cart.status == Cart.Status.CHECKOUT  # the shopper can pay the right amount
    assert Reservation.objects.get(holder_id=cart.pk).status == "active"
    assert Stock.objects.get(variant=lamp).on_hand == 2
    assert [m.to for m in mail.outbox] == [["staff@example.com"]]


def test_a_repeated_mismatch_refunds_once(api, stripe_emulator, ready_cart, lamp, django_capture_on_commit_callbacks):
    cart = ready_cart({lamp: 1})
    intent = paid_intent(api, stripe_emulator, cart)
    # The quote moved after the intent was paid (the catalog price alone no longer can).
    CartLine.objects.filter(cart=cart).update(quoted_unit_price_usd=Decimal("45.00"))

    with django_capture_on_commit_callbacks(execute=True):
        checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=intent)
        checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=intent)

    assert Refund.objects.count() == 1 and charge_refunded(intent.id) == 4000


def test_a_second_payment_for_a_completed_cart_is_refunded(api, stripe_emulator, ready_cart, lamp, django_capture_on_commit_callbacks):
    cart = ready_cart({lamp: 1})
    first = paid_intent(api, stripe_emulator, cart)
    checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=first)
    second = stripe.PaymentIntent.create(amount=4000, currency="usd", metadata={"cart_id": str(cart.pk)})
    stripe_emulator.confirm_directly(second.id)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=stripe_client.retrieve_payment_intent(second.id))

    assert outcome.problem == Problem.DUPLICATE_PAYMENT and outcome.order.payments.count() == 1
    assert charge_refunded(second.id) == 4000 and charge_refunded(first.id) == 0
    assert Order.objects.count() == 1 and StockMovement.objects.filter(reason="sale").count() == 1


# --- invariant 12: paid after the reservation lapsed ------------------------------------


@pytest.mark.parametrize("sweep", [False, True], ids=["unswept", "swept"])
def test_paid_after_expiry_with_stock_left_re_reserves_and_orders(api, stripe_emulator, ready_cart, lamp, sweep):
    cart = ready_cart({lamp: 2})
    intent = paid_intent(api, stripe_emulator, cart)
    expire(cart, sweep=sweep)

    outcome = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=intent)

    assert outcome.created and outcome.problem == Problem.NONE
    assert outcome.order.status == "paid"
    stock = Stock.objects.get(variant=lamp)
    assert (stock.on_hand, stock.reserved) == (0, 0)
    assert StockMovement.objects.get(reason="sale").order_id == outcome.order.pk


def test_paid_after_expiry_without_stock_flags_the_order_refunds_and_tells_the_shopper(
    api, stripe_emulator, ready_cart, make_cart, lamp, django_capture_on_commit_callbacks, settings
):
    settings.STAFF_ALERT_EMAILS = ["staff@example.com"]
    cart = ready_cart({lamp: 2})
    intent = paid_intent(api, stripe_emulator, cart)
    expire(cart, sweep=False)
    rival = make_cart({lamp: 2})
    checkout_services.start_checkout(cart_id=rival.pk)  # takes the two lamps the lapsed reservation freed

    with django_capture_on_commit_callbacks(execute=True):
        outcome = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=intent)

    order = Order.objects.get(pk=outcome.order.pk)
    assert outcome.problem == Problem.OUT_OF_STOCK and order.status == "needs_attention"
    assert "could no longer be supplied" in order.staff_note and "out of stock" in order.staff_note
    assert (order.payment_status, order.refunded) == ("refunded", Money(Decimal("80.00"), "USD"))
    assert charge_refunded(intent.id) == 8000
    assert Refund.objects.get().reason == "out_of_stock"
    stock = Stock.objects.get(variant=lamp)
    assert (stock.on_hand, stock.reserved) == (2, 2)  # the rival keeps its reservation
    assert not StockMovement.objects.filter(reason="sale").exists()
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.COMPLETED
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "staff@example.com"]  # no confirmation
    shopper = next(m for m in mail.outbox if m.to == ["ada@example.com"])
    staff = next(m for m in mail.outbox if m.to == ["staff@example.com"])
    assert "refunding" in shopper.subject and "$80.00" in shopper.body and "LAMP-1" in shopper.alternatives[0][0]
    assert order.number in staff.subject


# --- paid after the checkout ended (cancelled or abandoned) ------------------------------


def end_checkout(cart: Cart, how: str) -> None:
    if how == "cancelled":
        checkout_services.cancel_checkout(cart_id=cart.pk)
    else:
        idle_since = timezone.now() - settings_cart_abandon_after() - timedelta(minutes=1)
        Cart.objects.filter(pk=cart.pk).update(last_activity_at=idle_since)
        assert checkout_services.abandon_idle_carts() == 1


def settings_cart_abandon_after() -> timedelta:
    from django.conf import settings as django_settings

    return django_settings.CART_ABANDON_AFTER


def intent_paid_after_checkout_ended(api, emulator, cart, *, how: str, change=lambda: None) -> stripe_client.PaymentIntentInfo:
    """The payment step made the intent; the checkout ends (its intent's cancellation,
    queued after commit, has not run), `change` happens, then 3-D Secure finishes in the
    browser: Stripe holds the money for the old quote."""
    response = api.post(f"/api/v1/carts/{cart.pk}/payment/", {})
    assert response.status_code == 200, response.content
    end_checkout(cart, how)
    change()
    emulator.confirm_directly(response.json()["payment_intent_id"])
    return stripe_client.retrieve_payment_intent(response.json()["payment_intent_id"])


@pytest.mark.parametrize("how", ["cancelled", "abandoned"])
def test_paid_after_the_checkout_ended_with_the_same_lines_orders_at_the_quoted_prices(
    api, stripe_emulator, ready_cart, lamp, how, django_capture_on_commit_callbacks
):
    cart = ready_cart({lamp: 2})
    intent = intent_paid_after_checkout_ended(api, stripe_emulator, cart, how=how)
    lamp.price = Money(Decimal("99.00"), "USD")  # the catalog moved since the quote
    lamp.save()

    with django_capture_on_commit_callbacks(execute=True):
        outcome = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=intent)

    assert outcome.created and outcome.problem == Problem.NONE
    order = outcome.order
    assert order.total == Money(Decimal("80.00"), "USD") and order.lines.get().unit_price_usd == Money(Decimal("40.00"), "USD")
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.COMPLETED
    assert list(StockMovement.objects.filter(reason="sale").values_list("delta", "order_id")) == [(-2, order.pk)]
    stock = Stock.objects.get(variant=lamp)
    assert (stock.on_hand, stock.reserved) == (0, 0)
    assert charge_refunded(intent.id) == 0
    assert [m.to for m in mail.outbox] == [["ada@example.com"]] and order.number in mail.outbox[0].subject


@pytest.mark.parametrize("change", ["lines_edited", "merged_at_login"])
def test_paid_after_the_checkout_ended_and_the_lines_changed_is_refunded_without_an_order(
    api, stripe_emulator, ready_cart, lamp, make_variant, change, django_capture_on_commit_callbacks, settings
):
    from django.contrib.auth import get_user_model

    settings.STAFF_ALERT_EMAILS = ["staff@example.com"]
    bulb = make_variant("BULB-1", price="3.00", on_hand=5)
    cart = ready_cart({lamp: 2})
    user = get_user_model().objects.create_user("ada", password="pw-12345678")
    users_cart = cart_services.create_cart(user_id=user.pk)

    def shopper_changes_the_cart():
        if change == "lines_edited":
            cart_services.set_line_quantity(cart_id=cart.pk, line_id=CartLine.objects.get(cart=cart).pk, quantity=1)
            cart_services.add_line(cart_id=cart.pk, sku="BULB-1", quantity=3)
        else:  # signing in moves the lines into the user's cart and abandons this one
            cart_services.merge_carts(source_id=cart.pk, user_id=user.pk)

    intent = intent_paid_after_checkout_ended(api, stripe_emulator, cart, how="cancelled", change=shopper_changes_the_cart)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=intent)
        again = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=intent)

    assert (outcome.order, outcome.problem) == (None, Problem.CART_CHANGED) and again.problem == Problem.CART_CHANGED
    assert not Order.objects.exists()
    cart.refresh_from_db()
    if change == "lines_edited":
        assert cart.status == Cart.Status.ACTIVE
        assert dict(CartLine.objects.filter(cart=cart).values_list("variant__sku", "quantity")) == {"LAMP-1": 1, "BULB-1": 3}
    else:
        assert cart.status == Cart.Status.ABANDONED and not CartLine.objects.filter(cart=cart).exists()
        assert dict(CartLine.objects.filter(cart=users_cart).values_list("variant__sku", "quantity")) == {"LAMP-1": 2}
    payment = Payment.objects.get(cart=cart)
    assert payment.needs_attention and "changed" in payment.attention_reason
    refund = Refund.objects.get(payment=payment)
    assert (refund.status, refund.amount, refund.reason) == ("succeeded", 8000, "cart_changed")
    assert charge_refunded(intent.id) == 8000
    for variant, on_hand in ((lamp, 2), (bulb, 5)):
        stock = Stock.objects.get(variant=variant)
        assert (stock.on_hand, stock.reserved) == (on_hand, 0)
    assert not StockMovement.objects.filter(reason="sale").exists()
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "staff@example.com"]
    shopper = next(m for m in mail.outbox if m.to == ["ada@example.com"])
    assert "$80.00" in shopper.subject and "refunding the full $80.00" in shopper.body and "No order" in shopper.body


def test_an_old_intent_paid_for_a_restarted_checkout_with_other_lines_of_the_same_total_makes_no_order(
    api, stripe_emulator, ready_cart, lamp, make_variant, django_capture_on_commit_callbacks
):
    make_variant("SHADE-1", price="40.00", on_hand=3)
    cart = ready_cart({lamp: 1})

    def swap_the_lamp_for_a_shade_and_check_out_again():
        CartLine.objects.filter(cart=cart).delete()
        cart_services.add_line(cart_id=cart.pk, sku="SHADE-1", quantity=1)
        checkout_services.start_checkout(cart_id=cart.pk)

    intent = intent_paid_after_checkout_ended(api, stripe_emulator, cart, how="cancelled", change=swap_the_lamp_for_a_shade_and_check_out_again)
    assert intent.amount == 4000  # the new quote's total too

    with django_capture_on_commit_callbacks(execute=True):
        outcome = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=intent)

    assert (outcome.order, outcome.problem) == (None, Problem.CART_CHANGED)
    assert not Order.objects.exists() and charge_refunded(intent.id) == 4000
    cart.refresh_from_db()
    assert cart.status == Cart.Status.CHECKOUT  # the new checkout goes on, its reservation kept
    assert Reservation.objects.get(holder_id=cart.pk, status="active").variant.sku == "SHADE-1"


def test_paid_after_the_checkout_ended_with_the_stock_gone_is_a_flagged_refunded_order(
    api, stripe_emulator, ready_cart, make_cart, lamp, django_capture_on_commit_callbacks
):
    cart = ready_cart({lamp: 2})
    # Once the cancel released them, another shopper reserves both lamps.
    intent = intent_paid_after_checkout_ended(
        api, stripe_emulator, cart, how="cancelled", change=lambda: checkout_services.start_checkout(cart_id=make_cart({lamp: 2}).pk)
    )

    with django_capture_on_commit_callbacks(execute=True):
        outcome = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=intent)

    assert outcome.problem == Problem.OUT_OF_STOCK
    order = Order.objects.get(pk=outcome.order.pk)
    assert (order.status, order.payment_status, order.total) == ("needs_attention", "refunded", Money(Decimal("80.00"), "USD"))
    assert charge_refunded(intent.id) == 8000
    stock = Stock.objects.get(variant=lamp)
    assert (stock.on_hand, stock.reserved) == (2, 2)  # the rival keeps its reservation


# --- staff refunds --------------------------------------------------------------------


def test_staff_refunds_are_bounded_by_what_was_charged(api, stripe_emulator, ready_cart, lamp):
    cart = ready_cart({lamp: 1})
    order = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=paid_intent(api, stripe_emulator, cart)).order

    first = refunds.refund_order(order_id=order.pk, amount=Money(Decimal("10.00"), "USD"), reason="requested_by_customer")
    with pytest.raises(refunds.RefundRefused) as too_much:
        refunds.refund_order(order_id=order.pk, amount=Money(Decimal("30.01"), "USD"), reason="requested_by_customer")
    rest = refunds.refund_order(order_id=order.pk, amount=None, reason="requested_by_customer")
    with pytest.raises(refunds.RefundRefused):
        refunds.refund_order(order_id=order.pk, amount=Money(Decimal("0.01"), "USD"), reason="requested_by_customer")

    assert "$30.00" in too_much.value.message
    assert (first.status, first.amount, rest.status, rest.amount) == ("succeeded", 1000, "succeeded", 3000)
    assert charge_refunded(order.payments.get().stripe_payment_intent_id) == 4000
    order.refresh_from_db()
    assert (order.refunded.amount, order.payment_status, order.status) == (Decimal("40.00"), "refunded", "refunded")


@pytest.mark.parametrize(
    "amount, message",
    [(Money(Decimal("5"), "EUR"), "in USD"), (Money(Decimal("0"), "USD"), "greater than zero"), (Money(Decimal("1.001"), "USD"), "decimals")],
)
def test_bad_refund_amounts_are_refused_and_change_nothing(api, stripe_emulator, ready_cart, lamp, amount, message):
    cart = ready_cart({lamp: 1})
    order = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=paid_intent(api, stripe_emulator, cart)).order

    with pytest.raises(Exception) as refused:
        refunds.refund_order(order_id=order.pk, amount=amount, reason="requested_by_customer")

    assert message in str(refused.value)
    assert not Refund.objects.exists()
    assert charge_refunded(order.payments.get().stripe_payment_intent_id) == 0


def test_a_refund_while_stripe_is_away_stays_pending_and_is_sent_once_later(api, stripe_emulator, ready_cart, lamp, settings):
    cart = ready_cart({lamp: 1})
    order = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=paid_intent(api, stripe_emulator, cart)).order
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"

    refund = refunds.refund_order(order_id=order.pk, amount=Money(Decimal("15.00"), "USD"), reason="requested_by_customer")

    assert refund.status == "pending" and "not reachable" in refund.error
    settings.STRIPE_API_BASE = stripe_emulator.url
    assert refunds.retry_pending_refunds(now=timezone.now() + timedelta(minutes=5)) == 1
    assert refunds.retry_pending_refunds(now=timezone.now() + timedelta(minutes=5)) == 0
    refund.refresh_from_db()
    assert refund.status == "succeeded" and refund.stripe_refund_id.startswith("re_")
    assert charge_refunded(order.payments.get().stripe_payment_intent_id) == 1500


def test_authorized_payment_without_stock_releases_the_authorization(api, stripe_emulator, ready_cart, make_cart, lamp, settings, django_capture_on_commit_callbacks):
    settings.STRIPE_CAPTURE_METHOD = "manual"
    cart = ready_cart({lamp: 2})
    intent = paid_intent(api, stripe_emulator, cart)
    assert intent.status == "requires_capture"
    expire(cart, sweep=True)
    checkout_services.start_checkout(cart_id=make_cart({lamp: 2}).pk)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=intent)

    assert outcome.problem == Problem.OUT_OF_STOCK
    assert stripe.PaymentIntent.retrieve(intent.id).status == "canceled"
    refund = Refund.objects.get()
    assert (refund.status, refund.stripe_refund_id) == ("succeeded", "")
    order = Order.objects.get(pk=outcome.order.pk)
    assert (order.status, order.payment_status) == ("needs_attention", "refunded")


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_webhook_arriving_mid_confirmation_waits_for_the_cart_lock_then_finds_the_order(api, stripe_emulator, ready_cart, lamp, mailoutbox):
    import json as _json

    from payments import webhooks
    from tests.support.race import Background, pause_after, wait_until_blocked

    cart = ready_cart({lamp: 2})
    intent = paid_intent(api, stripe_emulator, cart)
    (event,) = stripe_emulator.events("payment_intent.succeeded")
    body = _json.dumps(event).encode()

    with pause_after("inventory.services.commit", thread_name="sync") as pause:
        sync = Background(lambda: checkout_completion.complete_checkout(cart_id=cart.pk, payment_intent=intent), name="sync")
        pause.wait_reached()  # the synchronous path holds the cart and stock locks, order not yet made
        hook = Background(lambda: webhooks.receive(payload=body, signature=stripe_emulator.sign(body)), name="webhook")
        wait_until_blocked(hook.backend_pid)
        pause.resume()
        created, handled = sync.result(), hook.result()

    assert created.created and handled.result == f"order {created.order.number} already existed"
    assert Order.objects.count() == 1
    assert list(StockMovement.objects.filter(reason="sale").values_list("delta", "order_id")) == [(-2, created.order.pk)]
    assert len(mail.outbox) == 1
