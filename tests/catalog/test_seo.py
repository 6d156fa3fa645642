"""Sharing and finding: sitemap.xml, robots.txt, the canonical link, meta description and
Open Graph tags of every page, the product page's schema.org Product data (offers in the
shown currency, with availability), and the favicon."""
from __future__ import annotations

import json
import re
from xml.etree import ElementTree

import pytest
from django.test import Client

from catalog.models import Category, Product

SITE = "https://shop.example.com"
SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture
def client(db) -> Client:
    return Client()


@pytest.fixture(autouse=True)
def public_address(settings):
    settings.SITE_URL = SITE


def head_tags(html: str) -> dict[str, str]:
    """The <meta name|property> contents and <link rel> hrefs of a page's head."""
    head = html.split("</head>", 1)[0]
    tags = {}
    for key, value in re.findall(r'<meta (?:name|property)="([^"]+)" content="([^"]*)"', head):
        tags[key] = value
    for rel, href in re.findall(r'<link rel="([^"]+)" href="([^"]*)"', head):
        tags[f"link:{rel}"] = href
    return tags


def json_ld(html: str) -> list[dict]:
    return [json.loads(block) for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)]


# --- sitemap.xml and robots.txt ---------------------------------------------------------------


def test_the_sitemap_lists_home_every_category_and_every_active_product_at_the_public_address(client, make_variant):
    shirts = Category.objects.create(name="Shirts", slug="shirts")
    Category.objects.create(name="Hats", slug="hats")
    make_variant(product=Product.objects.create(slug="linen-shirt", name="Linen shirt", category=shirts))
    make_variant(product=Product.objects.create(slug="old-shirt", name="Old shirt", category=shirts, is_active=False))

    response = client.get("/sitemap.xml", HTTP_HOST="127.0.0.1")

    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    locations = [node.text for node in root.findall("s:url/s:loc", SITEMAP_NS)]
    assert sorted(locations) == sorted([
        f"{SITE}/",
        f"{SITE}/category/hats/",
        f"{SITE}/category/shirts/",
        f"{SITE}/products/linen-shirt/",
    ])
    product_entry = next(url for url in root.findall("s:url", SITEMAP_NS) if url.find("s:loc", SITEMAP_NS).text.endswith("linen-shirt/"))
    assert product_entry.find("s:lastmod", SITEMAP_NS) is not None


def test_the_sitemap_asks_one_query_per_section_whatever_the_number_of_products(client, make_variant, django_assert_max_num_queries):
    for n in range(15):
        make_variant(product=Product.objects.create(slug=f"p-{n}", name=f"P {n}"))
    with django_assert_max_num_queries(4):  # session-free: categories, products (+ savepoints)
        response = client.get("/sitemap.xml")
    assert response.content.count(b"<url>") == 16


def test_robots_txt_keeps_crawlers_out_of_private_pages_and_names_the_sitemap(client):
    response = client.get("/robots.txt")

    assert response.status_code == 200 and response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert lines[0] == "User-agent: *"
    disallowed = {line.split(": ", 1)[1] for line in lines if line.startswith("Disallow: ")}
    assert {"/cart/", "/checkout/", "/account/", "/accounts/", "/orders/", "/admin/", "/api/"} <= disallowed
    assert "Disallow: /" not in lines and "Disallow: /products/" not in lines
    assert f"Sitemap: {SITE}/sitemap.xml" in lines


def test_robots_txt_takes_only_get(client):
    assert client.post("/robots.txt").status_code == 405


# --- favicon ---------------------------------------------------------------------------------


def test_favicon_ico_leads_to_the_shops_icon_and_every_page_links_it(client, db):
    response = client.get("/favicon.ico")

    assert response.status_code == 301 and response["Location"] == "/static/favicon.svg"
    assert head_tags(client.get("/").content.decode())["link:icon"] == "/static/favicon.svg"


def test_the_icon_file_is_an_svg_image():
    from django.contrib.staticfiles import finders

    path = finders.find("favicon.svg")
    assert path is not None
    with open(path, encoding="utf-8") as icon:
        assert ElementTree.fromstring(icon.read()).tag == "{http://www.w3.org/2000/svg}svg"


# --- canonical, description, Open Graph ---------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/", f"{SITE}/"),
        ("/?page=1", f"{SITE}/"),
        ("/?sort=price&in_stock=1&utm_source=mail", f"{SITE}/"),
        ("/accounts/login/?next=/cart/", f"{SITE}/accounts/login/"),
        ("/cart/", f"{SITE}/cart/"),
    ],
)
def test_every_page_names_its_canonical_address(client, db, path, canonical):
    tags = head_tags(client.get(path, HTTP_HOST="127.0.0.1").content.decode())
    assert tags["link:canonical"] == canonical
    assert tags["og:url"] == canonical


def test_a_later_page_of_a_list_keeps_its_page_number_in_the_canonical_address(client, make_variant, settings):
    settings.CATALOG_PAGE_SIZE = 2
    for n in range(5):
        make_variant(product=Product.objects.create(slug=f"p-{n}", name=f"P {n}"))
    tags = head_tags(client.get("/?page=2&sort=price").content.decode())
    assert tags["link:canonical"] == f"{SITE}/?page=2"


def test_the_home_page_describes_the_shop(client, db):
    tags = head_tags(client.get("/").content.decode())
    assert tags["description"].startswith("Shop: clothing, outerwear and accessories")
    assert tags["og:description"] == tags["description"]
    assert (tags["og:type"], tags["og:site_name"], tags["og:title"]) == ("website", "Shop", "Shop")
    assert tags["og:locale"] == "en"


def test_a_category_page_describes_the_category(client, db):
    Category.objects.create(name="Knitwear", slug="knitwear")
    tags = head_tags(client.get("/category/knitwear/").content.decode())
    assert tags["og:title"] == "Knitwear"
    assert tags["description"].startswith("Knitwear at Shop:")
    assert tags["link:canonical"] == f"{SITE}/category/knitwear/"


def test_a_product_page_describes_the_product_and_escapes_its_text(client, make_variant):
    product = Product.objects.create(
        slug="tote", name='Canvas "Market" tote', description="<b>Strong</b> canvas & leather handles. " + "Roomy. " * 40
    )
    make_variant(product=product, price="35.00")
    tags = head_tags(client.get("/products/tote/").content.decode())

    assert tags["og:type"] == "product"
    assert tags["og:title"] == "Canvas &quot;Market&quot; tote"
    assert tags["description"].startswith("Strong canvas &amp; leather handles. Roomy.")
    assert len(tags["description"].replace("&amp;", "&")) <= 160
    assert tags["og:url"] == f"{SITE}/products/tote/"


# --- JSON-LD Product ---------------------------------------------------------------------------


def test_the_product_page_carries_product_data_with_an_offer_per_variant(client, shirt_sizes):
    html = client.get("/products/linen-shirt/").content.decode()

    [data] = json_ld(html)
    assert (data["@context"], data["@type"], data["name"]) == ("https://schema.org", "Product", "Linen shirt")
    assert data["url"] == f"{SITE}/products/linen-shirt/"
    assert data["description"] == "Cool in summer."
    offers = data["offers"]
    assert offers["@type"] == "AggregateOffer"
    assert (offers["priceCurrency"], offers["lowPrice"], offers["highPrice"], offers["offerCount"]) == ("USD", "30.00", "32.50", 3)
    by_sku = {offer["sku"]: offer for offer in offers["offers"]}
    assert {sku: (offer["price"], offer["priceCurrency"], offer["availability"]) for sku, offer in by_sku.items()} == {
        "SHIRT-S": ("30.00", "USD", "https://schema.org/InStock"),
        "SHIRT-M": ("30.00", "USD", "https://schema.org/LimitedAvailability"),  # 2 left, threshold 3
        "SHIRT-L": ("32.50", "USD", "https://schema.org/OutOfStock"),
    }
    assert offers["availability"] == "https://schema.org/InStock"


def test_the_product_data_is_in_the_currency_the_page_shows(euro_shopper, shirt_sizes):
    response = euro_shopper.get("/products/linen-shirt/")
    html = response.content.decode()

    [data] = json_ld(html)
    by_sku = {offer["sku"]: offer for offer in data["offers"]["offers"]}
    # 30.00 x 0.9215 = 27.645 -> 27.65; 32.50 x 0.9215 = 29.94875 -> 29.95 (half up, per unit)
    assert {sku: (offer["price"], offer["priceCurrency"]) for sku, offer in by_sku.items()} == {
        "SHIRT-S": ("27.65", "EUR"), "SHIRT-M": ("27.65", "EUR"), "SHIRT-L": ("29.95", "EUR"),
    }
    shown = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    assert "€27.65" in shown and "€29.95" in shown  # the page shows the same figures


def test_a_product_with_one_variant_has_a_single_offer(client, make_variant):
    product = Product.objects.create(slug="scarf", name="Wool scarf")
    make_variant("SCARF-1", price="25.00", on_hand=0, product=product)

    [data] = json_ld(client.get("/products/scarf/").content.decode())
    assert data["sku"] == "SCARF-1"
    assert data["offers"] == {
        "@type": "Offer",
        "sku": "SCARF-1",
        "price": "25.00",
        "priceCurrency": "USD",
        "availability": "https://schema.org/OutOfStock",
        "itemCondition": "https://schema.org/NewCondition",
        "url": f"{SITE}/products/scarf/",
    }


def test_product_data_cannot_close_its_script_element(client, make_variant):
    product = Product.objects.create(slug="odd", name="</script><script>alert(1)</script>", description="a & b")
    make_variant(product=product)
    html = client.get("/products/odd/").content.decode()

    assert "<script>alert(1)" not in html
    [data] = json_ld(html)
    assert data["name"] == "</script><script>alert(1)</script>" and data["description"] == "a & b"


def test_other_pages_carry_no_product_data(client, shirt_sizes):
    assert json_ld(client.get("/").content.decode()) == []
