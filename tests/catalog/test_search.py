"""Search (catalog.search, catalog.selectors.search_products): full text over name (A),
SKUs and attribute values (B) and description (C) kept current by the database; ranking;
prefixes; the trigram fallback for typos; the search box and the results page."""
from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from moneyed import Money
from pytest_django.asserts import assertContains, assertNotContains

from catalog import search
from catalog import services as catalog_services
from catalog.models import Category, Product, Variant
from checkout import imports
from tests.support.pages import queries_for


@pytest.fixture
def client(db) -> Client:
    return Client()


def names(response) -> list[str]:
    return [card.product.name for card in response.context["cards"]]


def product(make_variant, name: str, *, description: str = "", sku: str | None = None, category=None, **attributes):
    made = Product.objects.create(slug=name.lower().replace(" ", "-"), name=name, description=description, category=category)
    make_variant(sku, product=made, **attributes)
    return made


# --- matching and ranking ---------------------------------------------------------------


def test_a_name_match_ranks_above_an_attribute_match_above_a_description_match(client, make_variant):
    product(make_variant, "Rain jacket", description="Goes over a hoodie on cold days.")
    product(make_variant, "Grey hoodie")
    product(make_variant, "Field bag", style="hoodie pocket")
    product(make_variant, "Linen shirt")

    response = client.get("/?q=hoodie")

    assert names(response) == ["Grey hoodie", "Field bag", "Rain jacket"]
    assert response.context["fuzzy"] is False
    assertContains(response, "Results for “hoodie”")
    assertContains(response, "3 products")


def test_every_word_must_match_and_words_match_as_prefixes(client, make_variant):
    product(make_variant, "Grey hoodie")
    product(make_variant, "Black hoodie")
    product(make_variant, "Grey socks")

    assert names(client.get("/?q=grey+hoodie")) == ["Grey hoodie"]
    assert names(client.get("/?q=hood")) == ["Black hoodie", "Grey hoodie"]
    # English stemming: the plural finds the singular.
    assert names(client.get("/?q=HOODIES")) == ["Black hoodie", "Grey hoodie"]


def test_a_sku_is_found_as_typed_and_by_its_parts(client, make_variant):
    product(make_variant, "Grey hoodie", sku="HOOD-GRY-M")
    product(make_variant, "Black hoodie", sku="HOOD-BLK-M")

    assert names(client.get("/?q=HOOD-GRY-M")) == ["Grey hoodie"]
    assert names(client.get("/?q=blk")) == ["Black hoodie"]


def test_search_within_a_category_and_its_subcategories(client, make_variant):
    clothing = Category.objects.create(name="Clothing", slug="clothing")
    tops = Category.objects.create(name="Tops", slug="tops", parent=clothing)
    home = Category.objects.create(name="Home", slug="home")
    product(make_variant, "Cotton hoodie", category=tops)
    product(make_variant, "Cotton towel", category=home)

    response = client.get("/category/clothing/?q=cotton")

    assert names(response) == ["Cotton hoodie"]
    assertContains(response, "in Clothing")
    assert names(client.get("/?q=cotton")) == ["Cotton hoodie", "Cotton towel"]


def test_punctuation_only_finds_nothing_and_says_so(client, make_variant):
    product(make_variant, "Grey hoodie")

    response = client.get("/?q=%21%3F%26%7C")  # !?&|: nothing that could change the query's syntax

    assert response.status_code == 200
    assert names(response) == []
    assertContains(response, "No products match “!?&amp;|”.")


def test_inactive_products_and_inactive_variants_attributes_are_not_found(client, make_variant):
    hidden = product(make_variant, "Grey hoodie")
    Product.objects.filter(pk=hidden.pk).update(is_active=False)
    shown = product(make_variant, "Black hoodie")
    retired = make_variant("RETIRED-1", product=shown, colour="burgundy")
    retired.is_active = False
    retired.save()

    assert names(client.get("/?q=hoodie")) == ["Black hoodie"]
    assert names(client.get("/?q=burgundy")) == []


# --- typos (trigram fallback) -----------------------------------------------------------


def test_a_typo_finds_similar_words_and_the_page_says_so(client, make_variant):
    product(make_variant, "Grey hoodie")
    product(make_variant, "Zip hoodie", colour="navy")
    product(make_variant, "Linen shirt")

    response = client.get("/?q=hoodei")

    assert names(response) == ["Grey hoodie", "Zip hoodie"]
    assert response.context["fuzzy"] is True
    assertContains(response, "No product has the exact words “hoodei”. These have similar ones.")
    assert names(client.get("/?q=hoodei+navyy")) == ["Zip hoodie"]


def test_no_fallback_when_the_words_match_and_nothing_for_gibberish(client, make_variant):
    product(make_variant, "Grey hoodie")
    product(make_variant, "Hood scarf")

    exact = client.get("/?q=hoodie")
    gibberish = client.get("/?q=xqzvw")

    assert names(exact) == ["Grey hoodie"] and exact.context["fuzzy"] is False
    assert names(gibberish) == []


# pg_trgm's similarity() of these pairs, recorded from PostgreSQL 15's pg_trgm 1.6.
PG_TRGM_SIMILARITY = [
    ("hoodei", "hoodie", 0.4), ("Grey zip hoodie", "hoodei", 0.21052632), ("", "x", 0.0), ("T-Shirt", "tshirt", 0.5),
    ("Übergröße", "ubergrosse", 0.16666667), ("a", "a", 1.0), ("x_y", "x y", 1.0),
    ("Basic tee no. 10", "tee 1", 0.29411766), ("shrit", "shirt", 0.2), ("runnr", "runner", 0.44444445),
]


def test_the_similarity_written_in_sql_equals_pg_trgm(db):
    """Without pg_trgm (the pgserver of `make run` and `make test`) migration 0004
    installs the same measure in SQL: it must give pg_trgm's figures, and so must the
    catalog_similarity() the search calls, whichever of the two it is."""
    migration = importlib.import_module("catalog.migrations.0004_product_search")
    with connection.cursor() as cursor:
        cursor.execute(migration.SIMILARITY_IN_SQL % {"name": "pg_temp.similarity_in_sql"})
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        has_pg_trgm = cursor.fetchone() is not None
        for a, b, expected in PG_TRGM_SIMILARITY:
            cursor.execute("SELECT pg_temp.similarity_in_sql(%s, %s), catalog_similarity(%s, %s)", [a, b] * 2)
            assert cursor.fetchone() == pytest.approx((expected, expected), abs=1e-7), (a, b)
            if has_pg_trgm:
                cursor.execute("SELECT similarity(%s, %s)", [a, b])
                assert cursor.fetchone()[0] == pytest.approx(expected, abs=1e-7), (a, b)


def test_the_similarity_worked_out_in_python_equals_pg_trgm():
    """The typo fallback scores typed words against the vocabulary in Python: same figures."""
    for a, b, expected in PG_TRGM_SIMILARITY:
        assert search.similarity(a, b) == pytest.approx(expected, abs=1e-7), (a, b)


def test_a_typo_search_reads_the_vocabulary_once_and_scores_no_product_in_sql(client, make_variant):
    for n in range(3):
        product(make_variant, f"Hoodie {n}", colour="navy")

    with CaptureQueriesContext(connection) as captured:
        found = client.get("/?q=hoodei+navyy")

    assert names(found) == ["Hoodie 0", "Hoodie 1", "Hoodie 2"]
    sql = [query["sql"] for query in captured.captured_queries]
    assert not any("catalog_similarity" in statement for statement in sql)
    assert sum("tsvector_to_array" in statement for statement in sql) == 1


def test_typo_results_are_ranked_by_their_closest_word(client, make_variant):
    product(make_variant, "Running shoe")
    product(make_variant, "Runners")

    # "runnrs": 0.4 like "runner", 0.375 like "run"; "runing": only like "run"
    assert names(client.get("/?q=runnrs")) == ["Runners", "Running shoe"]
    assert names(client.get("/?q=runing")) == ["Running shoe"]


@pytest.mark.parametrize("lexeme", ["o'brien", "back\\slash", "tee-01-m"])
def test_a_corrected_lexeme_is_quoted_as_it_is(db, lexeme):
    query = search._quoted_lexeme(lexeme)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tsvector_to_array(%s::tsvector), %s::tsvector @@ %s::tsquery,"
            " %s::tsvector @@ %s::tsquery",
            [query.removesuffix(":AB"), query.replace(":AB", ":1B"), query, query.replace(":AB", ":1C"), query],
        )
        # the lexeme as it is, found in names, SKUs and attributes (A, B), not descriptions (C)
        assert cursor.fetchone() == ([lexeme], True, False)


# --- the vector stays current -------------------------------------------------------------


def test_the_vector_follows_product_and_variant_changes(client, make_variant):
    hoodie = product(make_variant, "Grey hoodie")
    assert names(client.get("/?q=sweatshirt")) == []

    hoodie.name = "Grey sweatshirt"
    hoodie.save()
    assert names(client.get("/?q=sweatshirt")) == ["Grey sweatshirt"]

    variant = Variant.objects.create(product=hoodie, sku="SWEAT-XL", price=Money(Decimal("40.00"), "USD"), attributes={"colour": "heather"})
    assert names(client.get("/?q=heather")) == ["Grey sweatshirt"]
    assert names(client.get("/?q=SWEAT-XL")) == ["Grey sweatshirt"]

    variant.attributes = {"colour": "charcoal"}
    variant.save()
    assert names(client.get("/?q=heather")) == []
    assert names(client.get("/?q=charcoal")) == ["Grey sweatshirt"]

    Variant.objects.filter(pk=variant.pk).update(sku="SWEAT-XXL")  # a plain UPDATE, as the import writes
    assert names(client.get("/?q=SWEAT-XXL")) == ["Grey sweatshirt"]

    variant.delete()
    assert names(client.get("/?q=charcoal")) == []

    Product.objects.filter(pk=hoodie.pk).update(description="Brushed fleece inside.")
    assert names(client.get("/?q=fleece")) == ["Grey sweatshirt"]


def test_imported_products_are_found(client, db):
    catalog = {"products": [{
        "slug": "trail-runner", "name": "Trail runner", "description": "Grippy soles.", "category": "Shoes",
        "variants": [{"sku": "TRAIL-42", "price_usd": "90.00", "stock": 3, "attributes": {"size": "42", "colour": "moss"}}],
    }]}
    imports.import_catalog(catalog)
    assert names(client.get("/?q=moss")) == ["Trail runner"]

    catalog["products"][0]["name"] = "Trail shoe"
    catalog["products"][0]["variants"][0]["attributes"] = {"size": "42", "colour": "slate"}
    imports.import_catalog(catalog)
    assert names(client.get("/?q=slate")) == ["Trail shoe"]
    assert names(client.get("/?q=moss")) == []
    assert names(client.get("/?q=grippy")) == ["Trail shoe"]


def test_record_sales_does_not_touch_the_vector_or_the_name_order(db, make_variant):
    hoodie = product(make_variant, "Grey hoodie")
    before = Product.objects.values_list("search_vector", "name_sort").get(pk=hoodie.pk)

    catalog_services.record_sales({hoodie.variants.get().pk: 2})

    assert Product.objects.values_list("search_vector", "name_sort", "units_sold").get(pk=hoodie.pk) == (*before, 2)


# --- the page ------------------------------------------------------------------------------


def test_every_page_has_a_labelled_search_box(client, db):
    response = client.get("/cart/")

    assertContains(response, '<form class="search-box" role="search" method="get" action="/">')
    assertContains(response, '<label for="site-search" class="visually-hidden">Search products</label>', html=True)
    assertContains(response, 'id="site-search" name="q" value=""')


def test_the_search_box_keeps_the_words_on_the_results_page(client, make_variant):
    product(make_variant, "Grey hoodie")

    response = client.get("/?q=grey+%3Cb%3Ehoodie")

    assertContains(response, 'name="q" value="grey &lt;b&gt;hoodie"')
    assertNotContains(response, "<b>hoodie")


def test_results_use_the_product_cards_of_the_list(client, make_variant):
    hoodie = product(make_variant, "Grey hoodie")

    response = client.get("/?q=hoodie")

    assertContains(response, f'<h2 class="product-card-name" id="product-{hoodie.pk}-name"><a href="/products/grey-hoodie/">Grey hoodie</a></h2>', html=True)


def test_an_empty_result_suggests_categories(client, make_variant):
    for name in ("Shoes", "Bags"):
        Category.objects.create(name=name, slug=name.lower())
    product(make_variant, "Grey hoodie")

    response = client.get("/?q=umbrella")

    assert names(response) == []
    assertContains(response, "No products match “umbrella”.")
    assertContains(response, "Browse a category instead")
    assertContains(response, '<a class="button" href="/category/shoes/">Shoes</a>', html=True)
    assertContains(response, '<a class="button" href="/category/bags/">Bags</a>', html=True)


def test_a_too_long_search_is_named_on_the_page(client, make_variant):
    product(make_variant, "Grey hoodie")

    response = client.get("/?q=" + "a" * 201)

    assert response.status_code == 200
    assertContains(response, '<p class="field-error">Use at most 200 characters.</p>', html=True)
    assert names(response) == ["Grey hoodie"]


def test_search_queries_do_not_grow_with_results(client, make_variant):
    def add(count: int, start: int) -> None:
        for n in range(start, start + count):
            product(make_variant, f"Hoodie {n}", colour=f"colour {n}", size="M")

    add(2, 0)
    few = queries_for(client, "/?q=hoodie&attr.size=M")
    few_fuzzy = queries_for(client, "/?q=hoodei&attr.size=M")
    add(25, 2)
    many = queries_for(client, "/?q=hoodie&attr.size=M")
    many_fuzzy = queries_for(client, "/?q=hoodei&attr.size=M")

    assert many == few
    assert many_fuzzy == few_fuzzy
