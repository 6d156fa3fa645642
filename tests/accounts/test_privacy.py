"""A customer's data: the JSON download holds their profile, orders and carts and nobody
else's; deleting the account anonymises their orders and carts (no email, name, street,
city, postal code or phone left anywhere in those tables) while every amount, line, tax,
discount, refund, event and ledger row stays as it was; another customer is untouched;
open orders or an open checkout stop it; the pages ask for the password first."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import stripe
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains

from accounts import privacy
from addresses import services as address_services
from addresses.formatting import address_lines
from addresses.models import SavedAddress
from cart.models import Cart, CartLine
from checkout import returns
from checkout.cancellation import cancel_order
from discounts.models import DiscountCode, DiscountUse
from inventory.models import Stock, StockMovement
from orders import fulfilment
from orders.models import Order, OrderEvent, OrderLine, RefundNote, ReturnedLine, Shipment, ShipmentLine
from payments import customers as payment_customers
from payments import stripe_client
from payments.models import Payment, Refund, StripeCustomer
from taxes.models import TaxRate
from tests.support.orders import line_ids
from tests.support.shipping import make_method, rest_of_world

PASSWORD = "linen-shirt-42"
ADA_SHIPPING = {"name": "Ada Lovelace", "line1": "12 Marylebone Road", "city": "Springfield", "region": "CA", "postal_code": "90210", "country": "US"}
ADA_BILLING = {"name": "Augusta Ada King", "line1": "7 Byron Lane", "line2": "Flat 3", "city": "Ockham", "postal_code": "GU23 6NG", "country": "GB"}
ADA_PHONE = "+1 555 0100 777"
BOB_SHIPPING = {"name": "Bob Babbage", "line1": "1 Engine Street", "city": "Teignmouth", "postal_code": "TQ14 8SA", "country": "GB"}
# Everything that names or finds Ada, as it was typed at her checkouts.
ADA_PERSONAL = [
    "ada@example.com", "ADA@example.com", "Ada Lovelace", "Augusta Ada King", "12 Marylebone Road", "7 Byron Lane", "Flat 3",
    "Springfield", "Ockham", "90210", "GU23 6NG", ADA_PHONE,
]


# --- the world: Ada with three orders (one a guest order), a cart; Bob with one order --------


def customer(email: str, *, verified: bool = True):
    user = get_user_model().objects.create_user(username=email.split("@")[0], email=email, password=PASSWORD, first_name=email.split("@")[0].title(), last_name="Tester")
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    return user


def place_order(api, stripe_emulator, make_cart, lines, *, email: str, shipping: dict, billing: dict | None = None, user=None, currency: str = "USD", code: str | None = None) -> Order:
    cart = make_cart(lines, currency=currency)
    if user is not None:
        Cart.objects.filter(pk=cart.pk).update(user=user)  # as if made while signed in
    assert api.post(f"/api/v1/carts/{cart.pk}/checkout/").status_code == 200
    details: dict[str, Any] = {"email": email, "shipping_address": shipping, "shipping_method": "standard"}
    if billing:
        details["billing_address"] = billing
    response = api.patch(f"/api/v1/carts/{cart.pk}/checkout/", details)
    assert response.status_code == 200, response.content
    if code:
        assert api.patch(f"/api/v1/carts/{cart.pk}/checkout/", {"discount_code": code}).status_code == 200
    response = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method()})
    assert response.status_code == 200, response.content
    return Order.objects.get(cart=cart)


def ship_and_deliver(order: Order) -> None:
    lines = {line.pk: line.quantity for line in order.lines.all()}
    fulfilment.ship(order_id=order.pk, quantities=lines, carrier="ups", tracking_number=f"1Z{order.pk:08d}")
    fulfilment.mark_delivered(order_id=order.pk)


@pytest.fixture
def world(api, stripe_emulator, make_cart, make_variant, fixed_rates, django_capture_on_commit_callbacks):
    rest_of_world()
    make_method(code="standard", name="Standard", price="5.00")
    TaxRate.objects.create(country="US", region="CA", name="Sales tax", rate=Decimal("7.25"), shipping_taxable=False)
    DiscountCode.objects.create(code="TEN", kind="percent", value=Decimal("10"))
    lamp = make_variant("LAMP-1", price="40.00", on_hand=10)
    bulb = make_variant("BULB-1", price="5.00", on_hand=30)
    ada = customer("ada@example.com")
    EmailAddress.objects.create(user=ada, email="ada.old@example.com", verified=False, primary=False)
    bob = customer("bob@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        # 1. Ada's, signed in, in USD with a code and Californian tax: delivered, one lamp
        #    returned, restocked and refunded.
        a1 = place_order(api, stripe_emulator, make_cart, {lamp: 2, bulb: 3}, email="ada@example.com", shipping=ADA_SHIPPING, billing=ADA_BILLING, user=ada, code="TEN")
        ship_and_deliver(a1)
        returns.refund_return(order_id=a1.pk, quantities={line_ids(a1)["LAMP-1"]: 1}, restock=True)
        # 2. Ada's, as a guest with her verified address (other letter case), in EUR:
        #    cancelled by her, so the stock came back through the ledger.
        a2 = place_order(api, stripe_emulator, make_cart, {bulb: 4}, email="ADA@example.com", shipping=ADA_SHIPPING, currency="EUR")
        cancel_order(order_id=a2.pk, by_customer=True, actor_id=ada.pk)
        # 3. A guest order with her *unverified* address: not provably hers, never touched.
        stray = place_order(api, stripe_emulator, make_cart, {bulb: 1}, email="ada.old@example.com", shipping=BOB_SHIPPING)
        ship_and_deliver(stray)
        # Bob's own order, shipped to him.
        b1 = place_order(api, stripe_emulator, make_cart, {lamp: 1}, email="bob@example.com", shipping=BOB_SHIPPING, user=bob)
        ship_and_deliver(b1)
    # A phone number on a stored address (the address shape may carry one).
    Order.objects.filter(pk=a1.pk).update(billing_address={**ADA_BILLING, "phone": ADA_PHONE})
    # Ada's cart of today, with her email and address on it from an earlier visit.
    cart = make_cart({lamp: 1})
    Cart.objects.filter(pk=cart.pk).update(user=ada, email="ada@example.com", shipping_address={**ADA_SHIPPING, "phone": ADA_PHONE})
    return {"ada": ada, "bob": bob, "ada_orders": [a1, a2], "stray": stray, "bob_order": b1, "ada_cart": cart, "lamp": lamp, "bulb": bulb}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _rows(model, **filters) -> list[dict[str, Any]]:
    return list(model.objects.filter(**filters).order_by("pk").values())


def books(order_ids: list[int], *, leaving: int | None = None) -> dict[str, Any]:
    """Everything that must not move: the orders' amounts and quote, their lines, parcels,
    returns, refunds and history, the payments, the ledger and the stock. `leaving`: the
    user about to be deleted, whose own actions (a cancel, its refund and restock) lose
    their link to the account (shown as None); the event's by_customer flag, the refund's
    reason and the ledger's note still say who."""

    def _who(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        people = ("actor_id", "created_by_id")
        return [{**row, **{k: None for k in people if k in row and leaving and row[k] == leaving}} for row in rows]

    kept = [
        "pk", "number", "cart_id", "status", "payment_status", "currency", "exchange_rate", "shipping_method",
        "shipping_method_name", "subtotal", "subtotal_currency", "shipping", "tax", "discount", "total", "total_currency",
        "refunded", "tax_lines", "prices_include_tax", "discount_code", "staff_note", "created_at",
    ]
    return {
        "orders": list(Order.objects.filter(pk__in=order_ids).order_by("pk").values(*kept)),
        "lines": _rows(OrderLine, order_id__in=order_ids),
        "shipments": _who(_rows(Shipment, order_id__in=order_ids)),
        "shipment_lines": _rows(ShipmentLine, shipment__order_id__in=order_ids),
        "returned": _who(_rows(ReturnedLine, order_line__order_id__in=order_ids)),
        "refund_notes": _rows(RefundNote, order_id__in=order_ids),
        "refunds": _who(_rows(Refund, order_id__in=order_ids)),
        "payments": _rows(Payment, order_id__in=order_ids),
        "events": _who(_rows(OrderEvent, order_id__in=order_ids)),
        "ledger": _who(_rows(StockMovement)),
        "stock": _rows(Stock),
        "cart_lines": _rows(CartLine),
    }


def assert_unchanged(after: dict[str, Any], before: dict[str, Any]) -> None:
    for part, rows in before.items():
        for old, new in zip(rows, after[part], strict=True):
            assert new == old, (part, {k: (old[k], new.get(k)) for k in old if old[k] != new.get(k)})


def dump(model) -> str:
    return json.dumps(list(model.objects.order_by("pk").values()), cls=DjangoJSONEncoder)


# --- the download ------------------------------------------------------------------------


def test_the_download_holds_the_customers_profile_orders_and_carts_and_no_one_elses(world):
    response = signed_in(world["ada"]).get(reverse("accounts:privacy_export"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith('attachment; filename="my-data-')
    data = json.loads(response.content)
    assert data["profile"]["email"] == "ada@example.com"
    assert {a["email"]: a["verified"] for a in data["profile"]["email_addresses"]} == {"ada@example.com": True, "ada.old@example.com": False}
    a1, a2 = world["ada_orders"]
    assert [o["number"] for o in data["orders"]] == [a1.number, a2.number]
    first = data["orders"][0]
    assert first["shipping_address"] == ADA_SHIPPING and first["billing_address"]["phone"] == ADA_PHONE
    assert first["total"] == {"amount": str(a1.total.amount.quantize(Decimal("0.01"))), "currency": "USD"}
    assert [(line["sku"], line["quantity"]) for line in first["lines"]] == [("LAMP-1", 2), ("BULB-1", 3)]
    assert first["refunds"] and first["discount_code"] == "TEN"
    assert data["orders"][1]["status"] == "cancelled"
    assert str(world["ada_cart"].pk) in [c["id"] for c in data["carts"]]
    assert [line["sku"] for c in data["carts"] if c["id"] == str(world["ada_cart"].pk) for line in c["lines"]] == ["LAMP-1"]
    text = response.content.decode()
    for other in ("bob@example.com", "Bob Babbage", "Teignmouth", world["bob_order"].number, world["stray"].number, str(world["bob_order"].cart_id)):
        assert other not in text


def test_the_download_needs_a_signed_in_customer(db):
    response = Client().get(reverse("accounts:privacy_export"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_privacy_page_explains_both_and_links_the_download_and_the_deletion(world):
    page = signed_in(world["ada"]).get(reverse("accounts:privacy"))
    assertContains(page, "Download my data")
    assertContains(page, reverse("accounts:privacy_export"))
    assertContains(page, reverse("accounts:privacy_delete"))
    assertContains(page, "without your name, email or address")


# --- deleting --------------------------------------------------------------------------------


def test_deleting_the_account_anonymises_her_orders_and_carts_and_keeps_every_amount_and_the_ledger(world, django_capture_on_commit_callbacks):
    ada, bob = world["ada"], world["bob"]
    ada_ids = [o.pk for o in world["ada_orders"]]
    all_ids = [*ada_ids, world["stray"].pk, world["bob_order"].pk]
    before = books(all_ids, leaving=ada.pk)
    bob_before = list(Order.objects.filter(pk__in=[world["bob_order"].pk, world["stray"].pk]).order_by("pk").values())
    client = signed_in(ada)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:privacy_delete"), {"confirmation": PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("catalog:product_list")
    assertContains(response, "Your account is deleted.")
    assert "_auth_user_id" not in client.session  # signed out
    assert_unchanged(books(all_ids), before)  # amounts, lines, tax, discount, refunds, events, ledger, stock
    assert not get_user_model().objects.filter(pk=ada.pk).exists()
    assert not EmailAddress.objects.filter(user_id=ada.pk).exists()
    orders = {o.pk: o for o in Order.objects.filter(pk__in=ada_ids)}
    for order_id, order in orders.items():
        assert order.email == f"deleted-{order_id}@anonymised.invalid"
        assert order.user_id is None
    assert orders[ada_ids[0]].shipping_address == {"country": "US", "region": "CA"}  # kept for the tax records
    assert orders[ada_ids[0]].billing_address == {"country": "GB"}
    order_rows, cart_rows, use_rows = dump(Order), dump(Cart), dump(DiscountUse)
    for personal in ADA_PERSONAL:
        assert personal not in order_rows.replace("ada.old@example.com", ""), personal
        assert personal not in cart_rows, personal
        assert personal not in use_rows, personal
    assert not Cart.objects.filter(user_id=ada.pk).exists()
    assert Cart.objects.get(pk=world["ada_cart"].pk).status == Cart.Status.ABANDONED
    # Bob's order, and the guest order with her unverified address, are as they were.
    assert list(Order.objects.filter(pk__in=[world["bob_order"].pk, world["stray"].pk]).order_by("pk").values()) == bob_before
    assert get_user_model().objects.filter(pk=bob.pk).exists()


def test_an_anonymised_order_still_shows_in_the_admin_and_its_page(world, admin_client):
    a1 = world["ada_orders"][0]
    privacy.delete_account(user_id=world["ada"].pk)

    page = admin_client.get(reverse("admin:orders_order_change", args=[a1.pk]))
    assertContains(page, f"deleted-{a1.pk}@anonymised.invalid")
    for line in address_lines({"country": "US", "region": "CA"}):
        assertContains(page, line)
    assert admin_client.get(reverse("admin:orders_order_changelist")).status_code == 200
    a1.refresh_from_db()
    assert Client().get(f"{reverse('orders:detail', args=[a1.number])}?token={a1.access_token}").status_code == 200


def test_the_old_guest_link_of_an_anonymised_order_opens_nothing(world):
    a2 = world["ada_orders"][1]
    old_link = f"{reverse('orders:detail', args=[a2.number])}?token={a2.access_token}"
    assert Client().get(old_link).status_code == 200

    privacy.delete_account(user_id=world["ada"].pk)

    assert Client().get(old_link).status_code == 404


def test_a_wrong_password_deletes_nothing(world):
    client = signed_in(world["ada"])

    response = client.post(reverse("accounts:privacy_delete"), {"confirmation": "not-my-password"})

    assertContains(response, "That is not your password.")
    assert get_user_model().objects.filter(pk=world["ada"].pk).exists()
    assert Order.objects.filter(user=world["ada"]).count() == 2  # the guest one was linked at login
    assert Order.objects.get(pk=world["ada_orders"][0].pk).email == "ada@example.com"


def test_an_order_still_to_be_sent_stops_the_deletion_and_says_which(world, api, stripe_emulator, make_cart, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        open_order = place_order(api, stripe_emulator, make_cart, {world["bulb"]: 1}, email="ada@example.com", shipping=ADA_SHIPPING, user=world["ada"])
    client = signed_in(world["ada"])

    page = client.get(reverse("accounts:privacy"))
    response = client.post(reverse("accounts:privacy_delete"), {"confirmation": PASSWORD})

    assertContains(page, f"Order {open_order.number} is still to be sent")
    assert response.status_code == 409
    assertContains(response, f"Order {open_order.number} is still to be sent", status_code=409)
    assert get_user_model().objects.filter(pk=world["ada"].pk).exists()
    assert Order.objects.get(pk=world["ada_orders"][0].pk).email == "ada@example.com"


def test_an_open_checkout_stops_the_deletion(world):
    Cart.objects.filter(pk=world["ada_cart"].pk).update(status=Cart.Status.CHECKOUT)

    with pytest.raises(privacy.AccountNotDeletable, match="middle of a checkout"):
        privacy.delete_account(user_id=world["ada"].pk)

    assert Order.objects.get(pk=world["ada_orders"][0].pk).email == "ada@example.com"


def test_the_delete_form_needs_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["ada"])

    response = client.post(reverse("accounts:privacy_delete"), {"confirmation": PASSWORD})

    assert response.status_code == 403
    assert get_user_model().objects.filter(pk=world["ada"].pk).exists()


# --- saved addresses and cards ---------------------------------------------------------------


def save_a_card(stripe_emulator, user) -> str:
    customer_id = payment_customers.ensure_customer(user_id=user.pk)
    card = stripe_client.attach_payment_method(stripe_emulator.payment_method(), customer_id=customer_id, idempotency_key=f"test-attach-{user.pk}")
    return card.id


@pytest.fixture
def ada_saved(world, stripe_emulator):
    """Ada's address book (one address) and one saved card at localstripe."""
    address_services.add_address(user_id=world["ada"].pk, address={k: v for k, v in ADA_SHIPPING.items() if k != "phone"})
    return {"card": save_a_card(stripe_emulator, world["ada"]), "customer": payment_customers.customer_id_of(user_id=world["ada"].pk)}


def test_the_download_holds_the_saved_addresses_and_only_brand_last4_and_expiry_of_cards(world, ada_saved):
    data = privacy.export_data(user_id=world["ada"].pk)

    assert [(a["name"], a["city"], a["postal_code"]) for a in data["saved_addresses"]] == [("Ada Lovelace", "Springfield", "90210")]
    assert data["saved_cards"] == [{"brand": "Visa", "last4": "4242", "exp_month": 12, "exp_year": 2034}]
    assert ada_saved["card"] not in json.dumps(data)


def test_deleting_detaches_the_saved_cards_at_stripe_after_commit_and_deletes_the_address_book(world, ada_saved, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        done = privacy.delete_account(user_id=world["ada"].pk)

    assert done.saved_cards and len(callbacks) >= 1
    assert stripe.PaymentMethod.retrieve(ada_saved["card"]).customer is None
    assert not SavedAddress.objects.exists()
    assert not StripeCustomer.objects.exists()


def test_a_stripe_failure_after_commit_is_logged_without_card_details_and_undoes_nothing(world, ada_saved, monkeypatch, caplog, django_capture_on_commit_callbacks):
    def stripe_is_down(customer_id):
        raise stripe_client.StripeRefused("Stripe is down", http_status=503)

    monkeypatch.setattr(stripe_client, "list_cards", stripe_is_down)

    with django_capture_on_commit_callbacks(execute=True):
        privacy.delete_account(user_id=world["ada"].pk)

    assert not get_user_model().objects.filter(pk=world["ada"].pk).exists()
    assert Order.objects.get(pk=world["ada_orders"][0].pk).email.endswith("@anonymised.invalid")
    failure = [r for r in caplog.records if "not erased" in r.getMessage()]
    assert failure and ada_saved["customer"] in failure[0].getMessage()
    assert "4242" not in caplog.text
