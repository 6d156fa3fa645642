"""The JSON API of docs/api.md driven over HTTP against a real gunicorn (2 sync workers, DEBUG
off, ALLOWED_HOSTS, SECRET_KEY and DATABASE_URL from the environment, static files
collected and served by whitenoise), as an outside test suite drives it: what only breaks
in a real server (CSRF middleware, hosts, content types, trailing slashes, HEAD/OPTIONS,
state shared across worker processes) and every documented error path.

The server reaches the pytest test database; data seeded here is committed
(transaction=True) so the workers see it, and the tables are flushed after each test."""
from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from django.db.models import Sum
from django.utils import timezone

from cart.models import Cart
from tests.support.shipping import make_method
from checkout.imports import import_catalog
from inventory.models import Reservation, Stock, StockMovement
from currencies.models import CurrencyRate, ExchangeRateSet
from tests.support.api_helpers import db_state
from tests.support.e2e_server import Gunicorn, HttpClient, collect_static, error_of, json_body, money, server_environment
from tests.support.rates import store_rates

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 2
RATES = {"EUR": Decimal("0.9215"), "JPY": Decimal("158.09"), "KWD": Decimal("0.3071")}
FILLERS = 19  # with the 3 named products: 22, so the list has a second page of 2
CATALOG = {
    "products": [
        {
            "slug": "linen-shirt", "name": "Linen shirt", "description": "Washed linen.",
            "variants": [
                {"sku": "LINEN-S", "name": "S", "attributes": {"size": "S"}, "price_usd": "19.99", "stock": 10, "low_stock_threshold": 3},
                {"sku": "LINEN-M", "name": "M", "attributes": {"size": "M"}, "price_usd": "19.99", "stock": 2, "low_stock_threshold": 3},
            ],
        },
        {"slug": "last-lamp", "name": "Last lamp", "variants": [{"sku": "LAMP", "price_usd": "45.50", "stock": 5, "low_stock_threshold": 1}]},
        {"slug": "gone-mug", "name": "Gone mug", "variants": [{"sku": "MUG", "price_usd": "8.00", "stock": 0}]},
        *[
            {"slug": f"filler-{n:02d}", "name": f"Filler {n:02d}", "variants": [{"sku": f"FILL-{n:02d}", "price_usd": "1.00", "stock": 1, "low_stock_threshold": 0}]}
            for n in range(FILLERS)
        ],
    ]
}
ADDRESS = {"name": "Ada Lovelace", "line1": "1 Analytical Row", "city": "London", "postal_code": "N1 9GU", "country": "gb"}


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    """gunicorn serving the test database, for every test of this module."""
    from django.db import connection

    folder = tmp_path_factory.mktemp("e2e-gunicorn")
    env = server_environment(database=connection.settings_dict, static_root=folder / "static")
    collect_static(env)
    gunicorn = Gunicorn(env=env, workers=WORKERS, log_dir=folder)
    try:
        gunicorn.wait_ready()
        yield gunicorn
    finally:
        gunicorn.stop()  # before django_db_setup drops the database it is connected to


@pytest.fixture(autouse=True)
def server_stays_healthy(server):
    """No request of a test ends as a 500 or costs a worker."""
    offset = server.log_size()
    yield
    log = server.log_since(offset)
    for sign in ("Internal Server Error", "CRITICAL", "Worker (pid"):
        assert sign not in log, log[-4000:]


@pytest.fixture
def http(server) -> HttpClient:
    with HttpClient(server.base_url) as client:
        yield client


@pytest.fixture
def world(server):
    """The catalog, shipping methods and rates, committed so the workers see them. Only
    RATES: the demo rates a migration seeds exist in the first test of a run, not later."""
    CurrencyRate.objects.all().delete()
    ExchangeRateSet.objects.all().delete()
    import_catalog(CATALOG)
    make_method(code="standard", name="Standard", price=Decimal("4.95"), position=0)
    make_method(code="express", name="Express", price=Decimal("14.90"), position=1)
    store_rates(RATES, provider="e2e")


def new_cart(http: HttpClient, lines: dict[str, int] | None = None, currency: str | None = None) -> dict:
    cart = json_body(http.post("/api/v1/carts/", json={"currency": currency} if currency else {}), 201)
    for sku, quantity in (lines or {}).items():
        cart = json_body(http.post(f"/api/v1/carts/{cart['id']}/lines/", json={"sku": sku, "quantity": quantity}), 201)
    return cart


def stock_of(sku: str) -> tuple[int, int, int]:
    """(on_hand, reserved, sum of active reservations) of a SKU, from the database."""
    stock = Stock.objects.get(variant__sku=sku)
    active = Reservation.objects.filter(variant__sku=sku, status=Reservation.Status.ACTIVE).aggregate(n=Sum("quantity"))["n"]
    return stock.on_hand, stock.reserved, active or 0


# --- pages and static files with DEBUG off -----------------------------------------------

def test_catalog_page_and_its_hashed_stylesheet_are_served(http, world):
    page = http.get("/")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Gone mug" in page.text
    stylesheet = re.search(r'href="(/static/css/shop\.[0-9a-f]{12}\.css)"', page.text)
    assert stylesheet, "the page links the manifest (hashed) name of its stylesheet"

    css = http.get(stylesheet.group(1))

    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert "immutable" in css.headers["Cache-Control"]


def test_unknown_page_is_the_plain_404_not_the_debug_page(http):
    response = http.get("/no-such-page/")

    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert "URLconf" not in response.text and "Traceback" not in response.text


def test_openapi_schema_is_served(http):
    response = http.get("/api/v1/schema/", params={"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/carts/", "/api/v1/carts/{cart_id}/checkout/", "/api/v1/products/"} <= set(schema["paths"])


# --- catalog -------------------------------------------------------------------------------

def test_product_list_pages_through_every_product_in_the_chosen_currency(http, server, world):
    first = json_body(http.get("/api/v1/products/", params={"currency": "EUR"}), 200)

    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 22
    assert len(first["results"]) == 20
    assert first["previous"] is None
    assert first["next"] == f"{server.base_url}/api/v1/products/?currency=EUR&page=2"
    second = json_body(http.get(first["next"]), 200)
    assert second["next"] is None
    assert second["previous"] == f"{server.base_url}/api/v1/products/?currency=EUR"
    assert [p["slug"] for p in second["results"]] == ["last-lamp", "linen-shirt"]
    slugs = [p["slug"] for p in first["results"] + second["results"]]
    assert len(set(slugs)) == 22
    shirt = second["results"][1]
    assert shirt["variants"] == [
        {"sku": "LINEN-S", "name": "S", "attributes": {"size": "S"}, "price": money("18.42", "EUR"), "available": 10, "availability": "in_stock"},
        {"sku": "LINEN-M", "name": "M", "attributes": {"size": "M"}, "price": money("18.42", "EUR"), "available": 2, "availability": "low_stock"},
    ]
    mug = next(p for p in first["results"] if p["slug"] == "gone-mug")
    assert mug["variants"][0]["price"] == money("7.37", "EUR")
    assert (mug["variants"][0]["available"], mug["variants"][0]["availability"]) == (0, "out_of_stock")
    error_of(http.get("/api/v1/products/", params={"page": 3}), 404, "not_found")


@pytest.mark.parametrize(
    "currency, amount",
    [(None, money("19.99", "USD")), ("EUR", money("18.42", "EUR")), ("jpy", money("3160", "JPY")), ("KWD", money("6.140", "KWD"))],
)
def test_product_detail_prices_have_exactly_the_currency_minor_units(http, world, currency, amount):
    product = json_body(http.get("/api/v1/products/linen-shirt/", params={"currency": currency} if currency else {}), 200)

    assert {"slug", "name", "description", "variants"} <= set(product)
    assert (product["slug"], product["name"], product["description"]) == ("linen-shirt", "Linen shirt", "Washed linen.")
    assert [v["price"] for v in product["variants"]] == [amount, amount]


def test_product_errors(http, world):
    error_of(http.get("/api/v1/products/no-such-product/"), 404, "not_found")
    unsupported = error_of(http.get("/api/v1/products/", params={"currency": "XYZ"}), 400, "unsupported_currency")
    assert "currency" in unsupported["details"]
    # Configured but without a rate yet: still a currency the shop cannot sell in.
    error_of(http.get("/api/v1/products/linen-shirt/", params={"currency": "GBP"}), 400, "unsupported_currency")


def test_currencies_list_the_base_and_every_stored_rate(http, world):
    body = json_body(http.get("/api/v1/currencies/"), 200)

    assert body["base"] == "USD"
    by_code = {row["code"]: row for row in body["currencies"]}
    assert set(by_code) == {"USD", "EUR", "JPY", "KWD"}
    assert by_code["USD"]["rate"] == "1"
    assert {code: Decimal(by_code[code]["rate"]) for code in RATES} == RATES
    for row in body["currencies"]:
        assert datetime.fromisoformat(row["updated_at"]).utcoffset() is not None


# --- carts and lines ---------------------------------------------------------------------

def test_new_cart_is_empty_and_priced_in_its_currency(http, world):
    usd = json_body(http.post("/api/v1/carts/"), 201)  # no body at all
    jpy = json_body(http.post("/api/v1/carts/", json={"currency": "JPY"}), 201)

    assert (usd["status"], usd["currency"], usd["lines"], usd["reservation_expires_at"], usd["order"]) == ("active", "USD", [], None, None)
    for field in ("subtotal", "shipping", "tax", "discount", "total"):
        assert usd[field] == money("0.00", "USD")
        assert jpy[field] == money("0", "JPY")
    assert (usd["email"], usd["shipping_address"], usd["billing_address"], usd["shipping_method"]) == (None, None, None, None)
    assert json_body(http.get(f"/api/v1/carts/{jpy['id']}/"), 200) == jpy


@pytest.mark.parametrize("currency", ["XYZ", "GBP", "", 5])
def test_cart_in_an_unsupported_currency_is_refused_and_not_created(http, world, currency):
    response = http.post("/api/v1/carts/", data=json.dumps({"currency": currency}), headers={"Content-Type": "application/json"})

    error_of(response, 400, "unsupported_currency")
    assert Cart.objects.count() == 0


def test_adding_a_sku_again_adds_to_its_line_and_totals_follow(http, world):
    cart = new_cart(http, currency="EUR")
    lines_url = f"/api/v1/carts/{cart['id']}/lines/"

    json_body(http.post(lines_url, json={"sku": "LINEN-S", "quantity": 2}), 201)
    cart = json_body(http.post(lines_url, json={"sku": "LINEN-S", "quantity": 3}), 201)

    assert [(line["sku"], line["quantity"], line["unit_price"], line["line_total"]) for line in cart["lines"]] == [
        ("LINEN-S", 5, money("18.42", "EUR"), money("92.10", "EUR"))
    ]
    assert (cart["subtotal"], cart["shipping"], cart["tax"], cart["discount"], cart["total"]) == (
        money("92.10", "EUR"), money("0.00", "EUR"), money("0.00", "EUR"), money("0.00", "EUR"), money("92.10", "EUR"),
    )
    line_url = f"{lines_url}{cart['lines'][0]['id']}/"
    kwd = json_body(http.patch(f"/api/v1/carts/{cart['id']}/", json={"currency": "KWD"}), 200)
    assert (kwd["lines"][0]["unit_price"], kwd["total"]) == (money("6.140", "KWD"), money("30.700", "KWD"))
    one = json_body(http.patch(line_url, json={"quantity": 1}), 200)
    assert (one["lines"][0]["quantity"], one["total"]) == (1, money("6.140", "KWD"))
    emptied = json_body(http.delete(line_url), 200)
    assert (emptied["lines"], emptied["total"]) == ([], money("0.000", "KWD"))
    assert stock_of("LINEN-S") == (10, 0, 0)  # a cart holds nothing until checkout


def test_bad_line_requests_are_refused_with_their_documented_error_and_change_nothing(http, world):
    cart = new_cart(http, {"LINEN-M": 2})
    lines_url = f"/api/v1/carts/{cart['id']}/lines/"
    line_url = f"{lines_url}{cart['lines'][0]['id']}/"
    json_headers = {"Content-Type": "application/json"}
    before = db_state()
    cases = [
        # (method, url, body as JSON or raw text, status, code, field in details)
        ("post", lines_url, {"sku": "NOPE", "quantity": 1}, 400, "invalid", "sku"),
        ("post", lines_url, {"quantity": 1}, 400, "invalid", "sku"),
        *[("post", lines_url, {"sku": "LINEN-S", "quantity": q}, 400, "invalid", "quantity") for q in (0, -1, 100, "abc", "2", 1.5, True, None)],
        ("post", lines_url, {"sku": "LINEN-S"}, 400, "invalid", "quantity"),
        ("post", lines_url, '{"sku": "LINEN-S", "quantity": ', 400, "invalid", "body"),
        ("post", lines_url, '[{"sku": "LINEN-S", "quantity": 1}]', 400, "invalid", "body"),
        ("patch", line_url, {"quantity": 0}, 400, "invalid", "quantity"),
        ("patch", line_url, {"quantity": "abc"}, 400, "invalid", "quantity"),
        ("post", f"/api/v1/carts/{uuid4()}/lines/", {"sku": "LINEN-S", "quantity": 1}, 404, "not_found", None),
        ("post", "/api/v1/carts/not-a-uuid/lines/", {"sku": "LINEN-S", "quantity": 1}, 404, "not_found", None),
        ("get", "/api/v1/carts/not-a-uuid/", None, 404, "not_found", None),
        ("patch", f"{lines_url}999999/", {"quantity": 1}, 404, "not_found", None),
        ("delete", f"{lines_url}abc/", None, 404, "not_found", None),
        ("patch", f"/api/v1/carts/{cart['id']}/", {"currency": "XYZ"}, 400, "unsupported_currency", "currency"),
    ]
    for method, url, body, status, code, field in cases:
        raw = body if isinstance(body, str) else (json.dumps(body) if body is not None else None)
        error = error_of(http.request(method, url, data=raw, headers=json_headers), status, code)
        if field:
            assert field in error["details"], (method, url, body, error)
    # JSON only: a form body is bad input too.
    form = error_of(http.post(lines_url, data={"sku": "LINEN-S", "quantity": "1"}), 400, "invalid")
    assert "body" in form["details"]
    assert db_state() == before


@pytest.mark.parametrize(
    "sku, quantity, requested, available",
    [("LINEN-M", 1, 3, 2), ("MUG", 1, 1, 0), ("LINEN-S", 11, 11, 10)],
    ids=["merged line over stock", "out of stock", "new line over stock"],
)
def test_line_beyond_stock_is_409_with_the_items(http, world, sku, quantity, requested, available):
    cart = new_cart(http, {"LINEN-M": 2})
    before = db_state()

    response = http.post(f"/api/v1/carts/{cart['id']}/lines/", json={"sku": sku, "quantity": quantity})

    error = error_of(response, 409, "insufficient_stock")
    assert error["details"] == {"items": [{"sku": sku, "requested": requested, "available": available}]}
    assert db_state() == before


# --- checkout --------------------------------------------------------------------------------

def test_checkout_reserves_every_line_and_cancelling_releases_them(http, world):
    cart = new_cart(http, {"LINEN-S": 2, "LAMP": 1}, currency="EUR")
    checkout_url = f"/api/v1/carts/{cart['id']}/checkout/"

    started = json_body(http.post(checkout_url), 200)

    assert started["status"] == "checkout"
    expires = datetime.fromisoformat(started["reservation_expires_at"])
    assert expires.utcoffset() is not None
    assert abs(expires - (timezone.now() + timedelta(minutes=5))) < timedelta(seconds=20)
    assert (stock_of("LINEN-S"), stock_of("LAMP")) == ((10, 2, 2), (5, 1, 1))
    assert started["total"] == money("78.77", "EUR")  # 2 x 18.42 + 41.93
    again = json_body(http.post(checkout_url), 200)
    assert again["status"] == "checkout"
    assert datetime.fromisoformat(again["reservation_expires_at"]) >= expires
    assert (stock_of("LINEN-S"), stock_of("LAMP")) == ((10, 2, 2), (5, 1, 1))

    stock = json_body(http.get(f"/api/v1/carts/{cart['id']}/stock/"), 200)
    assert stock == {"items": [
        {"sku": "LINEN-S", "requested": 2, "available": 10, "status": "in_stock"},
        {"sku": "LAMP", "requested": 1, "available": 5, "status": "in_stock"},
    ]}

    cancelled = json_body(http.delete(checkout_url), 200)
    assert (cancelled["status"], cancelled["reservation_expires_at"]) == ("active", None)
    assert (stock_of("LINEN-S"), stock_of("LAMP")) == ((10, 0, 0), (5, 0, 0))
    error_of(http.delete(checkout_url), 409, "cart_not_in_checkout")
    error_of(http.patch(checkout_url, json={"email": "ada@example.com"}), 409, "cart_not_in_checkout")


def test_checkout_details_shipping_methods_and_payment_step(http, world):
    cart = new_cart(http, {"LINEN-S": 2, "LAMP": 1}, currency="EUR")
    checkout_url = f"/api/v1/carts/{cart['id']}/checkout/"
    payment_url = f"/api/v1/carts/{cart['id']}/payment/"
    error_of(http.post(payment_url, json={}), 409, "cart_not_in_checkout")
    json_body(http.post(checkout_url), 200)

    error_of(http.get("/api/v1/shipping-methods/", params={"cart": cart["id"]}), 400, "checkout_incomplete")  # no address yet
    json_body(http.patch(checkout_url, json={"shipping_address": ADDRESS}), 200)
    methods = json_body(http.get("/api/v1/shipping-methods/", params={"cart": cart["id"]}), 200)
    assert [(m["code"], m["name"], m["price"]) for m in methods] == [
        ("standard", "Standard", money("4.56", "EUR")),
        ("express", "Express", money("13.73", "EUR")),
    ]
    by_country = json_body(http.get("/api/v1/shipping-methods/", params={"country": "GB"}), 200)
    assert [m["price"] for m in by_country] == [money("4.95", "USD"), money("14.90", "USD")]
    error_of(http.get("/api/v1/shipping-methods/", params={"cart": str(uuid4())}), 404, "not_found")

    incomplete = error_of(http.post(payment_url, json={}), 400, "checkout_incomplete")
    assert set(incomplete["details"]["missing"]) == {"email"}

    before = db_state()
    bad = error_of(
        http.patch(checkout_url, json={"email": "not-an-email", "shipping_address": {**ADDRESS, "country": "XX"}, "shipping_method": "teleport"}),
        400, "invalid",
    )
    assert {"email", "shipping_address.country", "shipping_method"} <= set(bad["details"])
    assert db_state() == before

    filled = json_body(
        http.patch(checkout_url, json={"email": "ada@example.com", "shipping_address": ADDRESS, "shipping_method": "express"}), 200
    )
    assert (filled["email"], filled["shipping_address"]["country"], filled["shipping_method"]) == ("ada@example.com", "GB", "express")
    assert (filled["subtotal"], filled["shipping"], filled["total"]) == (money("78.77", "EUR"), money("13.73", "EUR"), money("92.50", "EUR"))

    # No Stripe configured on this server: 502, and nothing is lost.
    error_of(http.post(payment_url, json={}), 502, "payment_provider_unavailable")
    after = json_body(http.get(f"/api/v1/carts/{cart['id']}/"), 200)
    assert (after["status"], after["total"]) == ("checkout", money("92.50", "EUR"))
    assert (stock_of("LINEN-S"), stock_of("LAMP")) == ((10, 2, 2), (5, 1, 1))


def test_cart_in_checkout_refuses_line_and_currency_changes(http, world):
    cart = new_cart(http, {"LINEN-S": 1})
    line_url = f"/api/v1/carts/{cart['id']}/lines/{cart['lines'][0]['id']}/"
    json_body(http.post(f"/api/v1/carts/{cart['id']}/checkout/"), 200)
    before = db_state()

    error_of(http.post(f"/api/v1/carts/{cart['id']}/lines/", json={"sku": "LINEN-S", "quantity": 1}), 409, "cart_not_active")
    error_of(http.patch(line_url, json={"quantity": 2}), 409, "cart_not_active")
    error_of(http.delete(line_url), 409, "cart_not_active")
    error_of(http.patch(f"/api/v1/carts/{cart['id']}/", json={"currency": "EUR"}), 409, "cart_not_active")

    assert db_state() == before


def test_checkout_of_an_empty_or_unknown_cart_is_refused(http, world):
    empty = new_cart(http)

    error_of(http.post(f"/api/v1/carts/{empty['id']}/checkout/"), 400, "invalid")
    error_of(http.post(f"/api/v1/carts/{uuid4()}/checkout/"), 404, "not_found")
    error_of(http.post("/api/v1/carts/12345/checkout/"), 404, "not_found")
    assert Cart.objects.get(pk=empty["id"]).status == Cart.Status.ACTIVE


def test_checkout_that_cannot_reserve_every_line_reserves_none(http, world):
    cart = new_cart(http, {"LINEN-S": 2, "LINEN-M": 2})
    rival = new_cart(http, {"LINEN-M": 1})
    json_body(http.post(f"/api/v1/carts/{rival['id']}/checkout/"), 200)

    error = error_of(http.post(f"/api/v1/carts/{cart['id']}/checkout/"), 409, "insufficient_stock")

    assert error["details"] == {"items": [{"sku": "LINEN-M", "requested": 2, "available": 1}]}
    assert json_body(http.get(f"/api/v1/carts/{cart['id']}/"), 200)["status"] == "active"
    assert (stock_of("LINEN-S"), stock_of("LINEN-M")) == ((10, 0, 0), (2, 1, 1))
    assert json_body(http.get(f"/api/v1/carts/{cart['id']}/stock/"), 200)["items"] == [
        {"sku": "LINEN-S", "requested": 2, "available": 10, "status": "in_stock"},
        {"sku": "LINEN-M", "requested": 2, "available": 1, "status": "low_stock"},
    ]


def test_checkout_after_the_reservation_expired(http, world):
    cart = new_cart(http, {"LAMP": 2})
    checkout_url = f"/api/v1/carts/{cart['id']}/checkout/"
    json_body(http.post(checkout_url), 200)
    # Five minutes pass.
    past = timezone.now() - timedelta(seconds=1)
    Cart.objects.filter(pk=cart["id"]).update(reservation_expires_at=past)
    Reservation.objects.filter(holder_id=cart["id"]).update(expires_at=past)

    error_of(http.patch(checkout_url, json={"email": "ada@example.com"}), 409, "reservation_expired")
    error_of(http.post(f"/api/v1/carts/{cart['id']}/payment/", json={}), 409, "reservation_expired")
    assert Cart.objects.get(pk=cart["id"]).email == ""

    again = json_body(http.post(checkout_url), 200)  # reserves anew
    assert datetime.fromisoformat(again["reservation_expires_at"]) > timezone.now() + timedelta(minutes=4)
    assert stock_of("LAMP") == (5, 2, 2)


def test_twenty_clients_race_for_the_last_five_units_across_workers(http, server, world):
    clients = 20
    ready = threading.Barrier(clients)

    def shopper(_: int) -> tuple[str, int, dict]:
        with HttpClient(server.base_url) as own:
            cart = new_cart(own, {"LAMP": 1})
            ready.wait(timeout=30)
            response = own.post(f"/api/v1/carts/{cart['id']}/checkout/")
            body = json_body(response, response.status_code)
            return cart["id"], response.status_code, body

    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(shopper, range(clients)))

    winners = [cart_id for cart_id, status, body in results if status == 200 and body["status"] == "checkout"]
    losers = [(cart_id, body) for cart_id, status, body in results if status == 409]
    assert (len(winners), len(losers)) == (5, 15), [(status, body) for _, status, body in results]
    for cart_id, body in losers:
        assert body["error"]["code"] == "insufficient_stock"
        assert body["error"]["details"] == {"items": [{"sku": "LAMP", "requested": 1, "available": 0}]}
    assert stock_of("LAMP") == (5, 5, 5)
    held = Reservation.objects.filter(variant__sku="LAMP", status=Reservation.Status.ACTIVE)
    assert sorted(str(r.holder_id) for r in held) == sorted(winners)
    assert {r.quantity for r in held} == {1}
    assert Cart.objects.filter(status=Cart.Status.CHECKOUT).count() == 5
    assert Cart.objects.filter(status=Cart.Status.ACTIVE).count() == 15
    assert StockMovement.objects.filter(variant__sku="LAMP").aggregate(n=Sum("delta"))["n"] == 5
    lamp = json_body(http.get("/api/v1/products/last-lamp/"), 200)["variants"][0]
    assert (lamp["available"], lamp["availability"]) == (0, "out_of_stock")
    checkout_workers = {line.worker_pid for line in server.served() if line.path.endswith("/checkout/")}
    assert len(checkout_workers) == WORKERS, "the race ran in one worker only; it proves nothing across processes"


# --- routing, methods and content types ------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/nope", "/api/v1/carts/x/y/z/", "/api/v1/products/linen-shirt/variants/"])
def test_unknown_api_route_is_a_json_404_for_every_method(http, method, path):
    # No CSRF token and no cookies: the answer is the API's 404, not Django's CSRF page.
    error_of(http.request(method, path, json={"sku": "X"} if method in ("POST", "PATCH") else None), 404, "not_found")


def test_route_without_its_trailing_slash_is_a_308_that_keeps_method_query_and_body(http, world):
    listing = http.get("/api/v1/products", params={"currency": "EUR"}, allow_redirects=False)
    assert (listing.status_code, listing.headers["Location"]) == (308, "/api/v1/products/?currency=EUR")

    created = http.post("/api/v1/carts", json={"currency": "JPY"})  # requests follows a 308 with method and body

    assert [r.status_code for r in created.history] == [308]
    assert json_body(created, 201)["currency"] == "JPY"
    patched = http.patch(f"/api/v1/carts/{created.json()['id']}", json={"currency": "EUR"})
    assert [r.status_code for r in patched.history] == [308]
    assert json_body(patched, 200)["currency"] == "EUR"


def test_head_options_and_unsupported_methods(http, world):
    head = http.head("/api/v1/products/")
    assert (head.status_code, head.headers["Content-Type"], head.content) == (200, "application/json", b"")

    options = json_body(http.options("/api/v1/carts/"), 200)
    assert options["renders"] == ["application/json"] and options["parses"] == ["application/json"]

    not_allowed = http.put("/api/v1/carts/", json={})
    error_of(not_allowed, 405, "method_not_allowed")
    assert {m.strip() for m in not_allowed.headers["Allow"].split(",")} == {"POST", "OPTIONS"}
    assert Cart.objects.count() == 0


def test_request_for_a_host_not_allowed_is_refused_and_changes_nothing(http, world):
    response = http.post("/api/v1/carts/", json={}, headers={"Host": "shop.evil.example"})

    assert response.status_code == 400
    assert Cart.objects.count() == 0


# --- session authentication: CSRF on API writes, logout in every worker --------------------

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def signed_in(http, world) -> HttpClient:
    """`http` logged in through the login page, as a browser would be."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    # The test settings hash with MD5, which the server does not accept.
    hasher = PBKDF2PasswordHasher()
    ada = get_user_model().objects.create(username="ada", email="ada@example.com", password=hasher.encode(PASSWORD, hasher.salt()))
    EmailAddress.objects.create(user=ada, email=ada.email, verified=True, primary=True)  # logins need it verified
    http.get("/accounts/login/")
    login = http.post(
        "/accounts/login/", data={"login": "ada@example.com", "password": PASSWORD, "csrfmiddlewaretoken": http.cookies["csrftoken"]},
        allow_redirects=False,
    )
    assert login.status_code == 302, login.text[:2000]
    return http


def test_signed_in_api_write_needs_the_csrf_token(signed_in, server):
    refused = signed_in.post("/api/v1/carts/", json={})

    error = error_of(refused, 403, "permission_denied")
    assert "CSRF" in error["message"]
    assert Cart.objects.count() == 0
    token = {"X-CSRFToken": signed_in.cookies["csrftoken"]}
    cross_site = signed_in.post("/api/v1/carts/", json={}, headers={**token, "Origin": "http://shop.evil.example"})
    error_of(cross_site, 403, "permission_denied")
    assert Cart.objects.count() == 0

    created = json_body(signed_in.post("/api/v1/carts/", json={}, headers={**token, "Origin": server.base_url}), 201)

    assert Cart.objects.get(pk=created["id"]).user.username == "ada"
    assert json_body(signed_in.get("/api/v1/orders/"), 200) == []


def test_logout_ends_the_session_in_every_worker(signed_in, server):
    session = signed_in.cookies["sessionid"]

    def signed_in_page(_: int) -> bool:
        with HttpClient(server.base_url) as other_tab:
            return "Log out" in other_tab.get("/", cookies={"sessionid": session}).text

    served_before = len(server.served())
    with ThreadPoolExecutor(10) as pool:
        assert all(pool.map(signed_in_page, range(20)))
    assert len({line.worker_pid for line in server.served()[served_before:]}) == WORKERS  # each has seen the session
    logout = signed_in.post("/accounts/logout/", data={"csrfmiddlewaretoken": signed_in.cookies["csrftoken"]}, allow_redirects=False)
    assert logout.status_code == 302

    with ThreadPoolExecutor(10) as pool:
        assert not any(pool.map(signed_in_page, range(20)))
