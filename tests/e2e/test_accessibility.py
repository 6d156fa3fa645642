"""axe-core (axe-playwright-python, its bundled axe.min.js) finds no serious or critical
violation on the shop's pages, at a phone's width and a desktop's: home, a category,
search (with results and without), a product, login, sign-up, the cart, each checkout
step (also with its errors shown), the confirmation, and a signed-in shopper's account.

`chromium` comes last in each test's arguments: fixtures that write to the database run
before the browser opens (tests/support/browser_fixtures.py).
"""
from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from tests.support.browser_fixtures import SHOTS
from tests.support.storefront import (  # noqa: F401 (fixtures)
    CHECKOUT_PAGES,
    DESKTOP,
    PAY,
    PHONE,
    PUBLIC_PAGES,
    cart_at_payment,
    open_page,
    pay_with,
    signed_in_client,
    storefront,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

AXE = Axe()
# The WCAG 2.1 A/AA rules and axe's best practices.
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
}
BLOCKING = {"serious", "critical"}


def blocking_violations(page) -> list[str]:
    """Serious and critical violations of the page as it is now, one line each."""
    results = AXE.run(page, options=AXE_OPTIONS)
    return [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']][:5]}"
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING
    ]


def audit(page, url: str, name: str, width: int) -> list[str]:
    page.goto(url)
    page.wait_for_load_state("load")
    page.screenshot(path=str(SHOTS / f"a11y-{name}-{width}.png"), full_page=True)
    return [f"{name} at {width}px: {line}" for line in blocking_violations(page)]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_no_serious_violation_on_the_pages_anyone_sees(viewport, storefront, live_server, chromium):  # noqa: F811
    page = open_page(chromium, live_server, viewport)
    found = []
    for name, path in PUBLIC_PAGES.items():
        found += audit(page, live_server.url + path, name, viewport["width"])
    assert found == []


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_no_serious_violation_in_the_cart_each_checkout_step_and_the_confirmation(
    viewport, cart_at_payment, browser_stripe, live_server, chromium  # noqa: F811
):
    base = live_server.url
    _, client = cart_at_payment
    page = open_page(chromium, live_server, viewport, client)
    found = []
    for name, path in CHECKOUT_PAGES.items():
        found += audit(page, base + path, name, viewport["width"])

    # The address step with its errors next to the fields, and the payment step with one.
    page.goto(f"{base}/checkout/address/")
    page.get_by_label("Email").fill("")
    page.get_by_role("button", name="Continue to shipping").click()
    page.locator(".field-error").first.wait_for()
    found += [f"address errors: {line}" for line in blocking_violations(page)]
    page.goto(f"{base}/checkout/payment/")
    page.get_by_label("Card number").wait_for()
    page.get_by_role("button", name=PAY).click()
    page.locator("#card-errors").wait_for(state="visible")
    found += [f"payment error: {line}" for line in blocking_violations(page)]

    pay_with(page, base, "4242424242424242")
    found += [f"confirmation: {line}" for line in blocking_violations(page)]
    page.screenshot(path=str(SHOTS / f"a11y-confirmation-{viewport['width']}.png"), full_page=True)
    assert found == []


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_no_serious_violation_on_the_account_pages(viewport, signed_in_client, live_server, chromium):  # noqa: F811
    page = open_page(chromium, live_server, viewport, signed_in_client)
    found = []
    for name, path in {"account": "/account/", "orders": "/orders/", "addresses": "/account/addresses/"}.items():
        found += audit(page, live_server.url + path, name, viewport["width"])
    assert found == []


def test_no_serious_violation_with_the_phones_account_menu_open(signed_in_client, live_server, chromium):  # noqa: F811
    page = open_page(chromium, live_server, PHONE, signed_in_client)
    page.goto(live_server.url + "/orders/")
    page.locator(".account-menu-summary").click()
    page.get_by_role("link", name="My orders").wait_for()
    page.screenshot(path=str(SHOTS / "a11y-account-menu-open-375.png"))
    assert blocking_violations(page) == []
