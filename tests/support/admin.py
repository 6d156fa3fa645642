"""The staff's world for admin tests: one of everything staff look at (`shop_world`).
Registered for the whole suite in tests/conftest.py (`pytest_plugins`)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from moneyed import Money

from catalog.models import Category, Product
from checkout import services as checkout_services
from inventory.models import Reservation, Stock, StockMovement
from orders.models import Order, OrderLine
from tests.support.shipping import make_method


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def shop_world(make_variant, make_cart):
    """One of everything staff look at: a category tree, a product with a variant, a cart
    in checkout holding a reservation, a paid order with a line, a shipping method."""
    clothing = Category.objects.create(name="Clothing", slug="clothing")
    shirts = Category.objects.create(name="Shirts", slug="shirts", parent=clothing)
    product = Product.objects.create(name="Linen shirt", slug="linen-shirt", category=shirts)
    variant = make_variant("LIN-M", price="49.90", on_hand=10, product=product, size="M")
    cart = make_cart({variant: 2})
    checkout_services.start_checkout(cart_id=cart.pk)
    paid_cart = make_cart({variant: 1})
    order = Order.objects.create(
        number="2025-000001",
        cart=paid_cart,
        currency="USD",
        exchange_rate=Decimal("1"),
        email="shopper@example.com",
        shipping_address={"name": "Ada", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"},
        subtotal=usd("49.90"),
        shipping=usd("5.00"),
        tax=usd("0"),
        discount=usd("0"),
        total=usd("54.90"),
        refunded=usd("0"),
    )
    OrderLine.objects.create(
        order=order, variant=variant, sku=variant.sku, product_name=product.name, variant_name="M", attributes={"size": "M"},
        quantity=1, unit_price_usd=usd("49.90"), unit_price=usd("49.90"), line_total=usd("49.90"),
    )
    shipping = make_method(code="standard", name="Standard", price=usd("5.00"))
    return {
        "category": shirts,
        "product": product,
        "variant": variant,
        "stock": Stock.objects.get(variant=variant),
        "movement": StockMovement.objects.filter(variant=variant).first(),
        "reservation": Reservation.objects.get(holder_id=cart.pk),
        "cart": cart,
        "order": order,
        "shipping": shipping,
    }
