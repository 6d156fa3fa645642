from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from cart import services as cart_services
from cart.models import Cart
from checkout.tasks import abandon_idle_carts
from inventory.models import Reservation, Stock
from shop.errors import InsufficientStock
from checkout import services as checkout_services
from tests.support.shipping import make_method


def _age(cart: Cart, days: int) -> None:
    Cart.objects.filter(pk=cart.pk).update(last_activity_at=timezone.now() - timedelta(days=days))


def test_idle_carts_are_abandoned_and_their_stock_released(make_variant, make_cart):
    shirt = make_variant(on_hand=4)
    idle_active, idle_checkout, recent = make_cart({shirt: 1}), make_cart({shirt: 2}), make_cart({shirt: 1})
    checkout_services.start_checkout(cart_id=idle_checkout.pk)
    _age(idle_active, 8)
    _age(idle_checkout, 8)
    _age(recent, 6)

    assert abandon_idle_carts.delay().get() == 2

    statuses = dict(Cart.objects.values_list("pk", "status"))
    assert statuses[idle_active.pk] == statuses[idle_checkout.pk] == "abandoned"
    assert statuses[recent.pk] == "active"
    assert Reservation.objects.get(holder_id=idle_checkout.pk).status == Reservation.Status.RELEASED
    assert Stock.objects.get(variant=shirt).reserved == 0


def test_completed_carts_are_never_abandoned(make_variant, make_cart):
    shirt = make_variant(on_hand=4)
    cart = make_cart({shirt: 1})
    Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.COMPLETED)
    _age(cart, 30)

    assert checkout_services.abandon_idle_carts() == 0
    assert Cart.objects.get(pk=cart.pk).status == "completed"


def test_expire_reservations_command_runs_one_sweep(make_variant, make_cart, capsys):
    shirt = make_variant(on_hand=3)
    cart = make_cart({shirt: 2})
    checkout_services.start_checkout(cart_id=cart.pk, now=timezone.now() - timedelta(minutes=6))

    call_command("expire_reservations")

    assert "Released 2 reserved unit(s)." in capsys.readouterr().out
    assert Stock.objects.get(variant=shirt).reserved == 0
    assert Reservation.objects.get(holder_id=cart.pk).status == Reservation.Status.EXPIRED


def test_login_with_a_cart_in_checkout_keeps_that_checkout(make_variant, make_cart, django_user_model):
    shirt, socks = make_variant(on_hand=4), make_variant(on_hand=4)
    user = django_user_model.objects.create_user("ada", password="pw-123456789")
    saved = make_cart({socks: 1})
    Cart.objects.filter(pk=saved.pk).update(user=user)
    session_cart = make_cart({shirt: 2})
    checkout_services.start_checkout(cart_id=session_cart.pk)

    result = cart_services.merge_carts(source_id=session_cart.pk, user_id=user.pk)

    assert result.pk == session_cart.pk
    result.refresh_from_db()
    assert (result.status, result.user_id) == ("checkout", user.pk)
    assert Stock.objects.get(variant=shirt).reserved == 2
    assert Cart.objects.get(pk=saved.pk).status == "active"


def test_checkout_refuses_a_variant_taken_off_sale(make_variant, make_cart):
    shirt, socks = make_variant(on_hand=4), make_variant(on_hand=4)
    cart = make_cart({shirt: 1, socks: 2})
    socks.product.is_active = False
    socks.product.save()

    with pytest.raises(InsufficientStock) as exc:
        checkout_services.start_checkout(cart_id=cart.pk)

    assert exc.value.details == {"items": [{"sku": socks.sku, "requested": 2, "available": 0}]}
    assert Cart.objects.get(pk=cart.pk).status == "active"
    assert Stock.objects.get(variant=shirt).reserved == 0


def test_the_quote_holds_when_catalog_prices_change_during_checkout(make_variant, make_cart):
    from decimal import Decimal

    from moneyed import Money

    from cart.pricing import price_cart

    shirt = make_variant(price="19.99", on_hand=4)
    method = make_method(code="std", name="Standard", price=Money(Decimal("4.95"), "USD"))
    cart = make_cart({shirt: 2})
    checkout_services.start_checkout(cart_id=cart.pk)
    checkout_services.update_checkout(
        cart_id=cart.pk, shipping_address={"name": "A", "line1": "1 Road", "city": "Paris", "postal_code": "75001", "country": "FR"}
    )
    checkout_services.update_checkout(cart_id=cart.pk, shipping_method="std")

    shirt.price = Money(Decimal("29.99"), "USD")
    shirt.save()
    method.price_usd = Decimal("9.95")
    method.save()

    quoted = price_cart(Cart.objects.get(pk=cart.pk))
    assert (quoted.subtotal.amount, quoted.shipping.amount, quoted.total.amount) == (Decimal("39.98"), Decimal("4.95"), Decimal("44.93"))

    checkout_services.cancel_checkout(cart_id=cart.pk)
    requoted = price_cart(Cart.objects.get(pk=cart.pk))
    assert (requoted.subtotal.amount, requoted.shipping.amount) == (Decimal("59.98"), Decimal("9.95"))
