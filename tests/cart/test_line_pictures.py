"""The cart page shows a thumbnail beside each line: the variant's own picture if it has
one, else its product's first; the catalog's "thumb" size at 1x and 2x with its width,
height and alt text, from the sizes recorded on the image row; a letter for a product
without pictures; and one query for all the lines' pictures."""
from __future__ import annotations

import io
import re

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from PIL import Image

from catalog import images
from catalog.models import Product
from tests.support.pages import queries_for, use_cart


def picture(name: str, colour: str = "steelblue") -> ContentFile:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 250), colour).save(buffer, "PNG")  # big enough for the 2x thumb (160 x 200)
    return ContentFile(buffer.getvalue(), name=name)


@pytest.fixture
def shirt(make_variant):
    """A linen shirt in blue (with its own picture) and white (without), two product pictures."""
    product = Product.objects.create(slug="linen-shirt", name="Linen shirt")
    blue = make_variant("SHIRT-BLUE", product=product, colour="blue")
    white = make_variant("SHIRT-WHITE", product=product, colour="white")
    front, _ = images.add_image(product=product, file=picture("front.png"), name="front.png", alt="Linen shirt, front", position=0)
    images.add_image(product=product, file=picture("back.png"), name="back.png", alt="Linen shirt, back", position=1)
    own, _ = images.add_image(
        product=product, file=picture("blue.png", "navy"), name="blue.png", alt="Linen shirt in blue", position=2, variant_id=blue.pk
    )
    return {"blue": blue, "white": white, "front": front, "own": own}


def line_items(html: str) -> list[str]:
    return re.findall(r'<li class="cart-line">.*?</li>\s*(?=<li class="cart-line">|</ul>)', html, flags=re.S)


def test_each_line_shows_its_variants_picture_else_the_products_first(shirt, make_cart):
    client = Client()
    use_cart(client, make_cart({shirt["blue"]: 1, shirt["white"]: 2}))

    html = client.get("/cart/").content.decode()

    blue_line, white_line = line_items(html)
    for line, image, alt in [(blue_line, shirt["own"], "Linen shirt in blue"), (white_line, shirt["front"], "Linen shirt, front")]:
        one, two = images.thumbnail(image, "thumb", 1), images.thumbnail(image, "thumb", 2)
        assert (one.width, one.height) == (80, 100) and (two.width, two.height) == (160, 200)
        img = re.search(r"<img [^>]*>", line).group(0)
        assert f'src="{one.url}"' in img
        assert f'srcset="{one.url} 1x, {two.url} 2x"' in img
        assert 'width="80" height="100"' in img
        assert f'alt="{alt}"' in img
        assert "/thumbs/" in one.url


def test_the_first_lines_load_at_once_and_later_ones_lazily(make_variant, make_cart):
    variants = []
    for n in range(5):
        product = Product.objects.create(slug=f"tee-{n}", name=f"Tee {n}")
        images.add_image(product=product, file=picture(f"tee-{n}.png"), name=f"tee-{n}.png")
        variants.append(make_variant(product=product))
    client = Client()
    use_cart(client, make_cart({variant: 1 for variant in variants}))

    tags = re.findall(r"<img [^>]*>", client.get("/cart/").content.decode().split('<ul class="cart-lines">', 1)[1])

    assert len(tags) == 5
    assert ['loading="lazy"' in tag for tag in tags] == [False, False, False, True, True]


def test_a_product_without_pictures_shows_its_initial(make_variant, make_cart):
    bare = make_variant(product=Product.objects.create(slug="gift-card", name="gift card"))
    client = Client()
    use_cart(client, make_cart({bare: 1}))

    [line] = line_items(client.get("/cart/").content.decode())

    assert "<img" not in line
    assert '<span class="cart-line-placeholder" aria-hidden="true">g</span>' in line


def test_the_cart_in_checkout_shows_the_pictures_too(shirt, make_cart):
    from checkout import services as checkout_services

    cart = make_cart({shirt["blue"]: 1})
    checkout_services.start_checkout(cart_id=cart.pk)
    client = Client()
    use_cart(client, cart)

    html = client.get("/cart/").content.decode()

    assert images.thumbnail(shirt["own"], "thumb", 1).url in html


def test_the_pictures_cost_one_query_whatever_the_number_of_lines(shirt, make_variant, make_cart):
    few = Client()
    use_cart(few, make_cart({shirt["blue"]: 1}))
    many_lines = {shirt["blue"]: 1, shirt["white"]: 1}
    for n in range(6):
        product = Product.objects.create(slug=f"sock-{n}", name=f"Sock {n}")
        images.add_image(product=product, file=picture(f"sock-{n}.png"), name=f"sock-{n}.png")
        many_lines[make_variant(product=product)] = 1
    many = Client()
    use_cart(many, make_cart(many_lines))

    assert queries_for(few, "/cart/") == queries_for(many, "/cart/")
    assert many.get("/cart/").content.decode().count("/thumbs/") >= 2 * 8  # src and srcset of every line


# --- in a browser: a phone and a desktop ----------------------------------------------------

LINE_BOXES = """() => [...document.querySelectorAll('.cart-line')].map(line => {
  const media = line.querySelector('.cart-line-media').getBoundingClientRect();
  const item = line.querySelector('.cart-line-item').getBoundingClientRect();
  const img = line.querySelector('.cart-line-media img');
  return {mediaWidth: media.width, mediaHeight: media.height, mediaRight: media.right, itemLeft: item.left,
          loaded: img ? img.complete && img.naturalWidth > 0 : null, shown: img ? img.currentSrc : null};
})"""


@pytest.fixture
def three_line_cart(shirt, make_variant, make_cart) -> Client:
    """A browser session holding the shirt in blue and white and a long-named product with no picture."""
    bare = make_variant(product=Product.objects.create(slug="gift", name="Geschenkgutschein für Leinenhemden und Accessoires"))
    client = Client()
    use_cart(client, make_cart({shirt["blue"]: 1, shirt["white"]: 2, bare: 1}))
    return client


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [375, 1280])
def test_the_pictures_sit_beside_the_lines_on_a_phone_and_a_desktop(width, three_line_cart, live_server, chromium):
    from django.conf import settings

    from tests.support.browser_fixtures import SHOTS
    from tests.support.storefront import open_page

    client = three_line_cart
    page = open_page(chromium, live_server, {"width": width, "height": 900}, client)
    # The live server does not serve uploads (SERVE_MEDIA is off): the browser gets them from the test's media folder.
    page.route(f"**{settings.MEDIA_URL}**", lambda route: route.fulfill(
        path=str(settings.MEDIA_ROOT / route.request.url.split(settings.MEDIA_URL, 1)[1])
    ))
    page.goto(live_server.url + "/cart/")
    page.wait_for_load_state("load")
    (SHOTS / "helpa").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "helpa" / f"cart-pictures-{width}.png"), full_page=True)

    # axe finds nothing serious with the pictures in (their alt text, the initial hidden from screen readers).
    from tests.e2e.test_accessibility import blocking_violations

    assert blocking_violations(page) == []
    boxes = page.evaluate(LINE_BOXES)
    assert page.evaluate("document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth") <= 0
    assert [box["loaded"] for box in boxes] == [True, True, None]  # the gift card has no picture: its initial
    # The 2x picture on a 2x screen is not asked for here (1x device): the 1x thumb is shown.
    assert all("/thumbs/" in box["shown"] for box in boxes[:2])
    for box in boxes:
        assert box["mediaRight"] <= box["itemLeft"]  # beside the line's name, never over it
        assert box["mediaHeight"] == pytest.approx(box["mediaWidth"] * 5 / 4, abs=1)  # 4:5, as the thumb is cut
        assert box["mediaWidth"] == pytest.approx(56 if width == 375 else 80, abs=1)
