"""Django admin for shop staff: every page renders, stock changes only through the
services (one ledger row per adjustment), refusals change nothing, the ledger is
read-only and only staff get in."""
from __future__ import annotations

from datetime import timedelta

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product
from checkout import services as checkout_services
from inventory.models import Reservation, Stock, StockMovement
from tests.support.admin import usd


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    # Admin pages link their CSS through {% static %}; the manifest storage of production
    # settings needs collectstatic, which a unit test run does not do.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


CHANGELISTS = [
    "catalog_category",
    "catalog_product",
    "catalog_variant",
    "inventory_stock",
    "inventory_stockmovement",
    "inventory_reservation",
    "cart_cart",
    "shipping_shippingmethod",
    "orders_order",
]

CHANGE_PAGES = [
    ("catalog_category", "category"),
    ("catalog_product", "product"),
    ("catalog_variant", "variant"),
    ("inventory_stock", "stock"),
    ("inventory_stockmovement", "movement"),
    ("inventory_reservation", "reservation"),
    ("cart_cart", "cart"),
    ("shipping_shippingmethod", "shipping"),
    ("orders_order", "order"),
]


def adjust_url(variant) -> str:
    return reverse("admin:inventory_stock_adjust", args=[variant.pk])


def stock_figures(variant) -> tuple[int, int, int]:
    stock = Stock.objects.get(variant=variant)
    return stock.on_hand, stock.reserved, StockMovement.objects.filter(variant=variant).count()


@pytest.mark.parametrize("model", CHANGELISTS)
def test_changelist_renders_for_superuser(admin_client, shop_world, model):
    response = admin_client.get(reverse(f"admin:{model}_changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize("model,key", CHANGE_PAGES)
def test_change_page_renders_for_superuser(admin_client, shop_world, model, key):
    response = admin_client.get(reverse(f"admin:{model}_change", args=[shop_world[key].pk]))

    assert response.status_code == 200


@pytest.mark.parametrize("model", ["catalog_category", "catalog_product", "catalog_variant", "shipping_shippingmethod"])
def test_add_page_renders_for_editable_models(admin_client, db, model):
    assert admin_client.get(reverse(f"admin:{model}_add")).status_code == 200


def test_adjust_page_shows_current_figures(admin_client, shop_world):
    response = admin_client.get(adjust_url(shop_world["variant"]))

    assert response.status_code == 200
    assert (response.context["on_hand"], response.context["reserved"], response.context["available"]) == (10, 2, 8)
    assert [value for value, _label in response.context["form"].fields["reason"].choices] == [
        "received", "import", "return", "damaged", "correction"
    ]


def test_stock_changelist_query_count_does_not_grow_with_rows(admin_client, make_variant, make_cart):
    first = make_variant(on_hand=4)
    checkout_services.start_checkout(cart_id=make_cart({first: 1}).pk)
    url = reverse("admin:inventory_stock_changelist")
    admin_client.get(url)  # session and user caches warm
    with CaptureQueriesContext(connection) as one_row:
        assert admin_client.get(url).context["cl"].result_count == 1

    for n in range(19):
        variant = make_variant(on_hand=n % 4)
        if n % 3 == 0 and n % 4:
            checkout_services.start_checkout(cart_id=make_cart({variant: 1}).pk)
    with CaptureQueriesContext(connection) as twenty_rows:
        response = admin_client.get(url)

    assert response.context["cl"].result_count == 20
    assert len(twenty_rows) == len(one_row)


def test_stock_changelist_shows_availability_net_of_live_reservations_only(admin_client, make_variant, make_cart):
    variant = make_variant(on_hand=10)
    cart = make_cart({variant: 3})
    checkout_services.start_checkout(cart_id=cart.pk)
    url = reverse("admin:inventory_stock_changelist")

    (row,) = admin_client.get(url).context["cl"].result_list
    assert (row.on_hand, row.reserved, row.available_now) == (10, 3, 7)

    # The reservation runs out; the sweeper has not run, so it still counts as reserved
    # but no longer holds stock.
    Reservation.objects.filter(holder_id=cart.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    (row,) = admin_client.get(url).context["cl"].result_list
    assert (row.on_hand, row.reserved, row.available_now) == (10, 3, 10)


@pytest.mark.parametrize(
    "status,expected",
    [("low_stock", {"LOW"}), ("out_of_stock", {"EMPTY", "HELD"}), ("in_stock", {"PLENTY"})],
)
def test_stock_status_filter(admin_client, make_variant, make_cart, status, expected):
    make_variant("PLENTY", on_hand=20, threshold=3)
    make_variant("LOW", on_hand=3, threshold=3)
    make_variant("EMPTY", on_hand=0, threshold=3)
    held = make_variant("HELD", on_hand=2, threshold=3)
    checkout_services.start_checkout(cart_id=make_cart({held: 2}).pk)

    response = admin_client.get(reverse("admin:inventory_stock_changelist"), {"stock_status": status})

    assert {stock.variant.sku for stock in response.context["cl"].result_list} == expected


def test_adjusting_stock_writes_exactly_one_movement(admin_client, admin_user, make_variant):
    variant = make_variant(on_hand=10)
    movements_before = StockMovement.objects.filter(variant=variant).count()

    response = admin_client.post(adjust_url(variant), {"delta": "7", "reason": "received", "note": "PO 1042"})

    assert response.status_code == 302
    stock = Stock.objects.get(variant=variant)
    assert response["Location"] == reverse("admin:inventory_stock_change", args=[stock.pk])
    assert stock.on_hand == 17
    new = StockMovement.objects.filter(variant=variant).order_by("-id")
    assert new.count() == movements_before + 1
    movement = new.first()
    assert (movement.delta, movement.reason, movement.balance_after, movement.actor_id, movement.note, movement.order_id) == (
        7, "received", 17, admin_user.pk, "PO 1042", None
    )


def test_removing_stock_down_to_the_reserved_quantity_is_allowed(admin_client, admin_user, make_variant, make_cart):
    variant = make_variant(on_hand=5)
    checkout_services.start_checkout(cart_id=make_cart({variant: 3}).pk)

    response = admin_client.post(adjust_url(variant), {"delta": "-2", "reason": "damaged", "note": ""})

    assert response.status_code == 302
    assert stock_figures(variant) == (3, 3, 2)
    movement = StockMovement.objects.filter(variant=variant).order_by("-id").first()
    assert (movement.delta, movement.reason, movement.balance_after, movement.actor_id) == (-2, "damaged", 3, admin_user.pk)


def test_adjusting_a_variant_without_a_stock_row_creates_it(admin_client, db):
    product = Product.objects.create(name="Wool socks", slug="wool-socks")
    variant = product.variants.create(sku="SOCK-1", price=usd("9.00"))

    response = admin_client.post(adjust_url(variant), {"delta": "12", "reason": "received", "note": ""})

    assert response.status_code == 302
    assert stock_figures(variant) == (12, 0, 1)


def test_adjustment_below_reserved_is_refused_and_changes_nothing(admin_client, make_variant, make_cart):
    variant = make_variant(on_hand=5)
    checkout_services.start_checkout(cart_id=make_cart({variant: 3}).pk)
    before = stock_figures(variant)

    response = admin_client.post(adjust_url(variant), {"delta": "-3", "reason": "damaged", "note": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["delta"] == [
        "3 units are reserved by carts in checkout; on hand cannot go below that."
    ]
    assert "on hand cannot go below that" in response.content.decode()
    assert stock_figures(variant) == before == (5, 3, 1)


def test_adjustment_below_zero_is_refused_and_changes_nothing(admin_client, make_variant):
    variant = make_variant(on_hand=5)
    before = stock_figures(variant)

    response = admin_client.post(adjust_url(variant), {"delta": "-6", "reason": "correction", "note": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["delta"] == ["Only 5 on hand; cannot remove 6."]
    assert stock_figures(variant) == before == (5, 0, 1)


def test_zero_adjustment_is_refused_and_changes_nothing(admin_client, make_variant):
    variant = make_variant(on_hand=5)
    before = stock_figures(variant)

    response = admin_client.post(adjust_url(variant), {"delta": "0", "reason": "received", "note": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["delta"] == ["An adjustment must change the quantity."]
    assert stock_figures(variant) == before == (5, 0, 1)


@pytest.mark.parametrize(
    "data,field",
    [
        ({"delta": "-1", "reason": "sale", "note": ""}, "reason"),
        ({"delta": "two", "reason": "received", "note": ""}, "delta"),
        ({"delta": "5000000", "reason": "received", "note": ""}, "delta"),
        ({"delta": "", "reason": "received", "note": ""}, "delta"),
    ],
)
def test_malformed_adjustment_is_refused_and_changes_nothing(admin_client, make_variant, data, field):
    variant = make_variant(on_hand=5)
    before = stock_figures(variant)

    response = admin_client.post(adjust_url(variant), data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert stock_figures(variant) == before


def test_adjusting_an_unknown_variant_is_not_found(admin_client, db):
    assert admin_client.post(reverse("admin:inventory_stock_adjust", args=[999999]), {"delta": "1", "reason": "received"}).status_code == 404


def test_editing_the_threshold_leaves_on_hand_and_reserved_alone(admin_client, make_variant, make_cart):
    variant = make_variant(on_hand=8, threshold=3)
    checkout_services.start_checkout(cart_id=make_cart({variant: 2}).pk)
    stock = Stock.objects.get(variant=variant)

    # on_hand and reserved are read-only: posting them must not change them.
    response = admin_client.post(
        reverse("admin:inventory_stock_change", args=[stock.pk]),
        {"low_stock_threshold": "6", "on_hand": "999", "reserved": "0"},
    )

    assert response.status_code == 302
    stock.refresh_from_db()
    assert (stock.low_stock_threshold, stock.on_hand, stock.reserved) == (6, 8, 2)
    assert StockMovement.objects.filter(variant=variant).count() == 1


def test_stock_rows_cannot_be_added_or_deleted_in_admin(admin_client, shop_world):
    stock = shop_world["stock"]

    assert admin_client.get(reverse("admin:inventory_stock_add")).status_code == 403
    assert admin_client.post(reverse("admin:inventory_stock_delete", args=[stock.pk]), {"post": "yes"}).status_code == 403
    assert Stock.objects.filter(pk=stock.pk).exists()


def test_ledger_refuses_add_change_and_delete(admin_client, shop_world):
    movement = shop_world["movement"]
    original = (movement.delta, movement.reason, movement.balance_after, movement.note)
    ledger_size = StockMovement.objects.count()

    assert admin_client.get(reverse("admin:inventory_stockmovement_add")).status_code == 403
    assert admin_client.post(reverse("admin:inventory_stockmovement_add"), {"variant": movement.variant_id, "delta": "5", "reason": "received", "balance_after": "15"}).status_code == 403
    assert admin_client.post(
        reverse("admin:inventory_stockmovement_change", args=[movement.pk]), {"delta": "99", "balance_after": "99", "note": "x"}
    ).status_code == 403
    assert admin_client.post(reverse("admin:inventory_stockmovement_delete", args=[movement.pk]), {"post": "yes"}).status_code == 403
    bulk_delete = admin_client.post(
        reverse("admin:inventory_stockmovement_changelist"), {"action": "delete_selected", "_selected_action": [movement.pk], "post": "yes"}
    )

    assert bulk_delete.status_code == 200
    assert bulk_delete.context["action_form"] is None  # no bulk actions at all, delete included
    movement.refresh_from_db()
    assert (movement.delta, movement.reason, movement.balance_after, movement.note) == original
    assert StockMovement.objects.count() == ledger_size


def test_release_expired_reservations_action_frees_only_expired_stock(admin_client, make_variant, make_cart):
    variant = make_variant(on_hand=10)
    stale_cart, live_cart = make_cart({variant: 3}), make_cart({variant: 2})
    checkout_services.start_checkout(cart_id=stale_cart.pk)
    checkout_services.start_checkout(cart_id=live_cart.pk)
    stale = Reservation.objects.get(holder_id=stale_cart.pk)
    Reservation.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    response = admin_client.post(
        reverse("admin:inventory_reservation_changelist"),
        {"action": "release_expired_reservations", "_selected_action": [stale.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "3 unit(s) freed" in response.content.decode()
    assert Reservation.objects.get(pk=stale.pk).status == Reservation.Status.EXPIRED
    assert Reservation.objects.get(holder_id=live_cart.pk).status == Reservation.Status.ACTIVE
    assert stock_figures(variant)[:2] == (10, 2)


def test_release_expired_reservations_button_does_the_same(admin_client, make_variant, make_cart):
    variant = make_variant(on_hand=10)
    cart = make_cart({variant: 4})
    checkout_services.start_checkout(cart_id=cart.pk)
    Reservation.objects.filter(holder_id=cart.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    url = reverse("admin:inventory_reservation_release_expired")

    assert admin_client.get(url).status_code == 405
    response = admin_client.post(url)

    assert response.status_code == 302
    assert Reservation.objects.get(holder_id=cart.pk).status == Reservation.Status.EXPIRED
    assert stock_figures(variant)[:2] == (10, 0)


@pytest.mark.parametrize("model", ["inventory_reservation", "cart_cart", "orders_order"])
def test_read_only_models_refuse_add_and_change(admin_client, shop_world, model):
    obj = {"inventory_reservation": shop_world["reservation"], "cart_cart": shop_world["cart"], "orders_order": shop_world["order"]}[model]

    assert admin_client.get(reverse(f"admin:{model}_add")).status_code == 403
    assert admin_client.post(reverse(f"admin:{model}_change", args=[obj.pk]), {"status": "cancelled"}).status_code == 403
    assert admin_client.post(reverse(f"admin:{model}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    obj.refresh_from_db()
    assert obj.status != "cancelled"


def test_product_page_lists_variants_with_stock(admin_client, shop_world):
    response = admin_client.get(reverse("admin:catalog_product_change", args=[shop_world["product"].pk]))

    # The page also has the product's pictures (catalog.admin.ProductImageInline).
    (formset,) = [inline.formset for inline in response.context["inline_admin_formsets"] if inline.formset.model._meta.model_name == "variant"]
    (variant,) = [form.instance for form in formset.forms]
    assert (variant.sku, variant.on_hand_now, variant.reserved_now, variant.available) == ("LIN-M", 10, 2, 8)
    assert adjust_url(variant) in response.content.decode()


def test_variant_attributes_must_be_an_object(admin_client, shop_world):
    variant = shop_world["variant"]
    data = {"product": variant.product_id, "sku": variant.sku, "name": "", "attributes": '["M"]', "price_0": "49.90", "price_1": "USD", "is_active": "on", "position": "0"}

    response = admin_client.post(reverse("admin:catalog_variant_change", args=[variant.pk]), data)

    assert response.status_code == 200
    assert "attributes" in response.context["adminform"].form.errors
    variant.refresh_from_db()
    assert variant.attributes == {"size": "M"}


def test_shipping_method_code_is_fixed_once_created(admin_client, shop_world):
    method = shop_world["shipping"]

    response = admin_client.post(
        reverse("admin:shipping_shippingmethod_change", args=[method.pk]),
        {
            "zone": method.zone_id, "code": "renamed", "name": "Standard post", "price_usd": "6.50", "min_days": "2",
            "max_days": "4", "is_active": "on", "position": "1",
            "weight_steps-TOTAL_FORMS": "0", "weight_steps-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content[:3000]
    method.refresh_from_db()
    assert (method.code, method.name, method.price_usd, method.max_days) == ("standard", "Standard post", Decimal("6.50"), 4)


def test_anonymous_visitor_is_sent_to_login(client, shop_world):
    response = client.get(reverse("admin:inventory_stock_changelist"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_non_staff_user_cannot_reach_admin_or_adjust_stock(client, shop_world):
    shopper = get_user_model().objects.create_user("shopper", "shopper@example.com", "pw-123456")
    client.force_login(shopper)
    variant = shop_world["variant"]
    before = stock_figures(variant)

    pages = [
        reverse("admin:index"),
        reverse("admin:inventory_stock_changelist"),
        reverse("admin:inventory_stockmovement_changelist"),
        reverse("admin:orders_order_change", args=[shop_world["order"].pk]),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302 and reverse("admin:login") in response["Location"], page
    response = client.post(adjust_url(variant), {"delta": "5", "reason": "received", "note": ""})

    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    assert stock_figures(variant) == before


def test_staff_without_stock_permission_cannot_adjust(client, shop_world):
    clerk = get_user_model().objects.create_user("clerk", "clerk@example.com", "pw-123456", is_staff=True)
    client.force_login(clerk)
    variant = shop_world["variant"]
    before = stock_figures(variant)

    response = client.post(adjust_url(variant), {"delta": "5", "reason": "received", "note": ""})

    assert response.status_code == 403
    assert stock_figures(variant) == before


@pytest.mark.parametrize("model", ["catalog_product", "catalog_variant", "inventory_stock", "inventory_stockmovement"])
def test_staff_find_things_by_sku(admin_client, make_variant, model):
    wanted = make_variant("TEE-RED-L", on_hand=3)
    make_variant("MUG-BLUE", on_hand=3)

    response = admin_client.get(reverse(f"admin:{model}_changelist"), {"q": "tee-red"})

    (found,) = response.context["cl"].result_list
    variant_of = {
        "catalog_product": lambda product: product.variants.get(),
        "catalog_variant": lambda variant: variant,
        "inventory_stock": lambda stock: stock.variant,
        "inventory_stockmovement": lambda movement: movement.variant,
    }[model]
    assert variant_of(found) == wanted


def test_ledger_filters_by_reason(admin_client, admin_user, make_variant):
    variant = make_variant(on_hand=5)
    admin_client.post(adjust_url(variant), {"delta": "-1", "reason": "damaged", "note": "dropped"})

    response = admin_client.get(reverse("admin:inventory_stockmovement_changelist"), {"reason__exact": "damaged"})

    (movement,) = response.context["cl"].result_list
    assert (movement.variant_id, movement.delta, movement.balance_after, movement.actor_id, movement.note) == (variant.pk, -1, 4, admin_user.pk, "dropped")
