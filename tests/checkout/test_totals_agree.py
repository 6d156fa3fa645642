"""One total, everywhere: for a cart with a discount, shipping and tax in USD, EUR, JPY
and KWD, the cart's JSON, the amount of the PaymentIntent at localstripe, the order and
the confirmation email say the same number, to the currency's minor unit."""
from __future__ import annotations

from decimal import Decimal

import pytest
import stripe
from django.core import mail

from cart.pricing import price_cart
from cart.models import Cart
from currencies.money import format_money, stripe_amount
from discounts.models import DiscountCode
from orders.models import Order
from taxes.models import TaxRate
from tests.support.api_helpers import money
from tests.support.shipping import make_method, rest_of_world

# (currency, country, prices include tax, expected subtotal, discount, shipping, tax, total)
CASES = [
    # 2 x 40.00 + 15.00 = 95.00; 10% = 9.50; shipping 5.00 (85.50 < 100); CA 7.25% on 72.00 and 13.50
    ("USD", {"country": "US", "region": "CA", "postal_code": "90001"}, False, "95.00", "9.50", "5.00", "6.20", "96.70"),
    # x 0.9: 85.50; 8.55; 4.50 (76.95 < 90.00); DE 19% extracted: 10.35 + 1.94 + 0.72
    ("EUR", {"country": "DE"}, True, "85.50", "8.55", "4.50", "13.01", "81.45"),
    # x 151.237: 12098 + 2269 = 14367; 1437 (1210 + 227); 756; JP 10%: 1089 + 204 + 76
    ("JPY", {"country": "JP", "region": "Tokyo", "postal_code": "100-0001"}, False, "14367", "1437", "756", "1369", "15055"),
    # x 0.30701 in 0.010 steps: 29.170; 2.920; 1.540; KW 5% (no shipping) on 22.100 and 4.150
    ("KWD", {"country": "KW"}, False, "29.170", "2.920", "1.540", "1.320", "29.110"),
]


@pytest.fixture
def shop(db, make_variant, fixed_rates):
    rest_of_world()
    make_method(code="standard", name="Standard", price="5.00", free_over="100.00")
    TaxRate.objects.create(country="US", region="CA", name="Sales tax", rate=Decimal("7.25"), shipping_taxable=False)
    TaxRate.objects.create(country="DE", name="VAT", rate=Decimal("19.00"), shipping_taxable=True)
    TaxRate.objects.create(country="JP", name="Consumption tax", rate=Decimal("10.00"), shipping_taxable=True)
    TaxRate.objects.create(country="KW", name="Test tax", rate=Decimal("5.00"), shipping_taxable=False)
    DiscountCode.objects.create(code="TEN", kind="percent", value=Decimal("10"))
    return make_variant("SHIRT", price="40.00", on_hand=10), make_variant("BOOK", price="15.00", on_hand=10)


@pytest.mark.parametrize(("currency", "where", "included", "subtotal", "discount", "shipping", "tax", "total"), CASES)
def test_the_cart_the_payment_intent_the_order_and_the_email_agree(
    api, stripe_emulator, shop, make_cart, settings, mailoutbox, django_capture_on_commit_callbacks, currency, where, included, subtotal, discount, shipping, tax, total
):
    settings.PRICES_INCLUDE_TAX = included
    shirt, book = shop
    cart = make_cart({shirt: 2, book: 1}, currency=currency)
    address = {"name": "Ada", "line1": "1 Road", "city": "Town", "postal_code": "12345", **where}
    api.post(f"/api/v1/carts/{cart.pk}/checkout/")
    api.patch(f"/api/v1/carts/{cart.pk}/checkout/", {"email": "ada@example.com", "shipping_address": address, "shipping_method": "standard"})
    shown = api.patch(f"/api/v1/carts/{cart.pk}/checkout/", {"discount_code": "ten"}).json()

    assert [shown[part] for part in ("subtotal", "discount", "shipping", "tax", "total")] == [
        money(subtotal, currency), money(discount, currency), money(shipping, currency), money(tax, currency), money(total, currency)
    ]
    assert shown["prices_include_tax"] is included
    assert sum(Decimal(line["amount"]["amount"]) for line in shown["tax_lines"]) == Decimal(tax)

    with django_capture_on_commit_callbacks(execute=True):
        paid = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method()}).json()

    intent = stripe.PaymentIntent.retrieve(paid["payment_intent_id"])
    order = Order.objects.get(cart_id=cart.pk)
    assert (intent.amount, intent.currency.upper()) == (stripe_amount(order.total), currency)
    assert paid["amount"] == shown["total"] == money(total, currency)
    assert [getattr(order, part).amount for part in ("subtotal", "discount", "shipping", "tax", "total")] == [
        Decimal(subtotal), Decimal(discount), Decimal(shipping), Decimal(tax), Decimal(total)
    ]
    assert order.prices_include_tax is included and order.discount_code == "TEN"
    assert price_cart(Cart.objects.get(pk=cart.pk)).total == order.total  # the completed cart still prices the same
    (email,) = mail.outbox
    assert format_money(order.total) in email.body
    assert format_money(order.discount) in email.body
