"""The address forms in a real browser (Debian's chromium through Playwright, on Django's
live server): the checkout's address step re-labels its fields when the country changes
(with JavaScript in place, and through the "Update" button without it), shows errors
next to the fields, offers a signed-in customer's saved addresses, and the address book
reads well on a phone and a desktop.

Screenshots go to /tmp/shots/addresses_*.png for a person to look at. `chromium` comes
last in each test's arguments: fixtures that write to the database run before the
browser opens (tests/support/browser_fixtures.py)."""
from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from addresses import services
from catalog.models import Product
from tests.addresses.samples import GB, JP, US
from tests.e2e.test_browser_checkout import DESKTOP, OVERFLOWING, PHONE
from tests.support.browser_fixtures import SHOTS, off_loop
from tests.support.shipping import make_method, rest_of_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.e2e]

VIEWPORTS = {"375": PHONE, "1280": DESKTOP}


@pytest.fixture
def shirt(make_variant):
    """A linen shirt (size M, 10 on hand); the shop ships everywhere."""
    rest_of_world()
    make_method(code="standard", name="Standard", price="4.99", position=1)
    product = Product.objects.create(slug="linen-shirt", name="Linen shirt", description="A shirt of washed linen.")
    return make_variant("SHIRT-M", price="19.99", on_hand=10, product=product, size="M")


def make_customer(username: str):
    """A customer with three saved addresses: Springfield (default shipping), Tokyo
    (default billing) and London."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=username, email=f"{username}@example.com", password="a long passphrase")
    services.add_address(user_id=user.pk, address=US)
    services.add_address(user_id=user.pk, address=JP, default_billing=True)
    services.add_address(user_id=user.pk, address={**GB, "name": "Grace Hopper", "line2": "Flat 3"})
    return user


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"addresses_{name}.png"), full_page=True)


def signed_in_context(browser, base: str, user, viewport: dict):
    def session_key() -> str:
        client = Client()
        client.force_login(user)
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    context = browser.new_context(viewport=viewport)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": off_loop(session_key), "url": base}])
    return context


def to_address_step(page, base: str) -> None:
    page.goto(f"{base}/products/linen-shirt/")
    page.get_by_label(re.compile(r"Size: M")).check()
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(f"{base}/cart/")
    page.get_by_role("button", name="Checkout").click()
    page.wait_for_url(f"{base}/checkout/address/")


def assert_fits(page) -> None:
    assert page.evaluate(OVERFLOWING) == []


def test_the_address_step_follows_the_country_for_us_and_japan(shirt, live_server, chromium):
    base = live_server.url
    for width, viewport in VIEWPORTS.items():
        context = chromium.new_context(viewport=viewport)
        page = context.new_page()
        to_address_step(page, base)
        fields = page.locator("fieldset.address-fields").first
        assert fields.get_by_label("State").evaluate("e => e.tagName") == "SELECT"
        assert fields.get_by_label("ZIP code").is_visible()
        assert not page.locator("[data-address-update]").first.is_visible()  # JavaScript does it
        page.get_by_label("Email").fill("taro@example.com")
        fields.get_by_label("Full name").fill("Taro Yamada")
        fields.get_by_label("State").select_option("CA")
        assert_fits(page)
        shot(page, f"checkout_us_{width}")

        fields.get_by_label("Country").select_option("JP")
        fields.get_by_label("Prefecture").wait_for()
        assert page.url == f"{base}/checkout/address/"
        assert fields.get_by_label("Full name").input_value() == "Taro Yamada"  # kept
        assert not fields.get_by_label("ZIP code").count()
        fields.get_by_label("Address", exact=True).fill("1-2-3 Jingumae")
        fields.get_by_label("City or ward").fill("Shibuya-ku")
        fields.get_by_label("Prefecture").select_option(label="Tokyo")
        fields.get_by_label("Postal code").fill("150-00")
        assert_fits(page)
        shot(page, f"checkout_jp_{width}")

        page.get_by_role("button", name="Continue to shipping").click()
        error = page.locator("#id_shipping_postal_code-error")
        error.wait_for()
        assert error.inner_text() == "Enter a valid postal code, e.g. 154-0023."
        assert fields.get_by_label("Prefecture").input_value() == "Tokyo"
        assert_fits(page)
        shot(page, f"checkout_jp_errors_{width}")

        fields.get_by_label("Postal code").fill("1500001")
        page.get_by_role("button", name="Continue to shipping").click()
        page.wait_for_url(f"{base}/checkout/shipping/")
        assert "Taro Yamada, 1-2-3 Jingumae, Shibuya-ku, Tokyo, 150-0001, Japan" in page.locator(".step-recap").inner_text()
        context.close()


def test_without_javascript_update_lays_the_fields_out_for_the_country(shirt, live_server, chromium):
    base = live_server.url
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{base}/products/linen-shirt/")
    page.get_by_label(re.compile(r"Size: M")).check()
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(f"{base}/cart/")
    page.get_by_role("button", name="Checkout").click()
    page.wait_for_url(f"{base}/checkout/address/")
    fields = page.locator("fieldset.address-fields").first
    fields.get_by_label("Full name").fill("Ada Lovelace")

    fields.get_by_label("Country").select_option("GB")
    fields.get_by_role("button", name="Update the address fields for this country").click()

    fields.get_by_label("Postcode").wait_for()
    assert fields.get_by_label("Full name").input_value() == "Ada Lovelace"
    assert not fields.get_by_label("State").count()
    shot(page, "checkout_nojs_gb_375")
    context.close()


def test_a_customer_picks_a_saved_address_and_keeps_a_tidy_address_book(shirt, live_server, chromium):
    base = live_server.url
    for width, viewport in VIEWPORTS.items():
        customer = off_loop(lambda width=width: make_customer(f"grace{width}"))
        context = signed_in_context(chromium, base, customer, viewport)
        page = context.new_page()
        to_address_step(page, base)
        shipping = page.locator("fieldset.address-fields").first
        assert shipping.get_by_label(re.compile("Springfield, IL 62701")).is_checked()  # the default
        assert not page.locator("#shipping-new-address").is_visible()
        assert_fits(page)
        shot(page, f"checkout_saved_{width}")

        shipping.get_by_label("A new address").check()
        assert page.locator("#shipping-new-address").is_visible()
        assert page.get_by_label("Save this address to my account").is_visible()
        shot(page, f"checkout_saved_new_{width}")

        shipping.get_by_label(re.compile("Taro Yamada")).check()
        assert not page.locator("#shipping-new-address").is_visible()
        page.get_by_role("button", name="Continue to shipping").click()
        page.wait_for_url(f"{base}/checkout/shipping/")
        assert "Shibuya-ku, Tokyo, 150-0001, Japan" in page.locator(".step-recap").inner_text()

        page.goto(f"{base}/account/addresses/")
        assert page.locator(".address-card").count() == 3
        assert "Springfield, IL 62701" in page.locator(".address-card").first.inner_text()
        assert_fits(page)
        shot(page, f"book_{width}")

        page.get_by_role("link", name="Add an address").click()
        page.get_by_label("Country").select_option("JP")
        page.get_by_label("Prefecture").wait_for()
        page.get_by_label("Full name").fill("Hanako Sato")
        page.get_by_label("Address", exact=True).fill("2-1 Marunouchi")
        page.get_by_label("City or ward").fill("Chiyoda-ku")
        page.get_by_label("Prefecture").select_option(label="Tokyo")
        page.get_by_label("Postal code").fill("100-0005")
        assert_fits(page)
        shot(page, f"book_add_jp_{width}")
        page.get_by_role("button", name="Save address").click()
        page.wait_for_url(f"{base}/account/addresses/")
        assert page.locator(".address-card").count() == 4
        page.get_by_role("link", name=re.compile("Delete Hanako Sato")).click()
        page.get_by_role("button", name="Delete address").click()
        page.wait_for_url(f"{base}/account/addresses/")
        assert page.locator(".address-card").count() == 3
        context.close()
