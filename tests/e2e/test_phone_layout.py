"""At 320, 375 and 1280 px no page scrolls sideways (the document is never wider than the
window), and on a phone: the category bar either fits or scrolls with a visible cue, the
checkout's order summary comes before the step's button, and the skip link on every
checkout step moves focus past the header to the main content.

`chromium` comes last in each test's arguments: fixtures that write to the database run
before the browser opens (tests/support/browser_fixtures.py).
"""
from __future__ import annotations

import pytest
from tests.support.browser_fixtures import SHOTS
from tests.support.storefront import (  # noqa: F401 (fixtures)
    CHECKOUT_PAGES,
    DESKTOP,
    PAY,
    PHONE,
    PHONE_NARROW,
    PUBLIC_PAGES,
    cart_at_payment,
    open_page,
    pay_with,
    signed_in_client,
    storefront,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

VIEWPORTS = [PHONE_NARROW, PHONE, DESKTOP]
VIEWPORT_IDS = ["320", "375", "1280"]
# How much wider than the window the document is, and the elements that reach past it.
SIDEWAYS = """() => {
  const doc = document.scrollingElement;
  const past = [...document.body.querySelectorAll('*')]
    .filter(e => e.getBoundingClientRect().right > doc.clientWidth + 0.5 && !e.closest('[data-scrolls-sideways], .category-nav ul, .gallery-slides'))
    .slice(0, 6).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().replace(/\\s+/g, '.') : ''));
  return {extra: doc.scrollWidth - doc.clientWidth, past: past};
}"""


def sideways(page, url: str, name: str, width: int) -> list[str]:
    page.goto(url)
    page.wait_for_load_state("load")
    page.screenshot(path=str(SHOTS / f"layout-{name}-{width}.png"), full_page=True)
    found = page.evaluate(SIDEWAYS)
    return [] if found["extra"] <= 0 else [f"{name} at {width}px is {found['extra']}px too wide: {found['past']}"]


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=VIEWPORT_IDS)
def test_no_page_anyone_sees_scrolls_sideways(viewport, storefront, live_server, chromium):  # noqa: F811
    page = open_page(chromium, live_server, viewport)
    found = []
    for name, path in PUBLIC_PAGES.items():
        found += sideways(page, live_server.url + path, name, viewport["width"])
    assert found == []


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=VIEWPORT_IDS)
def test_no_cart_checkout_or_confirmation_page_scrolls_sideways(
    viewport, cart_at_payment, browser_stripe, live_server, chromium  # noqa: F811
):
    _, client = cart_at_payment
    page = open_page(chromium, live_server, viewport, client)
    found = []
    for name, path in CHECKOUT_PAGES.items():
        found += sideways(page, live_server.url + path, name, viewport["width"])
    pay_with(page, live_server.url, "4242424242424242")
    found += sideways(page, page.url, "confirmation", viewport["width"])
    order_url = page.get_by_role("link", name="View your order").get_attribute("href")
    found += sideways(page, live_server.url + order_url, "order", viewport["width"])
    assert found == []


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=VIEWPORT_IDS)
def test_no_account_page_scrolls_sideways(viewport, signed_in_client, live_server, chromium):  # noqa: F811
    page = open_page(chromium, live_server, viewport, signed_in_client)
    found = []
    for name, path in {"account": "/account/", "orders": "/orders/", "addresses": "/account/addresses/"}.items():
        found += sideways(page, live_server.url + path, name, viewport["width"])
    assert found == []


CATEGORY_BAR = """() => {
  const bar = document.querySelector('.category-nav ul');
  const style = getComputedStyle(bar);
  return {scrolls: bar.scrollWidth > bar.clientWidth, overflowX: style.overflowX,
          cue: style.backgroundImage, links: bar.querySelectorAll('a').length};
}"""


def test_the_category_bar_scrolls_with_a_cue_on_a_phone_and_wraps_on_a_desktop(storefront, live_server, chromium):  # noqa: F811
    page = open_page(chromium, live_server, PHONE)
    page.goto(live_server.url + "/")
    bar = page.evaluate(CATEGORY_BAR)
    assert bar["links"] == 7  # "All products" and six categories
    assert bar["scrolls"] and bar["overflowX"] == "auto"
    # The cue: shadows at the edges that have more to show (drawn by the background).
    assert bar["cue"].count("radial-gradient") == 2
    # The last category is reachable by scrolling the bar, not the page.
    last = page.locator(".category-nav a").last
    last.scroll_into_view_if_needed()
    assert last.is_visible() and page.evaluate("document.scrollingElement.scrollLeft") == 0

    page.set_viewport_size(DESKTOP)
    bar = page.evaluate(CATEGORY_BAR)
    assert not bar["scrolls"] and "gradient" not in bar["cue"]


SUMMARY = """() => {
  const summary = document.querySelector('.order-summary');
  const button = document.querySelector('.checkout-step .form-actions .button-primary, #pay-button');
  return {summaryTop: summary.getBoundingClientRect().top, buttonTop: button.getBoundingClientRect().top,
          open: summary.querySelector('details').open,
          toggle: summary.querySelector('summary').innerText};
}"""


def test_on_a_phone_the_order_summary_comes_before_each_steps_button(
    cart_at_payment, browser_stripe, live_server, chromium  # noqa: F811
):
    _, client = cart_at_payment
    page = open_page(chromium, live_server, PHONE, client)
    for path in ("/checkout/address/", "/checkout/shipping/", "/checkout/payment/"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        found = page.evaluate(SUMMARY)
        assert found["summaryTop"] < found["buttonTop"], path
        # Closed to one line that still says the total; opened, it lists the lines.
        assert not found["open"] and "Order summary" in found["toggle"] and "$44.97" in found["toggle"], path
    page.locator(".summary-toggle").click()
    assert page.locator(".summary-lines").get_by_text("Linen shirt").is_visible()
    assert page.locator(".summary-total").inner_text().endswith("USD")
    page.screenshot(path=str(SHOTS / "layout-summary-open-375.png"), full_page=True)
    assert page.get_by_role("button", name=PAY).is_visible()

    page.set_viewport_size(DESKTOP)
    page.reload()
    page.wait_for_load_state("load")
    found = page.evaluate(SUMMARY)
    assert found["open"]


FOCUSED = "() => ({id: document.activeElement.id, tag: document.activeElement.tagName, text: document.activeElement.innerText})"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
def test_the_skip_link_moves_focus_past_the_header_on_every_checkout_step(
    viewport, cart_at_payment, browser_stripe, live_server, chromium  # noqa: F811
):
    _, client = cart_at_payment
    page = open_page(chromium, live_server, viewport, client)
    for path in ("/checkout/address/", "/checkout/shipping/", "/checkout/payment/"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        assert (focused["tag"], focused["text"]) == ("A", "Skip to content"), path
        assert page.locator(".skip-link").is_visible()  # shown when focused
        page.keyboard.press("Enter")
        assert page.evaluate(FOCUSED)["id"] == "main", path
        # The next Tab goes to the step's content, not back into the header.
        page.keyboard.press("Tab")
        in_header = page.evaluate("() => Boolean(document.activeElement.closest('header'))")
        in_main = page.evaluate("() => Boolean(document.activeElement.closest('main'))")
        assert in_main and not in_header, path
