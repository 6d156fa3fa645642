"""The cart part of docs/api.md: carts, lines, currency, stock check and shipping methods.
Every refusal is checked for its status, code and details, and for changing nothing."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from moneyed import Money

from cart import services as cart_services
from cart.models import Cart, CartLine
from tests.support.api_helpers import assert_error, db_state, money
from checkout import services as checkout_services
from tests.support.shipping import make_method

CART_KEYS = {
    "id", "status", "currency", "lines", "subtotal", "shipping", "tax", "discount", "total", "email",
    "shipping_address", "billing_address", "shipping_method", "reservation_expires_at", "order",
}


# --- carts -----------------------------------------------------------------------


def test_create_cart_returns_201_with_the_documented_shape(api, db):
    response = api.post("/api/v1/carts/", {})

    assert response.status_code == 201
    body = response.json()
    assert CART_KEYS <= set(body)
    assert uuid.UUID(body["id"]).version == 4
    assert (body["status"], body["currency"], body["lines"]) == ("active", "USD", [])
    for key in ("subtotal", "shipping", "tax", "discount", "total"):
        assert body[key] == money("0.00")
    assert body["reservation_expires_at"] is None and body["order"] is None
    assert body["email"] is None and body["shipping_address"] is None and body["shipping_method"] is None
    assert Cart.objects.get(pk=body["id"]).status == Cart.Status.ACTIVE


def test_create_cart_without_a_body_uses_the_default_currency(api, db):
    response = api.post("/api/v1/carts/")

    assert response.status_code == 201
    assert response.json()["currency"] == "USD"


@pytest.mark.parametrize("currency, zero", [("EUR", "0.00"), ("jpy", "0"), ("KWD", "0.000")])
def test_create_cart_in_a_currency(api, fixed_rates, currency, zero):
    response = api.post("/api/v1/carts/", {"currency": currency})

    assert response.status_code == 201
    body = response.json()
    assert body["currency"] == currency.upper()
    assert body["total"] == money(zero, currency.upper())


@pytest.mark.parametrize("currency", ["XYZ", "", 5, ["EUR"], "EURO"])
def test_create_cart_in_an_unsupported_currency_is_400_and_creates_nothing(api, db, currency):
    error = assert_error(api.post("/api/v1/carts/", {"currency": currency}), 400, "unsupported_currency")

    assert "currency" in error["details"]
    assert not Cart.objects.exists()


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '"EUR"', "5", "null"])
def test_create_cart_with_a_body_that_is_not_an_object_is_400(api, db, body):
    assert_error(api.post("/api/v1/carts/", body), 400, "invalid")
    assert not Cart.objects.exists()


def test_get_cart(api, make_variant, make_cart):
    cart = make_cart({make_variant(price="19.99"): 2})

    response = api.get(f"/api/v1/carts/{cart.pk}/")

    assert response.status_code == 200
    assert response.json()["id"] == str(cart.pk)
    assert response.json()["total"] == money("39.98")


@pytest.mark.parametrize("cart_id", [str(uuid.uuid4()), "not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"])
def test_unknown_or_malformed_cart_id_is_404_everywhere(api, make_variant, cart_id):
    variant = make_variant()
    before = db_state()

    requests = [
        api.get(f"/api/v1/carts/{cart_id}/"),
        api.patch(f"/api/v1/carts/{cart_id}/", {"currency": "USD"}),
        api.post(f"/api/v1/carts/{cart_id}/lines/", {"sku": variant.sku, "quantity": 1}),
        api.post(f"/api/v1/carts/{cart_id}/lines/", {}),
        api.patch(f"/api/v1/carts/{cart_id}/lines/1/", {"quantity": 1}),
        api.delete(f"/api/v1/carts/{cart_id}/lines/1/"),
        api.get(f"/api/v1/carts/{cart_id}/stock/"),
        api.post(f"/api/v1/carts/{cart_id}/checkout/"),
        api.patch(f"/api/v1/carts/{cart_id}/checkout/", {"email": "a@example.com"}),
        api.delete(f"/api/v1/carts/{cart_id}/checkout/"),
        api.get(f"/api/v1/shipping-methods/?cart={cart_id}"),
    ]

    for response in requests:
        assert_error(response, 404, "not_found")
    assert db_state() == before


# --- lines -----------------------------------------------------------------------


def test_add_line_returns_201_with_priced_lines_and_totals(api, make_variant, make_cart):
    shirt = make_variant(price="19.99", on_hand=10)
    socks = make_variant(price="0.10", on_hand=10)
    cart = make_cart()

    api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": shirt.sku, "quantity": 3})
    response = api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": socks.sku, "quantity": 7})

    assert response.status_code == 201
    body = response.json()
    first, second = body["lines"]
    assert set(first) >= {"id", "sku", "name", "quantity", "unit_price", "line_total"}
    assert (first["sku"], first["quantity"], first["unit_price"], first["line_total"]) == (shirt.sku, 3, money("19.99"), money("59.97"))
    assert (second["sku"], second["quantity"], second["unit_price"], second["line_total"]) == (socks.sku, 7, money("0.10"), money("0.70"))
    assert body["subtotal"] == money("60.67")
    assert body["total"] == money("60.67")
    assert body["shipping"] == body["tax"] == body["discount"] == money("0.00")


def test_adding_a_sku_already_in_the_cart_adds_to_its_line(api, make_variant, make_cart):
    shirt = make_variant(price="19.99", on_hand=10)
    cart = make_cart({shirt: 2})

    response = api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": shirt.sku, "quantity": 3})

    assert response.status_code == 201
    (line,) = response.json()["lines"]
    assert (line["quantity"], line["line_total"]) == (5, money("99.95"))
    assert CartLine.objects.get(cart=cart).quantity == 5


def test_line_totals_in_another_currency_round_each_unit_first(api, make_variant, fixed_rates):
    variant = make_variant(price="0.05", on_hand=50)  # 0.05 x 0.9 = 0.045 -> 0.05 per unit
    cart = cart_services.create_cart(currency="EUR")

    body = api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": variant.sku, "quantity": 10}).json()

    assert body["lines"][0]["unit_price"] == money("0.05", "EUR")
    assert body["lines"][0]["line_total"] == money("0.50", "EUR")  # not 0.45
    assert body["total"] == money("0.50", "EUR")


def test_client_prices_and_currency_in_a_line_body_are_ignored(api, make_variant, make_cart):
    shirt = make_variant(price="19.99", on_hand=10)
    cart = make_cart()

    response = api.post(
        f"/api/v1/carts/{cart.pk}/lines/",
        {
            "sku": shirt.sku,
            "quantity": 2,
            "price": "0.01",
            "unit_price": {"amount": "0.01", "currency": "USD"},
            "line_total": {"amount": "0.02", "currency": "USD"},
            "total": "0.02",
            "currency": "JPY",
        },
    )

    body = response.json()
    assert response.status_code == 201
    assert body["currency"] == "USD"
    assert body["lines"][0]["unit_price"] == money("19.99")
    assert body["total"] == money("39.98")
    assert Cart.objects.get(pk=cart.pk).currency == "USD"


def test_unknown_sku_is_400_invalid_and_changes_nothing(api, make_variant, make_cart):
    cart = make_cart({make_variant(): 1})
    before = db_state()

    error = assert_error(api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": "NO-SUCH-SKU", "quantity": 1}), 400, "invalid")

    assert "sku" in error["details"]
    assert db_state() == before


@pytest.mark.parametrize(
    "body",
    [
        {"quantity": 1},
        {"sku": None, "quantity": 1},
        {"sku": "", "quantity": 1},
        {"sku": 7, "quantity": 1},
        {"sku": "SKU\u0000", "quantity": 1},
        {"sku": "X" * 10_000, "quantity": 1},
    ],
)
def test_missing_or_malformed_sku_is_400_invalid(api, make_cart, body):
    cart = make_cart()

    error = assert_error(api.post(f"/api/v1/carts/{cart.pk}/lines/", body), 400, "invalid")

    assert "sku" in error["details"]
    assert not CartLine.objects.exists()


def test_inactive_variant_is_an_unknown_sku(api, make_variant, make_cart):
    variant = make_variant()
    variant.is_active = False
    variant.save()
    cart = make_cart()

    assert_error(api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": variant.sku, "quantity": 1}), 400, "invalid")
    assert not CartLine.objects.exists()


BAD_QUANTITIES = [0, -1, 100, "abc", "2", 1.5, 2.0, True, False, None, [1], {"n": 1}]


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_quantity_not_an_integer_from_1_to_99_is_400_on_add(api, make_variant, make_cart, quantity):
    variant = make_variant(on_hand=200)
    cart = make_cart({variant: 1})
    before = db_state()

    error = assert_error(api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": variant.sku, "quantity": quantity}), 400, "invalid")

    assert error["details"]["quantity"]
    assert db_state() == before


def test_missing_quantity_is_400_with_quantity_details(api, make_variant, make_cart):
    variant = make_variant()
    cart = make_cart()

    error = assert_error(api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": variant.sku}), 400, "invalid")

    assert error["details"]["quantity"]
    assert not CartLine.objects.exists()


@pytest.mark.parametrize("quantity", [1, 99])
def test_quantity_bounds_are_accepted(api, make_variant, make_cart, quantity):
    variant = make_variant(on_hand=100)
    cart = make_cart()

    response = api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": variant.sku, "quantity": quantity})

    assert response.status_code == 201
    assert response.json()["lines"][0]["quantity"] == quantity


def test_merged_line_above_99_is_400_and_changes_nothing(api, make_variant, make_cart):
    variant = make_variant(on_hand=500)
    cart = make_cart({variant: 60})
    before = db_state()

    error = assert_error(api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": variant.sku, "quantity": 40}), 400, "invalid")

    assert error["details"]["quantity"]
    assert db_state() == before


def test_adding_more_than_available_is_409_with_items(api, make_variant, make_cart):
    variant = make_variant(on_hand=3)
    cart = make_cart()
    before = db_state()

    error = assert_error(api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": variant.sku, "quantity": 4}), 409, "insufficient_stock")

    assert error["details"] == {"items": [{"sku": variant.sku, "requested": 4, "available": 3}]}
    assert db_state() == before


def test_insufficient_stock_counts_the_whole_line(api, make_variant, make_cart):
    variant = make_variant(on_hand=3)
    cart = make_cart({variant: 2})
    before = db_state()

    error = assert_error(api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": variant.sku, "quantity": 2}), 409, "insufficient_stock")

    assert error["details"] == {"items": [{"sku": variant.sku, "requested": 4, "available": 3}]}
    assert db_state() == before


def test_units_reserved_by_other_carts_are_not_available(api, make_variant, make_cart):
    variant = make_variant(on_hand=5)
    checkout_services.start_checkout(cart_id=make_cart({variant: 4}).pk)
    cart = make_cart()
    before = db_state()

    error = assert_error(api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": variant.sku, "quantity": 2}), 409, "insufficient_stock")

    assert error["details"]["items"] == [{"sku": variant.sku, "requested": 2, "available": 1}]
    assert db_state() == before


def test_out_of_stock_sku_is_409_with_zero_available(api, make_variant, make_cart):
    variant = make_variant(on_hand=0)
    cart = make_cart()

    error = assert_error(api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": variant.sku, "quantity": 1}), 409, "insufficient_stock")

    assert error["details"]["items"] == [{"sku": variant.sku, "requested": 1, "available": 0}]
    assert not CartLine.objects.exists()


@pytest.mark.parametrize("status", [Cart.Status.CHECKOUT, Cart.Status.COMPLETED, Cart.Status.ABANDONED])
def test_lines_do_not_change_unless_the_cart_is_active(api, make_variant, make_cart, status):
    shirt, socks = make_variant(on_hand=10), make_variant(on_hand=10)
    cart = make_cart({shirt: 1})
    if status == Cart.Status.CHECKOUT:
        checkout_services.start_checkout(cart_id=cart.pk)
    else:
        Cart.objects.filter(pk=cart.pk).update(status=status)
    line = CartLine.objects.get(cart=cart)
    before = db_state()

    responses = [
        api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": socks.sku, "quantity": 1}),
        api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": shirt.sku, "quantity": 1}),
        api.patch(f"/api/v1/carts/{cart.pk}/lines/{line.pk}/", {"quantity": 3}),
        api.delete(f"/api/v1/carts/{cart.pk}/lines/{line.pk}/"),
    ]

    for response in responses:
        assert_error(response, 409, "cart_not_active")
    assert db_state() == before


def test_set_line_quantity(api, make_variant, make_cart):
    shirt = make_variant(price="19.99", on_hand=10)
    cart = make_cart({shirt: 1})
    line = CartLine.objects.get(cart=cart)

    response = api.patch(f"/api/v1/carts/{cart.pk}/lines/{line.pk}/", {"quantity": 4, "unit_price": "0.01"})

    assert response.status_code == 200
    body = response.json()
    assert body["lines"][0]["quantity"] == 4
    assert body["lines"][0]["line_total"] == money("79.96")
    assert body["total"] == money("79.96")
    assert CartLine.objects.get(pk=line.pk).quantity == 4


def test_lowering_a_line_is_allowed_even_when_stock_fell_below_it(api, make_variant, make_cart):
    shirt = make_variant(on_hand=5)
    cart = make_cart({shirt: 5})
    checkout_services.start_checkout(cart_id=make_cart({shirt: 4}).pk)  # 1 left for others
    line = CartLine.objects.get(cart=cart)

    response = api.patch(f"/api/v1/carts/{cart.pk}/lines/{line.pk}/", {"quantity": 2})

    assert response.status_code == 200
    assert CartLine.objects.get(pk=line.pk).quantity == 2


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_bad_quantity_on_patch_is_400_and_changes_nothing(api, make_variant, make_cart, quantity):
    cart = make_cart({make_variant(on_hand=200): 2})
    line = CartLine.objects.get(cart=cart)
    before = db_state()

    error = assert_error(api.patch(f"/api/v1/carts/{cart.pk}/lines/{line.pk}/", {"quantity": quantity}), 400, "invalid")

    assert error["details"]["quantity"]
    assert db_state() == before


def test_raising_a_line_above_stock_is_409(api, make_variant, make_cart):
    variant = make_variant(on_hand=3)
    cart = make_cart({variant: 1})
    line = CartLine.objects.get(cart=cart)
    before = db_state()

    error = assert_error(api.patch(f"/api/v1/carts/{cart.pk}/lines/{line.pk}/", {"quantity": 5}), 409, "insufficient_stock")

    assert error["details"] == {"items": [{"sku": variant.sku, "requested": 5, "available": 3}]}
    assert db_state() == before


def test_delete_line(api, make_variant, make_cart):
    shirt, socks = make_variant(price="19.99"), make_variant(price="5.00")
    cart = make_cart({shirt: 1, socks: 2})
    line = CartLine.objects.get(cart=cart, variant=shirt)

    response = api.delete(f"/api/v1/carts/{cart.pk}/lines/{line.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert [line["sku"] for line in body["lines"]] == [socks.sku]
    assert body["total"] == money("10.00")
    assert not CartLine.objects.filter(pk=line.pk).exists()


@pytest.mark.parametrize("line_id", ["999999", "abc", "0", "-1", "99999999999999999999999999", "1.5"])
def test_unknown_line_id_is_404_and_changes_nothing(api, make_variant, make_cart, line_id):
    cart = make_cart({make_variant(): 1})
    before = db_state()

    assert_error(api.patch(f"/api/v1/carts/{cart.pk}/lines/{line_id}/", {"quantity": 2}), 404, "not_found")
    assert_error(api.delete(f"/api/v1/carts/{cart.pk}/lines/{line_id}/"), 404, "not_found")
    assert db_state() == before


def test_a_line_of_another_cart_is_404(api, make_variant, make_cart):
    variant = make_variant()
    mine, theirs = make_cart({variant: 1}), make_cart({variant: 2})
    their_line = CartLine.objects.get(cart=theirs)
    before = db_state()

    assert_error(api.patch(f"/api/v1/carts/{mine.pk}/lines/{their_line.pk}/", {"quantity": 1}), 404, "not_found")
    assert_error(api.delete(f"/api/v1/carts/{mine.pk}/lines/{their_line.pk}/"), 404, "not_found")
    assert db_state() == before


@pytest.mark.parametrize("body", ["{bad json", "[]", "[1]", '"text"', "7", "null", "true"])
def test_line_body_that_is_not_a_json_object_is_400(api, make_variant, make_cart, body):
    variant = make_variant()
    cart = make_cart({variant: 1})
    line = CartLine.objects.get(cart=cart)
    before = db_state()

    assert_error(api.post(f"/api/v1/carts/{cart.pk}/lines/", body), 400, "invalid")
    assert_error(api.patch(f"/api/v1/carts/{cart.pk}/lines/{line.pk}/", body), 400, "invalid")
    assert db_state() == before


def test_an_oversized_body_is_400_invalid(api, make_cart, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    cart = make_cart()

    response = api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": "X" * 2000, "quantity": 1})

    assert_error(response, 400, "invalid")
    assert not CartLine.objects.exists()


def test_a_form_encoded_body_is_400_invalid(api, make_variant, make_cart):
    variant = make_variant()
    cart = make_cart()

    response = api.generic(
        "POST", f"/api/v1/carts/{cart.pk}/lines/", f"sku={variant.sku}&quantity=1", content_type="application/x-www-form-urlencoded"
    )

    assert_error(response, 400, "invalid")
    assert not CartLine.objects.exists()


# --- currency ----------------------------------------------------------------------


def test_patch_currency_reprices_the_cart(api, make_variant, make_cart, fixed_rates):
    cart = make_cart({make_variant(price="19.99"): 2})

    response = api.patch(f"/api/v1/carts/{cart.pk}/", {"currency": "JPY", "total": "1"})

    assert response.status_code == 200
    body = response.json()
    assert body["currency"] == "JPY"
    assert body["lines"][0]["unit_price"] == money("3023", "JPY")
    assert body["total"] == money("6046", "JPY")
    assert Cart.objects.get(pk=cart.pk).currency == "JPY"


def test_patch_cart_without_currency_changes_nothing(api, make_variant, make_cart):
    cart = make_cart({make_variant(): 1})
    before = db_state()

    response = api.patch(f"/api/v1/carts/{cart.pk}/", {"status": "completed"})

    assert response.status_code == 200
    assert response.json()["status"] == "active"
    assert db_state() == before


@pytest.mark.parametrize("currency", ["XYZ", "", None, 5])
def test_patch_unsupported_currency_is_400_and_changes_nothing(api, make_variant, make_cart, currency):
    cart = make_cart({make_variant(): 1})
    before = db_state()

    error = assert_error(api.patch(f"/api/v1/carts/{cart.pk}/", {"currency": currency}), 400, "unsupported_currency")

    assert "currency" in error["details"]
    assert db_state() == before


def test_patch_currency_in_checkout_is_409_cart_not_active(api, make_variant, make_cart, fixed_rates):
    cart = make_cart({make_variant(): 1})
    checkout_services.start_checkout(cart_id=cart.pk)
    before = db_state()

    assert_error(api.patch(f"/api/v1/carts/{cart.pk}/", {"currency": "EUR"}), 409, "cart_not_active")
    assert db_state() == before


# --- stock -------------------------------------------------------------------------


def test_stock_lists_each_line_with_its_status(api, make_variant, make_cart):
    plenty = make_variant(on_hand=20, threshold=3)
    few = make_variant(on_hand=5, threshold=3)
    gone = make_variant(on_hand=2, threshold=3)
    cart = make_cart({plenty: 2, few: 2, gone: 2})
    other = make_cart({few: 3, gone: 2})
    checkout_services.start_checkout(cart_id=other.pk)

    response = api.get(f"/api/v1/carts/{cart.pk}/stock/")

    assert response.status_code == 200
    assert response.json() == {
        "items": [
            {"sku": plenty.sku, "requested": 2, "available": 20, "status": "in_stock"},
            {"sku": few.sku, "requested": 2, "available": 2, "status": "low_stock"},
            {"sku": gone.sku, "requested": 2, "available": 0, "status": "out_of_stock"},
        ]
    }


def test_stock_of_an_empty_cart_is_an_empty_list(api, make_cart):
    cart = make_cart()

    assert api.get(f"/api/v1/carts/{cart.pk}/stock/").json() == {"items": []}


def test_stock_of_a_cart_in_checkout_counts_its_own_reservation_as_available(api, make_variant, make_cart):
    variant = make_variant(on_hand=10, threshold=3)
    cart = make_cart({variant: 4})
    checkout_services.start_checkout(cart_id=cart.pk)

    items = api.get(f"/api/v1/carts/{cart.pk}/stock/").json()["items"]

    assert items == [{"sku": variant.sku, "requested": 4, "available": 10, "status": "in_stock"}]


# --- shipping methods --------------------------------------------------------------


@pytest.fixture
def shipping_methods(db):
    standard = make_method(code="standard", name="Standard", price=Money(Decimal("4.95"), "USD"), position=0)
    express = make_method(code="express", name="Express", price=Money(Decimal("14.90"), "USD"), position=1)
    make_method(code="retired", name="Retired", price=Money(Decimal("1.00"), "USD"), is_active=False)
    return standard, express


def _method(code: str, name: str, price: dict, *, free_over: dict | None = None, days: tuple[int, int] = (2, 5)) -> dict:
    return {
        "code": code,
        "name": name,
        "price": price,
        "regular_price": price,
        "estimated_delivery": {"min_days": days[0], "max_days": days[1]},
        "free_over": free_over,
    }


def test_shipping_methods_for_a_country_without_a_cart_are_in_usd(api, shipping_methods):
    response = api.get("/api/v1/shipping-methods/?country=us")

    assert response.status_code == 200
    assert response.json() == [_method("standard", "Standard", money("4.95")), _method("express", "Express", money("14.90"))]


def test_shipping_methods_need_a_cart_or_a_country(api, shipping_methods):
    assert_error(api.get("/api/v1/shipping-methods/"), 400, "invalid")
    response = api.get("/api/v1/shipping-methods/?country=XX")
    assert_error(response, 400, "invalid")
    assert response.json()["error"]["details"] == {"country": ["Use an ISO 3166 two-letter country code, like US or DE."]}


def test_shipping_methods_of_a_cart_without_an_address_are_400_checkout_incomplete(api, shipping_methods):
    cart = cart_services.create_cart(currency="USD")

    response = api.get(f"/api/v1/shipping-methods/?cart={cart.pk}")

    assert_error(response, 400, "checkout_incomplete")
    assert response.json()["error"]["details"]["missing"] == ["shipping_address"]


def test_shipping_methods_for_a_cart_are_in_its_currency(api, shipping_methods, fixed_rates):
    cart = cart_services.create_cart(currency="JPY")
    Cart.objects.filter(pk=cart.pk).update(shipping_address={"country": "JP"})

    response = api.get(f"/api/v1/shipping-methods/?cart={cart.pk}")

    assert response.status_code == 200
    assert response.json() == [
        _method("standard", "Standard", money("749", "JPY")),  # 4.95 x 151.237 = 748.62
        _method("express", "Express", money("2253", "JPY")),  # 14.90 x 151.237 = 2253.43
    ]
