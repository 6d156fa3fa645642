"""Search, filters and sort in a real browser (Debian's chromium through Playwright, on
Django's live server) at 375 px and 1280 px: the header's search box, the filter panel
folded on a phone and open on a wide screen, a ticked value applied, a new sort order
applied on change, nothing scrolling sideways. `chromium` comes last in the test's
arguments (tests/support/browser_fixtures.py)."""
from __future__ import annotations

import pytest

from catalog.models import Category, Product
from tests.support.browser_fixtures import SHOTS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture
def hoodies(make_variant):
    tops = Category.objects.create(name="Tops", slug="tops")
    for name, price, colour in (("Grey hoodie", "60.00", "grey"), ("Zip hoodie 10", "80.00", "navy"), ("Zip hoodie 2", "70.00", "navy")):
        product = Product.objects.create(slug=name.lower().replace(" ", "-"), name=name, category=tops)
        make_variant(price=price, product=product, colour=colour, size="M")
    Product.objects.create(slug="linen-shirt", name="Linen shirt", category=tops)


def card_names(page) -> list[str]:
    return page.locator(".product-card-name").all_inner_texts()


@pytest.mark.parametrize("width", [375, 1280])
def test_search_filter_and_sort_in_the_browser(live_server, hoodies, width, chromium):
    page = chromium.new_page(viewport={"width": width, "height": 900})
    page.goto(live_server.url + "/cart/")

    page.get_by_label("Search products").fill("hoodei")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url("**/?q=hoodei")
    assert card_names(page) == ["Grey hoodie", "Zip hoodie 2", "Zip hoodie 10"]
    assert page.get_by_text("These have similar ones.").is_visible()

    panel = page.locator("details.filter-panel")
    assert panel.evaluate("details => details.open") is (width >= 768)
    if width < 768:
        page.locator("summary.filter-summary").click()
    page.get_by_label("navy").check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**attr.colour=navy**")
    assert card_names(page) == ["Zip hoodie 2", "Zip hoodie 10"]

    page.get_by_label("Sort by").select_option("-price")  # applies on change
    page.wait_for_url("**sort=-price**")
    assert card_names(page) == ["Zip hoodie 10", "Zip hoodie 2"]
    assert "q=hoodei" in page.url and "attr.colour=navy" in page.url
    assert page.get_by_label("Search products").input_value() == "hoodei"

    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") == 0
    page.screenshot(path=str(SHOTS / f"search_filters_{width}.png"), full_page=True)
