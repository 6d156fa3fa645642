"""POST /api/v1/carts/{id}/payment/ against localstripe: one intent per checkout for the
server's total, server-side confirmation, declines, 3-D Secure, Stripe unreachable."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
import stripe
from django.utils import timezone

from cart.models import Cart
from inventory.models import Reservation, Stock, StockMovement
from orders.models import Order
from payments import services as payment_services
from payments.models import Payment
from tests.support.api_helpers import assert_error, db_state
from tests.support.net import free_port
from tests.support.stripe_fixtures import CARD_3DS, CARD_DECLINED, CARD_OK, start_paying
from checkout import services as checkout_services
from checkout import payment as checkout_payment
from tests.support.shipping import make_method


def pay(api, cart, payment_method=None):
    body = {} if payment_method is None else {"payment_method": payment_method}
    return api.post(f"/api/v1/carts/{cart.pk}/payment/", body)


@pytest.fixture
def shirt(make_variant):
    return make_variant("SHIRT-M", price="25.00", on_hand=10, size="M")


def test_payment_without_card_creates_one_intent_for_the_server_total(api, stripe_emulator, ready_cart, shirt):
    cart = ready_cart({shirt: 2})

    first = pay(api, cart)
    second = pay(api, cart)

    assert first.status_code == 200, first.content
    body = first.json()
    assert body["status"] == "requires_payment_method"
    assert body["amount"] == {"amount": "50.00", "currency": "USD"}
    assert body["publishable_key"] == "pk_test_emulated"
    assert body["client_secret"].startswith(body["payment_intent_id"])
    assert body["cart"]["status"] == "checkout"
    assert second.json()["payment_intent_id"] == body["payment_intent_id"]
    intent = stripe.PaymentIntent.retrieve(body["payment_intent_id"])
    assert (int(intent.amount), intent.currency, intent.metadata["cart_id"]) == (5000, "usd", str(cart.pk))
    assert Payment.objects.filter(cart=cart).count() == 1


def test_asking_for_payment_extends_the_reservation_to_fifteen_minutes(api, stripe_emulator, ready_cart, shirt):
    cart = ready_cart({shirt: 1})

    before = timezone.now()
    response = pay(api, cart)

    cart.refresh_from_db()
    assert response.status_code == 200
    assert before + timedelta(minutes=15) <= cart.reservation_expires_at <= timezone.now() + timedelta(minutes=15)
    reservation = Reservation.objects.get(holder_id=cart.pk, status=Reservation.Status.ACTIVE)
    assert reservation.expires_at == cart.reservation_expires_at


def test_intent_is_updated_when_the_total_changes(api, stripe_emulator, ready_cart, shirt):
    make_method(code="express", name="Express", price=Decimal("7.50"))
    cart = ready_cart({shirt: 1})
    first = pay(api, cart).json()

    api.patch(f"/api/v1/carts/{cart.pk}/checkout/", {"shipping_method": "express"})
    second = pay(api, cart).json()

    assert second["payment_intent_id"] == first["payment_intent_id"]
    assert second["amount"] == {"amount": "32.50", "currency": "USD"}
    assert int(stripe.PaymentIntent.retrieve(first["payment_intent_id"]).amount) == 3250


def test_card_payment_completes_the_checkout_with_one_order(
    api, stripe_emulator, ready_cart, shirt, mailoutbox, django_capture_on_commit_callbacks
):
    cart = ready_cart({shirt: 3})

    with django_capture_on_commit_callbacks(execute=True):
        response = pay(api, cart, stripe_emulator.payment_method(CARD_OK))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["cart"]["status"] == "completed"
    order = Order.objects.get(cart=cart)
    assert body["cart"]["order"]["number"] == order.number
    assert body["cart"]["order"]["url"].endswith(f"?token={order.access_token}")
    assert order.total.amount == Decimal("75.00") and order.payment_status == "paid"
    stock = Stock.objects.get(variant=shirt)
    assert (stock.on_hand, stock.reserved) == (7, 0)
    sale = StockMovement.objects.get(variant=shirt, reason="sale")
    assert (sale.delta, sale.order_id) == (-3, order.pk)
    assert Reservation.objects.get(holder_id=cart.pk).status == Reservation.Status.COMMITTED
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["ada@example.com"]
    assert order.number in mailoutbox[0].subject
    assert "$75.00" in mailoutbox[0].body and order.access_token in mailoutbox[0].body
    html, mimetype = mailoutbox[0].alternatives[0]
    assert mimetype == "text/html" and order.number in html and "3 x" not in html
    assert int(stripe.PaymentIntent.retrieve(body["payment_intent_id"]).amount) == 7500


def test_asking_again_after_success_returns_the_completed_cart_and_charges_nothing(api, stripe_emulator, ready_cart, shirt):
    cart = ready_cart({shirt: 1})
    first = pay(api, cart, stripe_emulator.payment_method()).json()

    again = pay(api, cart, stripe_emulator.payment_method())

    assert again.status_code == 200
    assert again.json()["payment_intent_id"] == first["payment_intent_id"]
    assert again.json()["cart"]["status"] == "completed"
    assert Order.objects.count() == 1
    assert len(stripe.PaymentIntent.list().data) == 1


def test_declined_card_is_402_and_the_cart_keeps_its_reservation(api, stripe_emulator, ready_cart, shirt):
    cart = ready_cart({shirt: 2})

    response = pay(api, cart, stripe_emulator.payment_method(CARD_DECLINED))

    error = assert_error(response, 402, "payment_failed")
    assert error["details"] == {"decline_code": "card_declined"}
    assert "declined" in error["message"] and "Nothing was charged" in error["message"]
    cart.refresh_from_db()
    assert cart.status == Cart.Status.CHECKOUT and cart.reservation_expires_at > timezone.now()
    assert Reservation.objects.get(holder_id=cart.pk).status == Reservation.Status.ACTIVE
    assert Stock.objects.get(variant=shirt).on_hand == 10
    assert not Order.objects.exists()
    assert Payment.objects.get(cart=cart).error_code == "card_declined"


def test_another_card_after_a_decline_pays_with_a_fresh_intent(api, stripe_emulator, ready_cart, shirt):
    cart = ready_cart({shirt: 2})
    pay(api, cart, stripe_emulator.payment_method(CARD_DECLINED))

    response = pay(api, cart, stripe_emulator.payment_method(CARD_OK))

    assert response.status_code == 200, response.content
    assert response.json()["cart"]["status"] == "completed"
    first, second = Payment.objects.filter(cart=cart).order_by("attempt")
    assert (first.status, second.status) == ("canceled", "succeeded")
    assert Order.objects.get(cart=cart).payments.get() == second


def test_asking_again_without_a_card_after_a_decline_repeats_the_402(api, stripe_emulator, ready_cart, shirt):
    cart = ready_cart({shirt: 1})
    pay(api, cart, stripe_emulator.payment_method(CARD_DECLINED))

    response = pay(api, cart)

    assert assert_error(response, 402, "payment_failed")["details"] == {"decline_code": "card_declined"}


def test_three_d_secure_is_left_to_the_browser_then_completes(api, stripe_emulator, ready_cart, shirt):
    cart = ready_cart({shirt: 1})

    response = pay(api, cart, stripe_emulator.payment_method(CARD_3DS))

    body = response.json()
    assert response.status_code == 200 and body["status"] == "requires_action"
    assert body["cart"]["status"] == "checkout" and not Order.objects.exists()
    stripe_emulator.authenticate(body["payment_intent_id"], body["client_secret"], success=True)
    done = pay(api, cart)
    assert done.status_code == 200
    assert done.json()["status"] == "succeeded"
    assert done.json()["cart"]["status"] == "completed"
    assert Order.objects.filter(cart=cart).count() == 1
    assert Stock.objects.get(variant=shirt).on_hand == 9


def test_failed_three_d_secure_is_402_and_another_card_still_pays(api, stripe_emulator, ready_cart, shirt):
    cart = ready_cart({shirt: 1})
    body = pay(api, cart, stripe_emulator.payment_method(CARD_3DS)).json()
    stripe_emulator.authenticate(body["payment_intent_id"], body["client_secret"], success=False)

    failed = pay(api, cart)

    assert assert_error(failed, 402, "payment_failed")["details"] == {"decline_code": "payment_intent_authentication_failure"}
    cart.refresh_from_db()
    assert cart.status == Cart.Status.CHECKOUT and not Order.objects.exists()
    assert Reservation.objects.get(holder_id=cart.pk).status == Reservation.Status.ACTIVE
    paid = pay(api, cart, stripe_emulator.payment_method(CARD_OK))
    assert paid.json()["cart"]["status"] == "completed"
    assert Order.objects.filter(cart=cart).count() == 1


def test_stripe_unreachable_is_502_and_changes_nothing(api, stripe_emulator, ready_cart, shirt, settings):
    cart = ready_cart({shirt: 2})
    pm = stripe_emulator.payment_method(CARD_OK)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    before = db_state()

    response = pay(api, cart, pm)

    assert_error(response, 502, "payment_provider_unavailable")
    assert db_state() == before
    assert not Payment.objects.exists() and not Order.objects.exists()


def test_stripe_unreachable_at_confirmation_is_502_and_the_next_try_pays(api, stripe_emulator, ready_cart, shirt, settings):
    cart = ready_cart({shirt: 1})
    pm = stripe_emulator.payment_method(CARD_OK)
    pay(api, cart)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"

    failed = pay(api, cart, pm)
    settings.STRIPE_API_BASE = stripe_emulator.url
    paid = pay(api, cart, pm)

    assert_error(failed, 502, "payment_provider_unavailable")
    assert paid.status_code == 200 and paid.json()["cart"]["status"] == "completed"
    assert Payment.objects.filter(cart=cart).count() == 1
    assert Order.objects.filter(cart=cart).count() == 1


def test_payment_needs_email_and_shipping_address(api, stripe_emulator, make_cart, shirt):
    cart = make_cart({shirt: 1})
    api.post(f"/api/v1/carts/{cart.pk}/checkout/")
    before = db_state()

    response = pay(api, cart)

    error = assert_error(response, 400, "checkout_incomplete")
    assert error["details"]["missing"] == ["email", "shipping_address"]
    assert db_state() == before and not Payment.objects.exists()


def test_payment_of_a_cart_not_in_checkout_is_409(api, stripe_emulator, make_cart, shirt):
    cart = make_cart({shirt: 1})

    assert_error(pay(api, cart), 409, "cart_not_in_checkout")


def test_payment_after_the_reservation_expired_is_409(api, stripe_emulator, ready_cart, shirt):
    cart = ready_cart({shirt: 1})
    Cart.objects.filter(pk=cart.pk).update(reservation_expires_at=timezone.now() - timedelta(seconds=1))

    assert_error(pay(api, cart), 409, "reservation_expired")
    assert not Payment.objects.exists()


def test_payment_of_an_unknown_cart_is_404(api, stripe_emulator):
    assert_error(api.post("/api/v1/carts/8d5e9c4e-0000-4000-8000-000000000000/payment/", {}), 404, "not_found")


@pytest.mark.parametrize("payment_method", [12, "", "tok_visa", "pm_" + "x" * 300, ["pm_1"]])
def test_malformed_payment_method_is_400_and_changes_nothing(api, stripe_emulator, ready_cart, shirt, payment_method):
    cart = ready_cart({shirt: 1})
    before = db_state()

    error = assert_error(pay(api, cart, payment_method), 400, "invalid")

    assert "payment_method" in error["details"]
    assert db_state() == before and not Payment.objects.exists()


def test_unknown_payment_method_is_400(api, stripe_emulator, ready_cart, shirt):
    cart = ready_cart({shirt: 1})

    error = assert_error(pay(api, cart, "pm_doesnotexist"), 400, "invalid")

    assert "payment_method" in error["details"]
    cart.refresh_from_db()
    assert cart.status == Cart.Status.CHECKOUT


def test_cancelled_checkout_cancels_its_intent(api, stripe_emulator, ready_cart, shirt):
    cart = ready_cart({shirt: 1})
    intent_id = pay(api, cart).json()["payment_intent_id"]
    api.delete(f"/api/v1/carts/{cart.pk}/checkout/")

    cancelled = checkout_payment.cancel_payment_for_cart(cart.pk)

    assert cancelled == 1
    assert stripe.PaymentIntent.retrieve(intent_id).status == "canceled"
    assert Payment.objects.get(cart=cart).status == "canceled"


def test_cancelling_checkout_cancels_its_intent_once_the_cancel_commits(
    api, stripe_emulator, ready_cart, shirt, django_capture_on_commit_callbacks
):
    cart = ready_cart({shirt: 1})
    intent_id = pay(api, cart).json()["payment_intent_id"]

    with django_capture_on_commit_callbacks(execute=True):
        api.delete(f"/api/v1/carts/{cart.pk}/checkout/")

    assert stripe.PaymentIntent.retrieve(intent_id).status == "canceled"
    assert Payment.objects.get(cart=cart).status == "canceled"


def test_abandoning_a_cart_in_checkout_cancels_its_intent(
    api, stripe_emulator, ready_cart, shirt, django_capture_on_commit_callbacks
):
    cart = ready_cart({shirt: 1})
    intent_id = pay(api, cart).json()["payment_intent_id"]
    Cart.objects.filter(pk=cart.pk).update(last_activity_at=timezone.now() - timedelta(days=8))

    with django_capture_on_commit_callbacks(execute=True):
        assert checkout_services.abandon_idle_carts() == 1

    assert stripe.PaymentIntent.retrieve(intent_id).status == "canceled"
    assert Stock.objects.get(variant=shirt).reserved == 0


def test_manual_capture_authorizes_then_staff_capture_marks_paid(api, stripe_emulator, ready_cart, shirt, settings):
    settings.STRIPE_CAPTURE_METHOD = "manual"
    cart = ready_cart({shirt: 2})

    body = pay(api, cart, stripe_emulator.payment_method()).json()

    assert body["status"] == "requires_capture" and body["cart"]["status"] == "completed"
    order = Order.objects.get(cart=cart)
    assert order.payment_status == "authorized"
    assert Stock.objects.get(variant=shirt).on_hand == 8
    payment_services.capture_order_payment(order_id=order.pk)
    order.refresh_from_db()
    assert order.payment_status == "paid"
    assert stripe.PaymentIntent.retrieve(body["payment_intent_id"]).status == "succeeded"


def test_sweep_cancels_intents_of_checkouts_that_ended_and_keeps_live_ones(api, stripe_emulator, ready_cart, shirt, make_variant):
    from checkout import tasks as checkout_tasks
    from payments import tasks as payment_tasks

    ended, live = ready_cart({shirt: 1}), ready_cart({make_variant("SOCKS", price="5.00"): 1})
    ended_intent = pay(api, ended).json()["payment_intent_id"]
    live_intent = pay(api, live).json()["payment_intent_id"]
    api.delete(f"/api/v1/carts/{ended.pk}/checkout/")
    Payment.objects.update(updated_at=timezone.now() - timedelta(minutes=5))

    result = {
        "refunds_sent": payment_tasks.retry_pending_refunds.delay().get(),
        "intents_cancelled": checkout_tasks.cancel_intents_of_ended_checkouts.delay().get(),
    }

    assert result == {"refunds_sent": 0, "intents_cancelled": 1}
    assert stripe.PaymentIntent.retrieve(ended_intent).status == "canceled"
    assert stripe.PaymentIntent.retrieve(live_intent).status == "requires_payment_method"


def test_cancelling_for_a_cart_back_in_checkout_does_nothing(api, stripe_emulator, ready_cart, shirt):
    cart = ready_cart({shirt: 1})
    intent_id = pay(api, cart).json()["payment_intent_id"]

    assert checkout_payment.cancel_payment_for_cart(cart.pk) == 0
    assert stripe.PaymentIntent.retrieve(intent_id).status == "requires_payment_method"


def test_a_confirmation_refused_as_a_repeat_of_one_that_went_through_still_completes(api, stripe_emulator, ready_cart, shirt, monkeypatch):
    from payments import stripe_client

    cart = ready_cart({shirt: 1})
    real_confirm = stripe_client.confirm_payment_intent

    def confirm_twice(intent_id, *, payment_method, idempotency_key):
        real_confirm(intent_id, payment_method=payment_method, idempotency_key=idempotency_key)  # went through; the answer was lost
        # A retry that Stripe does not recognise as the same request is refused.
        return real_confirm(intent_id, payment_method=payment_method, idempotency_key=f"{idempotency_key}-again")

    monkeypatch.setattr(stripe_client, "confirm_payment_intent", confirm_twice)
    response = pay(api, cart, stripe_emulator.payment_method())

    assert response.status_code == 200 and response.json()["cart"]["status"] == "completed"
    assert Order.objects.filter(cart=cart).count() == 1


# --- a paid intent refused for its amount never blocks the checkout ----------------------


@pytest.fixture
def refused_for_its_amount(api, stripe_emulator, ready_cart, shirt, django_capture_on_commit_callbacks):
    """A cart whose intent the browser paid for $25.00 (3-D Secure finished at Stripe)
    after another tab chose express shipping: the shop refuses it as amount_mismatch."""
    make_method(code="express", name="Express", price=Decimal("7.50"))
    cart = ready_cart({shirt: 1})
    first = pay(api, cart).json()["payment_intent_id"]
    stripe_emulator.confirm_directly(first)
    api.patch(f"/api/v1/carts/{cart.pk}/checkout/", {"shipping_method": "express"})
    with django_capture_on_commit_callbacks(execute=True):
        refused = pay(api, cart)
    assert assert_error(refused, 402, "payment_failed")["details"] == {"decline_code": "amount_mismatch"}
    return cart, first


def _charged_and_refunded(intent_id: str) -> tuple[int, int]:
    intent = stripe.PaymentIntent.retrieve(intent_id)
    refunded = sum(int(r.amount) for r in stripe.Refund.list(charge=intent.latest_charge.id).data)
    return int(intent.amount), refunded


def _one_sale(cart, shirt) -> Order:
    order = Order.objects.get(cart=cart)
    assert list(StockMovement.objects.filter(reason="sale").values_list("delta", "order_id")) == [(-1, order.pk)]
    assert Stock.objects.get(variant=shirt).on_hand == 9
    return order


def test_after_an_amount_mismatch_a_new_card_pays_with_a_new_intent(api, stripe_emulator, refused_for_its_amount, shirt):
    cart, refused_intent = refused_for_its_amount

    response = pay(api, cart, stripe_emulator.payment_method(CARD_OK))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["cart"]["status"] == "completed" and body["payment_intent_id"] != refused_intent
    assert body["amount"] == {"amount": "32.50", "currency": "USD"}
    order = _one_sale(cart, shirt)
    assert order.total.amount == Decimal("32.50") and order.payments.get().stripe_payment_intent_id == body["payment_intent_id"]
    assert _charged_and_refunded(refused_intent) == (2500, 2500)
    assert _charged_and_refunded(body["payment_intent_id"]) == (3250, 0)


def test_after_an_amount_mismatch_asking_without_a_card_gives_a_fresh_intent(api, stripe_emulator, refused_for_its_amount, shirt):
    cart, refused_intent = refused_for_its_amount

    fresh = pay(api, cart)
    again = pay(api, cart)

    assert fresh.status_code == 200, fresh.content
    assert fresh.json()["status"] == "requires_payment_method" and fresh.json()["payment_intent_id"] != refused_intent
    assert again.json()["payment_intent_id"] == fresh.json()["payment_intent_id"]
    assert [p.attempt for p in Payment.objects.filter(cart=cart).order_by("attempt")] == [1, 2]


def test_after_an_amount_mismatch_cancel_and_restart_then_pay(api, stripe_emulator, refused_for_its_amount, shirt):
    cart, refused_intent = refused_for_its_amount
    assert api.delete(f"/api/v1/carts/{cart.pk}/checkout/").status_code == 200
    assert api.post(f"/api/v1/carts/{cart.pk}/checkout/").status_code == 200

    response = pay(api, cart, stripe_emulator.payment_method(CARD_OK))

    assert response.status_code == 200, response.content
    assert response.json()["cart"]["status"] == "completed"
    _one_sale(cart, shirt)


def test_after_an_amount_mismatch_and_expiry_restart_then_pay(api, stripe_emulator, refused_for_its_amount, shirt):
    cart, refused_intent = refused_for_its_amount
    Cart.objects.filter(pk=cart.pk).update(reservation_expires_at=timezone.now() - timedelta(seconds=1))

    expired = pay(api, cart, stripe_emulator.payment_method(CARD_OK))
    assert_error(expired, 409, "reservation_expired")
    assert api.post(f"/api/v1/carts/{cart.pk}/checkout/").status_code == 200
    response = pay(api, cart, stripe_emulator.payment_method(CARD_OK))

    assert response.status_code == 200, response.content
    assert response.json()["cart"]["status"] == "completed"
    _one_sale(cart, shirt)
    assert Order.objects.count() == 1


# --- an intent is reused only in the quote's currency ----------------------------------


def test_an_open_intent_in_another_currency_is_cancelled_and_replaced(api, stripe_emulator, make_cart, shirt, fixed_rates, settings):
    settings.CURRENCIES = tuple(fixed_rates)
    cart = make_cart({shirt: 2}, currency="EUR")
    start_paying(api, cart.pk)
    in_euros = pay(api, cart).json()
    assert in_euros["amount"] == {"amount": "45.00", "currency": "EUR"}
    # The shopper goes back to the cart and switches to dollars; the intent in euros is
    # still open (its cancellation after the cancel has not run yet).
    api.delete(f"/api/v1/carts/{cart.pk}/checkout/")
    api.patch(f"/api/v1/carts/{cart.pk}/", {"currency": "USD"})
    api.post(f"/api/v1/carts/{cart.pk}/checkout/")

    in_dollars = pay(api, cart, stripe_emulator.payment_method(CARD_OK))

    assert in_dollars.status_code == 200, in_dollars.content
    body = in_dollars.json()
    assert body["payment_intent_id"] != in_euros["payment_intent_id"]
    assert body["amount"] == {"amount": "50.00", "currency": "USD"} and body["cart"]["status"] == "completed"
    charged = stripe.PaymentIntent.retrieve(body["payment_intent_id"])
    assert (int(charged.amount), charged.currency, charged.status) == (5000, "usd", "succeeded")
    euros = stripe.PaymentIntent.retrieve(in_euros["payment_intent_id"])
    assert (int(euros.amount), euros.currency, euros.status) == (4500, "eur", "canceled")
    order = Order.objects.get(cart=cart)
    assert (order.currency, order.total.amount) == ("USD", Decimal("50.00"))


# --- the intent is on record even when the cart cannot pay any more -----------------------


def _during_intent_creation(monkeypatch, change):
    from payments import stripe_client

    real = stripe_client.create_payment_intent

    def create_then_change(**kwargs):
        intent = real(**kwargs)
        change()  # what another request commits while Stripe is being asked
        return intent

    monkeypatch.setattr(stripe_client, "create_payment_intent", create_then_change)


def test_reservation_running_out_during_the_stripe_calls_is_409_reservation_expired_with_the_intent_recorded(
    api, stripe_emulator, ready_cart, shirt, monkeypatch
):
    cart = ready_cart({shirt: 1})
    # The reservation ends while Stripe creates the intent, after the request began.
    _during_intent_creation(monkeypatch, lambda: Cart.objects.filter(pk=cart.pk).update(reservation_expires_at=timezone.now()))

    response = pay(api, cart, stripe_emulator.payment_method(CARD_OK))

    assert_error(response, 409, "reservation_expired")
    payment = Payment.objects.get(cart=cart)
    intent = stripe.PaymentIntent.retrieve(payment.stripe_payment_intent_id)
    assert intent.status == "requires_payment_method"  # recorded, never confirmed
    assert not Order.objects.exists()


def test_checkout_ended_during_the_stripe_calls_is_409_and_the_sweeper_cancels_the_recorded_intent(
    api, stripe_emulator, ready_cart, shirt, monkeypatch
):
    cart = ready_cart({shirt: 1})
    _during_intent_creation(monkeypatch, lambda: Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.ACTIVE))

    response = pay(api, cart, stripe_emulator.payment_method(CARD_OK))

    assert_error(response, 409, "cart_not_in_checkout")
    payment = Payment.objects.get(cart=cart)
    assert checkout_payment.cancel_intents_of_ended_checkouts(now=timezone.now() + timedelta(minutes=5)) == 1
    assert stripe.PaymentIntent.retrieve(payment.stripe_payment_intent_id).status == "canceled"
    assert not Order.objects.exists()


# --- two requests paying for one cart -------------------------------------------------


@contextmanager
def payment_lock_held_elsewhere(cart_id):
    """Another process's payment request of this cart, holding its lock until released."""
    import threading

    from django.db import connection

    from tests.support.race import Background

    release = threading.Event()
    taken = threading.Event()

    def hold():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [payment_services._lock_key(cart_id)])
            taken.set()
            release.wait(30)
            cursor.execute("SELECT pg_advisory_unlock(%s)", [payment_services._lock_key(cart_id)])

    holder = Background(hold, name="other-request")
    assert taken.wait(10)
    try:
        yield release
    finally:
        release.set()
        holder.result()


def test_a_payment_request_waiting_too_long_for_another_is_429_with_retry_after(api, stripe_emulator, ready_cart, shirt, monkeypatch):
    monkeypatch.setattr(payment_services, "PAYMENT_LOCK_WAIT_SECONDS", 0.3)
    cart = ready_cart({shirt: 1})
    before = db_state()

    with payment_lock_held_elsewhere(cart.pk):
        busy = pay(api, cart, stripe_emulator.payment_method(CARD_OK))

    error = assert_error(busy, 429, "rate_limited")
    assert busy["Retry-After"] == "2" and error["details"] == {"retry_after": 2}
    assert "being processed" in error["message"]
    assert db_state() == before and not Payment.objects.exists()
    assert stripe.PaymentIntent.list().data == []
    retried = pay(api, cart, stripe_emulator.payment_method(CARD_OK))
    assert retried.status_code == 200 and retried.json()["cart"]["status"] == "completed"


def test_a_payment_request_waits_for_a_short_one_of_the_same_cart(api, stripe_emulator, ready_cart, shirt):
    import threading

    cart = ready_cart({shirt: 1})

    with payment_lock_held_elsewhere(cart.pk) as release:
        threading.Timer(0.5, release.set).start()
        response = pay(api, cart, stripe_emulator.payment_method(CARD_OK))

    assert response.status_code == 200, response.content
    assert response.json()["cart"]["status"] == "completed"


# --- a checkout does not end while its card is being charged -----------------------------


def test_cancelling_checkout_while_a_payment_runs_too_long_is_429_and_changes_nothing(api, stripe_emulator, ready_cart, shirt, monkeypatch):
    monkeypatch.setattr(payment_services, "PAYMENT_LOCK_WAIT_SECONDS", 0.3)
    cart = ready_cart({shirt: 2})
    before = db_state()

    with payment_lock_held_elsewhere(cart.pk):
        response = api.delete(f"/api/v1/carts/{cart.pk}/checkout/")

    error = assert_error(response, 429, "rate_limited")
    assert response["Retry-After"] == "2" and "being processed" in error["message"]
    assert db_state() == before
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.CHECKOUT
    assert Stock.objects.get(variant=shirt).reserved == 2


def test_the_checkout_page_cancel_while_a_payment_runs_goes_back_to_the_payment_step(stripe_emulator, ready_cart, shirt, monkeypatch):
    from django.test import Client

    from cart.session import SESSION_KEY

    monkeypatch.setattr(payment_services, "PAYMENT_LOCK_WAIT_SECONDS", 0.3)
    cart = ready_cart({shirt: 1})
    browser = Client()
    session = browser.session
    session[SESSION_KEY] = str(cart.pk)
    session.save()

    with payment_lock_held_elsewhere(cart.pk):
        response = browser.post("/checkout/cancel/")

    assert response.status_code == 302 and response["Location"] == "/checkout/payment/"
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.CHECKOUT
    page = browser.get("/checkout/payment/", follow=True)  # no shipping method yet: the shipping step shows it
    assert page.status_code == 200 and "being processed" in page.content.decode()


def test_abandoning_skips_a_cart_whose_payment_runs_and_takes_it_next_time(api, stripe_emulator, ready_cart, shirt, make_variant, monkeypatch):
    monkeypatch.setattr(payment_services, "PAYMENT_LOCK_WAIT_SECONDS", 0.2)
    paying, idle = ready_cart({shirt: 1}), ready_cart({make_variant("SOCKS", price="5.00"): 1})
    Cart.objects.update(last_activity_at=timezone.now() - timedelta(days=30))

    with payment_lock_held_elsewhere(paying.pk):
        assert checkout_services.abandon_idle_carts() == 1

    assert Cart.objects.get(pk=paying.pk).status == Cart.Status.CHECKOUT
    assert Cart.objects.get(pk=idle.pk).status == Cart.Status.ABANDONED
    assert checkout_services.abandon_idle_carts() == 1
    assert Cart.objects.get(pk=paying.pk).status == Cart.Status.ABANDONED


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_cancel_arriving_while_the_card_is_charged_waits_and_finds_the_order(api, stripe_emulator, ready_cart, shirt, mailoutbox):
    from shop.errors import CartNotInCheckout
    from tests.support.race import Background, pause_after

    cart = ready_cart({shirt: 2})
    card = stripe_emulator.payment_method(CARD_OK)

    with pause_after("payments.stripe_client.confirm_payment_intent", thread_name="pay") as pause:
        paying = Background(lambda: checkout_payment.request_payment(cart_id=cart.pk, payment_method=card), name="pay")
        pause.wait_reached()  # Stripe has charged the card; the shop has not completed yet
        cancel = Background(lambda: checkout_services.cancel_checkout(cart_id=cart.pk), name="cancel")
        with pytest.raises(TimeoutError):
            cancel.outcome(timeout=0.5)  # the cancel waits for the payment
        assert Cart.objects.get(pk=cart.pk).status == Cart.Status.CHECKOUT
        pause.resume()
        paid = paying.result()
        cancelled = cancel.outcome()

    assert paid.status == "succeeded"
    assert isinstance(cancelled.error, CartNotInCheckout)
    order = Order.objects.get(cart=cart)
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.COMPLETED
    assert list(StockMovement.objects.filter(reason="sale").values_list("delta", "order_id")) == [(-2, order.pk)]
    stock = Stock.objects.get(variant=shirt)
    assert (stock.on_hand, stock.reserved) == (8, 0)


# --- the payment endpoint's rate limit (the "checkout" scope) --------------------------------


def test_payments_past_the_checkout_rate_limit_are_429_with_retry_after(api, stripe_emulator, ready_cart, shirt, settings):
    from django.core.cache import cache

    cart = ready_cart({shirt: 1})
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "checkout": "3/minute"},
    }
    cache.clear()

    payments = [pay(api, cart) for _ in range(3)]
    limited = pay(api, cart)

    assert [r.status_code for r in payments] == [200, 200, 200]
    error = assert_error(limited, 429, "rate_limited")
    assert int(limited["Retry-After"]) >= 1 and error["details"]["retry_after"] >= 1
    assert len(stripe.PaymentIntent.list().data) == 1  # one intent per checkout, reused
