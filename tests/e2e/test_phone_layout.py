"""At 320, 375 and 1280 px no page scrolls sideways (the document is never wider than the
window), and on a phone: the category bar either fits or scrolls with a visible cue, the
checkout's order summary comes before the step's button, and the skip link on every
checkout step moves focus past the header to the main content. The phone's header stays
compact (currency and language folded into one <details> that still changes both), while
a desktop shows them inline.

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


# The header's height at 375 px (brand, account links and cart; the search box beside the
# currency-and-language summary; the category bar): products start above the fold.
PHONE_HEADER_MAX = 150
HEADER = """() => {
  const header = document.querySelector('.site-header');
  const settings = header.querySelector('.header-settings');
  return {height: header.getBoundingClientRect().height, open: settings.open,
          summaryShown: getComputedStyle(settings.querySelector('summary')).display !== 'none'};
}"""


@pytest.mark.parametrize("viewport", [PHONE_NARROW, PHONE], ids=["320", "375"])
def test_on_a_phone_the_header_is_compact_with_currency_and_language_folded(viewport, storefront, live_server, chromium):  # noqa: F811
    page = open_page(chromium, live_server, viewport)
    for path in ("/", "/products/linen-shirt/", "/cart/"):
        page.goto(live_server.url + path)
        header = page.evaluate(HEADER)
        assert header["height"] <= PHONE_HEADER_MAX, (path, header)
        assert header["summaryShown"] and not header["open"], path
        assert not page.get_by_label("Currency").is_visible() and not page.get_by_label("Language").is_visible(), path
        # The rest of the header stays in sight: search with its label, the cart with its count.
        assert page.get_by_label("Search products").is_visible() and page.get_by_role("button", name="Search").is_visible()
        assert page.get_by_role("link", name="Cart, 0 items").is_visible()


def test_on_a_desktop_currency_and_language_are_inline_without_a_disclosure(storefront, live_server, chromium):  # noqa: F811
    page = open_page(chromium, live_server, DESKTOP)
    page.goto(live_server.url + "/")
    header = page.evaluate(HEADER)
    assert not header["summaryShown"] and not header["open"]
    assert page.get_by_label("Currency").is_visible() and page.get_by_label("Language").is_visible()
    assert page.get_by_role("button", name="Change currency").is_visible()


def test_on_a_phone_currency_and_language_change_through_the_disclosure(known_rates, storefront, live_server, chromium):  # noqa: F811
    page = open_page(chromium, live_server, PHONE)
    page.goto(live_server.url + "/products/linen-shirt/")
    summary = page.locator(".header-settings-summary")
    assert summary.inner_text().endswith("USD · English")
    assert page.locator(".product-price").inner_text() == "from $19.99"

    # The keyboard opens it (a native <details>): Enter on the focused summary.
    summary.focus()
    page.keyboard.press("Enter")
    page.get_by_label("Currency").select_option("EUR")
    with page.expect_navigation():
        page.get_by_role("button", name="Change currency").click()

    # 19.99 USD at 0.9215 is 18.420785: 18.42 EUR, on the same page.
    assert page.url == live_server.url + "/products/linen-shirt/"
    assert page.locator(".product-price").inner_text() == "from €18.42"
    assert summary.inner_text().endswith("EUR · English")
    assert page.evaluate(HEADER)["height"] <= PHONE_HEADER_MAX

    summary.click()
    page.get_by_label("Language").select_option("de")
    with page.expect_navigation():
        page.get_by_role("button", name="Change language").click()

    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator(".product-price").inner_text() == "ab 18,42\xa0€"
    assert summary.inner_text().endswith("EUR · Deutsch")
    assert page.get_by_role("link", name="Warenkorb, 0 Artikel").is_visible()
    page.screenshot(path=str(SHOTS / "layout-header-de-375.png"))
