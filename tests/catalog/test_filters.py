"""Filters of the product list (catalog.filters, catalog.selectors): attribute values,
price range in the shopper's currency, in stock only; each value with its count; all of
them combinable with search and category, in the URL; constant query counts."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains

from catalog.models import Category, Product
from tests.support.pages import queries_for
from tests.support.rates import store_rates


@pytest.fixture
def client(db) -> Client:
    return Client()


def names(response) -> list[str]:
    return [card.product.name for card in response.context["cards"]]


def counts(response, attribute: str) -> dict[str, int]:
    facet = next(f for f in response.context["facets"].attributes if f.name == attribute)
    return {value.value: value.count for value in facet.values}


@pytest.fixture
def wardrobe(make_variant):
    """Hoodie: M red, L blue. Tee: M blue (sold out), S blue. Cap: one size, red."""
    clothing = Category.objects.create(name="Clothing", slug="clothing")
    hats = Category.objects.create(name="Hats", slug="hats")
    made = {}
    for name, category in (("Hoodie", clothing), ("Tee", clothing), ("Cap", hats)):
        made[name] = Product.objects.create(slug=name.lower(), name=name, category=category, description="Cotton.")
    make_variant("HOOD-M-RED", price="50.00", product=made["Hoodie"], size="M", colour="red")
    make_variant("HOOD-L-BLUE", price="55.00", product=made["Hoodie"], size="L", colour="blue")
    make_variant("TEE-M-BLUE", price="20.00", on_hand=0, product=made["Tee"], size="M", colour="blue")
    make_variant("TEE-S-BLUE", price="20.00", product=made["Tee"], size="S", colour="blue")
    make_variant("CAP-RED", price="15.00", product=made["Cap"], colour="red")
    return made


def test_an_attribute_value_filters_and_values_of_one_attribute_add_up(client, wardrobe):
    assert names(client.get("/?attr.size=M")) == ["Hoodie", "Tee"]
    assert names(client.get("/?attr.size=L&attr.size=S")) == ["Hoodie", "Tee"]
    assert names(client.get("/?attr.colour=red")) == ["Cap", "Hoodie"]


def test_two_attributes_must_meet_on_one_variant(client, wardrobe):
    # The hoodie has M (red) and blue (L), but no blue M.
    assert names(client.get("/?attr.size=M&attr.colour=blue")) == ["Tee"]
    assert names(client.get("/?attr.size=M&attr.colour=red")) == ["Hoodie"]


def test_each_value_counts_the_products_it_would_show_given_the_other_filters(client, wardrobe):
    plain = client.get("/")
    assert counts(plain, "size") == {"S": 1, "M": 2, "L": 1}
    assert counts(plain, "colour") == {"blue": 2, "red": 2}
    assert plain.context["facets"].in_stock == 3

    blue = client.get("/?attr.colour=blue")
    # Sizes among blue variants; colours as if no colour were chosen (add one to the other).
    assert counts(blue, "size") == {"S": 1, "M": 1, "L": 1}
    assert counts(blue, "colour") == {"blue": 2, "red": 2}

    in_stock_blue = client.get("/?attr.colour=blue&in_stock=true")
    assert names(in_stock_blue) == ["Hoodie", "Tee"]
    assert counts(in_stock_blue, "size") == {"S": 1, "L": 1}
    assert in_stock_blue.context["facets"].in_stock == 2

    medium = client.get("/?attr.size=M")
    assert medium.context["facets"].in_stock == 1  # the tee's M is sold out
    assert counts(medium, "colour") == {"blue": 1, "red": 1}


def test_counts_follow_the_search_and_the_category(client, wardrobe):
    hats = client.get("/category/hats/")
    assert counts(hats, "colour") == {"red": 1}
    assert [f.name for f in hats.context["facets"].attributes] == ["colour"]

    searched = client.get("/?q=hoodie")
    assert counts(searched, "size") == {"M": 1, "L": 1}
    categories = {item.category.name: item.count for item in client.get("/?q=cotton").context["facets"].categories}
    assert categories == {"Clothing": 2, "Hats": 1}


def test_category_counts_include_subcategories_and_link_with_the_query(client, wardrobe):
    clothing = Category.objects.get(slug="clothing")
    Category.objects.filter(slug="hats").update(parent=clothing)

    response = client.get("/?attr.colour=red")

    categories = {item.category.name: item.count for item in response.context["facets"].categories}
    assert categories == {"Clothing": 2, "Hats": 1}
    assertContains(response, '<a href="/category/hats/?attr.colour=red">Hats</a>', html=True)


def test_the_filter_panel_renders_values_counts_and_choices(client, wardrobe):
    response = client.get("/?attr.size=M&in_stock=true")

    # Folded until asked (a phone; wide screens open it by script), saying what is chosen.
    assertContains(response, '<details class="filter-panel" data-open-wide>')
    assertContains(response, '<summary class="filter-summary">Filters <span class="filter-chosen">(2 chosen)</span></summary>', html=True)
    assertContains(response, '<input type="checkbox" name="attr.size" value="M" checked>', html=False)
    assertContains(response, '<input type="checkbox" name="attr.size" value="L">', html=False)
    assertContains(response, '<input type="checkbox" name="in_stock" value="true" checked>', html=False)
    assertContains(response, '<span class="facet-count">(1)</span>', html=True)
    assertContains(response, '<legend class="filter-title">Size</legend>', html=True)
    assertContains(response, '<a class="clear-filters" href="/">Clear filters</a>', html=True)


def test_the_panel_is_folded_unless_a_value_needs_correcting(client, wardrobe):
    response = client.get("/")

    assertContains(response, '<details class="filter-panel" data-open-wide>')
    assertContains(response, '<summary class="filter-summary">Filters</summary>', html=True)
    assertContains(client.get("/?price_max=x"), '<details class="filter-panel" data-open-wide open>')
    assertContains(response, '<script src="/static/js/listing.js" defer></script>', html=True)


def test_in_stock_only(client, wardrobe, make_variant):
    sold_out = Product.objects.create(slug="scarf", name="Scarf")
    make_variant("SCARF", product=sold_out, on_hand=0)

    assert names(client.get("/")) == ["Cap", "Hoodie", "Scarf", "Tee"]
    assert names(client.get("/?in_stock=true")) == ["Cap", "Hoodie", "Tee"]
    assert names(client.get("/?in_stock=false")) == ["Cap", "Hoodie", "Scarf", "Tee"]


def test_price_range_in_dollars(client, wardrobe):
    assert names(client.get("/?price_min=20&price_max=50")) == ["Hoodie", "Tee"]
    assert names(client.get("/?price_max=19.99")) == ["Cap"]
    assert names(client.get("/?price_min=55.00")) == ["Hoodie"]
    assert names(client.get("/?price_min=55.01")) == []


def test_price_bounds_in_euros_to_the_cent(client, make_variant):
    """At 0.9215 EUR per USD: $10.85 shows as €10.00 (9.998275), $10.86 as €10.01
    (10.007490), $10.84 as €9.99 (9.989060)."""
    store_rates({"EUR": "0.9215"})
    for name, price in (("Ten", "10.85"), ("Ten-o-one", "10.86"), ("Nine-ninety-nine", "10.84")):
        make_variant(price=price, product=Product.objects.create(slug=name.lower(), name=name))
    session = client.session
    session["currency"] = "EUR"
    session.save()

    shown = client.get("/")
    assertContains(shown, "€10.00")
    assertContains(shown, "€10.01")
    assertContains(shown, "€9.99")
    assert names(client.get("/?price_max=10")) == ["Nine-ninety-nine", "Ten"]
    assert names(client.get("/?price_min=10")) == ["Ten", "Ten-o-one"]
    assert names(client.get("/?price_min=10.00&price_max=10.00")) == ["Ten"]
    assert names(client.get("/?price_min=10.01")) == ["Ten-o-one"]
    assertContains(client.get("/"), "Price (EUR)")


def test_price_bounds_in_yen_and_dinars_follow_their_steps(api, make_variant):
    """JPY has no minor unit; KWD prices are rounded to 0.010 (Stripe's step)."""
    store_rates({"JPY": "151.237", "KWD": "0.30701"})
    made = Product.objects.create(slug="lamp", name="Lamp")
    make_variant(price="19.99", product=made)  # JPY 3023.22763 -> 3023; KWD 6.1371299 -> 6.140

    def slugs(query: str) -> list[str]:
        return [p["slug"] for p in api.get(f"/api/v1/products/?{query}").json()["results"]]

    assert slugs("currency=JPY&price_max=3023") == ["lamp"]
    assert slugs("currency=JPY&price_max=3022") == []
    assert slugs("currency=JPY&price_min=3023.5") == []
    assert slugs("currency=KWD&price_min=6.14&price_max=6.14") == ["lamp"]
    assert slugs("currency=KWD&price_max=6.139") == []


def test_search_category_and_every_filter_combine(client, wardrobe):
    response = client.get("/category/clothing/?q=cotton&attr.colour=blue&in_stock=true&price_max=30&sort=-price")

    assert names(response) == ["Tee"]
    assert counts(response, "size") == {"S": 1}


def test_pages_keep_the_search_filters_and_sort(client, make_variant):
    for n in range(25):
        made = Product.objects.create(slug=f"tee-{n}", name=f"Tee {n}")
        make_variant(price="10.00", product=made, size="M")

    response = client.get("/?q=tee&attr.size=M&sort=name")

    assertContains(response, '<a rel="next" href="?q=tee&amp;attr.size=M&amp;sort=name&amp;page=2">Next &rarr;</a>', html=True)
    second = client.get("/?q=tee&attr.size=M&sort=name&page=2")
    assert names(second) == ["Tee 20", "Tee 21", "Tee 22", "Tee 23", "Tee 24"]
    assertContains(second, '<a rel="prev" href="?q=tee&amp;attr.size=M&amp;sort=name&amp;page=1">&larr; Previous</a>', html=True)


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("price_min=abc", "price_min", "Enter an amount like 10 or 19.99."),
        ("price_max=-5", "price_max", "Enter an amount like 10 or 19.99."),
        ("price_min=NaN", "price_min", "Enter an amount like 10 or 19.99."),
        ("price_min=30&price_max=20", "price_min", "The lowest price must not be above the highest."),
    ],
)
def test_a_bad_price_is_named_next_to_its_field_and_left_out(client, wardrobe, query, field, message):
    response = client.get(f"/?{query}")

    assert response.status_code == 200
    assert names(response) == ["Cap", "Hoodie", "Tee"]
    assertContains(response, f'<p class="field-error" id="{field}-error">{message}</p>', html=True)
    assertContains(response, f'aria-describedby="{field}-error"')


def test_a_bad_in_stock_value_is_named(client, wardrobe):
    response = client.get("/?in_stock=yes")

    assert names(response) == ["Cap", "Hoodie", "Tee"]
    assertContains(response, '<p class="field-error">Use true or false.</p>', html=True)


def test_an_unknown_value_shows_nothing_but_can_be_unticked(client, wardrobe):
    response = client.get("/?attr.size=XXL")

    assert names(response) == []
    assert counts(response, "size")["XXL"] == 0
    assertContains(response, '<input type="checkbox" name="attr.size" value="XXL" checked>', html=False)
    assertContains(response, "No products match these filters.")
    assertContains(response, '<a href="/">Clear the filters</a>', html=True)


def test_attribute_names_and_values_are_escaped(client, make_variant):
    made = Product.objects.create(slug="odd", name="Odd")
    make_variant(product=made, **{'fit"><b>': "<i>slim</i>"})

    response = client.get("/")

    assertNotContains(response, "<i>slim</i>")
    assertNotContains(response, '"><b>')
    assert names(client.get("/?attr.fit%22%3E%3Cb%3E=%3Ci%3Eslim%3C%2Fi%3E")) == ["Odd"]


def test_query_count_is_constant_in_results_and_filter_values(client, make_variant):
    def add(start: int, count: int) -> None:
        for n in range(start, start + count):
            made = Product.objects.create(slug=f"tee-{n}", name=f"Tee {n}", category=category)
            make_variant(price=f"{10 + n}.00", product=made, size=f"size {n}", colour=f"colour {n}", fit=f"fit {n % 3}")

    category = Category.objects.create(name="Tees", slug="tees")
    add(0, 2)
    url = "/?q=tee&in_stock=true&price_min=1&attr.fit=fit 0&attr.fit=fit 1&sort=price"
    few = queries_for(client, url)
    few_all = queries_for(client, "/")
    add(2, 30)
    many_values = url + "".join(f"&attr.size=size {n}" for n in range(20)) + "&attr.colour=colour 1&attr.colour=colour 2"
    assert queries_for(client, url) == few
    assert queries_for(client, many_values) == few
    assert queries_for(client, "/") == few_all
