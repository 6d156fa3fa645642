"""The product page's gallery in a real browser (Debian's chromium through Playwright, on
Django's live server): choosing a variant shows its picture, or the picture of a variant
of the same colour; the small pictures select theirs; nothing scrolls sideways at 375 px.
`chromium` comes last in the test's arguments (tests/support/browser_fixtures.py)."""
from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from catalog import images
from tests.catalog.test_images import picture_bytes
from tests.support.browser_fixtures import SHOTS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture
def two_colour_shirt(make_variant):
    white_s = make_variant("OX-WHITE-S", price="49.50", colour="White", size="S")
    product = white_s.product
    make_variant("OX-WHITE-L", price="49.50", product=product, colour="White", size="L")
    blue_s = make_variant("OX-BLUE-S", price="49.50", product=product, colour="Blue", size="S")
    make_variant("OX-BLUE-L", price="49.50", product=product, colour="Blue", size="L")
    for position, (variant, colour) in enumerate(((white_s, "white"), (blue_s, "royalblue"), (None, "beige"))):
        images.add_image(
            product=product, file=ContentFile(picture_bytes(colour=colour)), name=f"{colour}.png",
            alt=f"Shirt {colour}", position=position, variant_id=variant.pk if variant else None,
        )
    return product


def wait_until_shown(page, number: int) -> None:
    """The row has scrolled so that all of picture `number` is in view (on a phone the
    row also shows a little of its neighbours)."""
    page.wait_for_function(
        "n => { const r = document.querySelector('.gallery-slides').getBoundingClientRect();"
        " const s = document.querySelectorAll('.gallery-slide')[n - 1].getBoundingClientRect();"
        " return s.left >= r.left - 2 && s.right <= r.right + 2; }",
        arg=number,
    )


def current_picture(page) -> str:
    return page.get_attribute(".gallery-thumbs a[aria-current='true']", "data-picture")


@pytest.mark.parametrize("width", [375, 1280])
def test_choosing_a_variant_shows_its_colours_picture(live_server, two_colour_shirt, width, chromium):
    page = chromium.new_page(viewport={"width": width, "height": 900})
    page.goto(live_server.url + two_colour_shirt.get_absolute_url())
    assert current_picture(page) == "1"

    page.locator("label", has_text="Colour: Blue").filter(has_text="Size: L").click()  # no picture of its own
    page.wait_for_function("document.querySelector('.gallery-thumbs a[aria-current=true]').dataset.picture === '2'")
    wait_until_shown(page, 2)

    page.locator(".gallery-thumbs a[data-picture='3']").click()
    page.wait_for_function("document.querySelector('.gallery-thumbs a[aria-current=true]').dataset.picture === '3'")
    wait_until_shown(page, 3)
    page.locator("label", has_text="Colour: White").filter(has_text="Size: L").click()
    page.wait_for_function("document.querySelector('.gallery-thumbs a[aria-current=true]').dataset.picture === '1'")
    wait_until_shown(page, 1)
    assert current_picture(page) == "1"  # still, once the row has stopped

    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") == 0
    assert page.url.endswith(two_colour_shirt.get_absolute_url())  # the small pictures did not jump the page
    page.screenshot(path=str(SHOTS / f"images_gallery_{width}.png"))
