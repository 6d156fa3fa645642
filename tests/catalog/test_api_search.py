"""GET /api/v1/products/ with q, sort, category, in_stock, price_min, price_max and
attr.<name> (docs/api.md, Catalog): results, each bad value as 400 `invalid` naming the
parameter, the OpenAPI parameters, and constant query counts."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Category, Product
from tests.support.api_helpers import assert_error


def slugs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [product["slug"] for product in response.json()["results"]]


@pytest.fixture
def shop(make_variant):
    shoes = Category.objects.create(name="Shoes", slug="shoes")
    trail = Category.objects.create(name="Trail", slug="trail", parent=shoes)
    bags = Category.objects.create(name="Bags", slug="bags")
    runner = Product.objects.create(slug="trail-runner-10", name="Trail runner 10", category=trail, description="Light.")
    make_variant("RUN-42", price="90.00", product=runner, size="42", colour="moss")
    make_variant("RUN-43", price="95.00", on_hand=0, product=runner, size="43", colour="moss")
    runner2 = Product.objects.create(slug="trail-runner-2", name="Trail runner 2", category=trail)
    make_variant("RUN2-42", price="80.00", product=runner2, size="42", colour="black")
    tote = Product.objects.create(slug="tote", name="Tote", category=bags, description="Carries trail runners.")
    make_variant("TOTE", price="30.00", product=tote, colour="black")


def test_search_ranks_and_falls_back_to_similar_words(api, shop):
    assert slugs(api.get("/api/v1/products/?q=runner")) == ["trail-runner-2", "trail-runner-10", "tote"]
    assert slugs(api.get("/api/v1/products/?q=runnr")) == ["trail-runner-2", "trail-runner-10"]


def test_sorts(api, shop):
    assert slugs(api.get("/api/v1/products/")) == ["tote", "trail-runner-2", "trail-runner-10"]
    assert slugs(api.get("/api/v1/products/?sort=name")) == ["tote", "trail-runner-2", "trail-runner-10"]
    assert slugs(api.get("/api/v1/products/?sort=price")) == ["tote", "trail-runner-2", "trail-runner-10"]
    assert slugs(api.get("/api/v1/products/?sort=-price")) == ["trail-runner-10", "trail-runner-2", "tote"]
    Product.objects.filter(slug="trail-runner-2").update(units_sold=5)
    Product.objects.filter(slug="tote").update(units_sold=9)
    assert slugs(api.get("/api/v1/products/?sort=bestselling")) == ["tote", "trail-runner-2", "trail-runner-10"]
    assert slugs(api.get("/api/v1/products/?sort=newest")) == ["tote", "trail-runner-2", "trail-runner-10"]


def test_filters_combine(api, shop):
    assert slugs(api.get("/api/v1/products/?category=shoes")) == ["trail-runner-2", "trail-runner-10"]
    assert slugs(api.get("/api/v1/products/?category=shoes&attr.size=43")) == ["trail-runner-10"]
    assert slugs(api.get("/api/v1/products/?category=shoes&attr.size=43&in_stock=true")) == []
    assert slugs(api.get("/api/v1/products/?attr.colour=black&attr.colour=moss&price_max=85")) == ["tote", "trail-runner-2"]
    assert slugs(api.get("/api/v1/products/?q=trail&attr.colour=black&sort=-price")) == ["trail-runner-2", "tote"]
    assert slugs(api.get("/api/v1/products/?in_stock=false&category=bags")) == ["tote"]


def test_price_bounds_are_in_the_requested_currency(api, shop, fixed_rates):
    # EUR at 0.9: $80.00 -> €72.00, $90.00 -> €81.00, $30.00 -> €27.00.
    assert slugs(api.get("/api/v1/products/?currency=EUR&price_min=72&price_max=81")) == ["trail-runner-2", "trail-runner-10"]
    assert slugs(api.get("/api/v1/products/?currency=EUR&price_min=72.01&price_max=80.99")) == []
    body = api.get("/api/v1/products/?currency=EUR&price_max=72&sort=price").json()
    assert [p["variants"][0]["price"] for p in body["results"]] == [
        {"amount": "27.00", "currency": "EUR"}, {"amount": "72.00", "currency": "EUR"},
    ]


def test_count_and_next_link_keep_the_parameters(api, make_variant):
    for n in range(25):
        make_variant(price="10.00", product=Product.objects.create(slug=f"tee-{n}", name=f"Tee {n}"), size="M")

    body = api.get("/api/v1/products/?q=tee&attr.size=M&sort=-price").json()

    assert body["count"] == 25
    assert "attr.size=M" in body["next"] and "q=tee" in body["next"] and "sort=-price" in body["next"]


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("sort=cheapest", "sort"),
        ("sort=relevance", "sort"),
        ("price_min=abc", "price_min"),
        ("price_max=-1", "price_max"),
        ("price_max=Infinity", "price_max"),
        ("price_min=1e20", "price_min"),
        ("price_min=50&price_max=10", "price_min"),
        ("category=no-such-category", "category"),
        ("in_stock=yes", "in_stock"),
        ("in_stock=1", "in_stock"),
        ("q=" + "x" * 201, "q"),
        ("attr.size=" + "x" * 101, "attr.size"),
        ("attr.=M", "attr."),
    ],
)
def test_a_bad_value_is_400_invalid_naming_the_parameter(api, shop, query, parameter):
    error = assert_error(api.get(f"/api/v1/products/?{query}"), 400, "invalid")

    assert list(error["details"]) == [parameter]
    assert error["details"][parameter] and all(isinstance(m, str) for m in error["details"][parameter])
    assert parameter in error["message"]


def test_several_bad_values_are_all_named(api, shop):
    error = assert_error(api.get("/api/v1/products/?sort=x&in_stock=maybe&price_max=ten"), 400, "invalid")

    assert set(error["details"]) == {"sort", "in_stock", "price_max"}


def test_empty_values_count_as_absent(api, shop):
    assert slugs(api.get("/api/v1/products/?q=&sort=&category=&in_stock=&price_min=&price_max=&attr.size=")) == [
        "tote", "trail-runner-2", "trail-runner-10",
    ]


def test_too_many_attribute_values_are_refused(api, shop):
    query = "&".join(f"attr.size={n}" for n in range(51))

    error = assert_error(api.get(f"/api/v1/products/?{query}"), 400, "invalid")

    assert list(error["details"]) == ["attr.size"]


def test_the_schema_documents_the_parameters(api, db):
    schema = api.get("/api/v1/schema/?format=json").json()

    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/products/"]["get"]["parameters"]}
    assert {"q", "sort", "category", "in_stock", "price_min", "price_max", "attr.<name>", "currency", "page"} <= set(parameters)
    assert set(parameters["sort"]["schema"]["enum"]) == {"price", "-price", "name", "newest", "bestselling"}
    assert set(parameters["in_stock"]["schema"]["enum"]) == {"true", "false"}


def test_query_count_does_not_grow_with_results_or_filter_values(api, make_variant):
    def add(start: int, count: int) -> None:
        for n in range(start, start + count):
            made = Product.objects.create(slug=f"tee-{n}", name=f"Tee {n}")
            make_variant(price="10.00", product=made, size=f"s{n}")

    def queries(url: str) -> int:
        api.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url).status_code == 200
        return len(captured.captured_queries)

    add(0, 2)
    few = queries("/api/v1/products/?q=tee&in_stock=true&attr.size=s0&attr.size=s1")
    add(2, 30)
    sizes = "&".join(f"attr.size=s{n}" for n in range(30))
    assert queries(f"/api/v1/products/?q=tee&in_stock=true&{sizes}") == few
