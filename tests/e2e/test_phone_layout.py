"""At 320, 375 and 1280 px no page scrolls sideways (the document is never wider than the
window), and on a phone: the category bar either fits or scrolls with a visible cue, the
checkout's order summary comes before the step's button, and the skip link on every
checkout step moves focus past the header to the main content. The phone's header stays
compact (currency and language folded into one <details> that still changes both; the
account links folded into "Log in" or an account menu, in English, German and French),
while a desktop shows them inline.

`chromium` comes last in each test's arguments: fixtures that write to the database run
before the browser opens (tests/support/browser_fixtures.py).
"""
from __future__ import annotations

import pytest
from django.conf import settings
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


# The account links on a phone fold into one control on the brand's line, so the header keeps
# its two lines in every language, signed in or out: signed out the "Log in" link (the login
# page links to sign-up), signed in a native <details> (a person icon named "Account") whose
# panel holds My account, My orders and the Log out form. A desktop shows them inline.
LANGUAGES = ("en", "de", "fr")
ACCOUNT = """() => {
  const header = document.querySelector('.site-header');
  const doc = document.scrollingElement;
  const brand = header.querySelector('.brand');
  const control = [...header.querySelectorAll('.header-account .account-link, .account-menu-summary')]
    .filter(e => e.checkVisibility()).map(e => e.getBoundingClientRect());
  const cart = header.querySelector('.cart-link').getBoundingClientRect();
  const first = control[0], last = control[control.length - 1];
  return {height: Math.round(header.getBoundingClientRect().height), extra: doc.scrollWidth - doc.clientWidth,
          // The brand whole (not cut short), then the account control, then the cart: one line, apart.
          brandWhole: brand.scrollWidth <= brand.clientWidth,
          oneLine: control.length === 1 && Math.abs(first.top + first.height / 2 - (cart.top + cart.height / 2)) < 4,
          apart: brand.getBoundingClientRect().right + 4 <= first.left && last.right + 4 <= cart.left};
}"""


def in_language(page, live_server, language: str) -> None:
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])


def header_in_each_language(page, live_server, name: str, width: int) -> dict:
    """The header on the home page in each language: its height, and whether it overflows."""
    found = {}
    for language in LANGUAGES:
        in_language(page, live_server, language)
        page.goto(live_server.url + "/")
        found[language] = page.evaluate(ACCOUNT)
        page.screenshot(path=str(SHOTS / f"layout-header-{name}-{language}-{width}.png"))
    return found


def too_tall_or_wide(found: dict) -> dict:
    return {language: header for language, header in found.items()
            if header["height"] > PHONE_HEADER_MAX or header["extra"] > 0 or not (header["oneLine"] and header["brandWhole"] and header["apart"])}


@pytest.mark.parametrize("viewport", [PHONE_NARROW, PHONE], ids=["320", "375"])
def test_on_a_phone_the_header_is_compact_in_every_language_signed_out(viewport, storefront, live_server, chromium):  # noqa: F811
    page = open_page(chromium, live_server, viewport)
    found = header_in_each_language(page, live_server, "signed-out", viewport["width"])
    assert too_tall_or_wide(found) == {}, found
    # The one link left is the way in; the login page leads on to sign-up.
    in_language(page, live_server, "de")
    page.goto(live_server.url + "/")
    assert page.get_by_role("link", name="Anmelden").is_visible()
    assert not page.get_by_role("link", name="Registrieren").is_visible()
    page.get_by_role("link", name="Anmelden").click()
    page.get_by_role("link", name="Legen Sie ein Konto an").click()
    assert page.url.startswith(live_server.url + "/accounts/signup/")


@pytest.mark.parametrize("viewport", [PHONE_NARROW, PHONE], ids=["320", "375"])
def test_on_a_phone_the_header_is_compact_in_every_language_signed_in(viewport, signed_in_client, live_server, chromium):  # noqa: F811
    page = open_page(chromium, live_server, viewport, signed_in_client)
    found = header_in_each_language(page, live_server, "signed-in", viewport["width"])
    assert too_tall_or_wide(found) == {}, found
    assert not page.get_by_role("link", name="Mon compte").is_visible()
    assert page.locator(".account-menu-summary").is_visible()


def test_on_a_phone_the_account_menu_opens_by_keyboard_and_logs_out(signed_in_client, live_server, chromium):  # noqa: F811
    page = open_page(chromium, live_server, PHONE, signed_in_client)
    page.goto(live_server.url + "/products/linen-shirt/")
    summary = page.locator(".account-menu-summary")
    # A person icon (and the menu's arrow) on screen; its name for a screen reader.
    assert summary.bounding_box()["width"] <= 60
    assert page.locator(".account-menu-summary .visually-hidden").inner_text() == "Account"
    assert not page.get_by_role("link", name="My orders").is_visible()

    # Tab reaches the summary (after the search box, as in the page's order), Enter opens it,
    # Tab walks through its panel.
    page.get_by_role("button", name="Search").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "account-menu-summary"
    page.keyboard.press("Enter")
    assert page.locator(".account-menu").evaluate("d => d.open")
    for name in ("My account", "My orders", "Log out"):
        assert page.get_by_role("link" if name != "Log out" else "button", name=name).is_visible(), name
    page.screenshot(path=str(SHOTS / "layout-account-menu-open-375.png"))
    # The panel stays inside the window.
    panel = page.locator(".account-menu-panel").bounding_box()
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= PHONE["width"]
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.innerText") == "My account"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.innerText") == "Log out"

    # Log out is the allauth POST with its CSRF token: the shopper is signed out.
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("link", name="Log in").is_visible()
    assert page.locator(".account-menu").count() == 0
    page.goto(live_server.url + "/account/")
    assert page.url.startswith(live_server.url + "/accounts/login/")


def test_on_a_phone_the_account_menu_leads_to_the_orders(signed_in_client, live_server, chromium):  # noqa: F811
    page = open_page(chromium, live_server, PHONE, signed_in_client)
    page.goto(live_server.url + "/")
    page.locator(".account-menu-summary").click()
    page.get_by_role("link", name="My orders").click()
    assert page.url == live_server.url + "/orders/"
    # Where the shopper is shows on the closed menu's icon, and in its panel.
    assert page.locator(".account-menu-summary[data-current]").count() == 1
    page.locator(".account-menu-summary").click()
    assert page.get_by_role("link", name="My orders").get_attribute("aria-current") == "page"


def test_on_a_desktop_the_account_links_stay_inline(signed_in_client, live_server, chromium):  # noqa: F811
    page = open_page(chromium, live_server, DESKTOP, signed_in_client)
    page.goto(live_server.url + "/")
    assert not page.locator(".account-menu-summary").is_visible()
    for name in ("My account", "My orders", "Log out"):
        assert page.get_by_role("link" if name != "Log out" else "button", name=name).is_visible(), name
    # One row: the links sit beside the cart, like the brand and the search box.
    boxes = [page.get_by_role("link", name="My account").bounding_box(), page.get_by_role("button", name="Log out").bounding_box(),
             page.locator(".cart-link").bounding_box()]
    assert max(box["y"] for box in boxes) - min(box["y"] for box in boxes) < 8
    page.screenshot(path=str(SHOTS / "layout-header-signed-in-1280.png"))
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()
    assert page.get_by_role("link", name="Log in").is_visible() and page.get_by_role("link", name="Sign up").is_visible()
    page.screenshot(path=str(SHOTS / "layout-header-signed-out-1280.png"))


def test_on_a_phone_the_header_menus_close_on_escape_and_outside(signed_in_client, storefront, live_server, chromium):  # noqa: F811
    page = open_page(chromium, live_server, PHONE, signed_in_client)
    page.goto(live_server.url + "/products/linen-shirt/")
    account, settings = page.locator(".account-menu"), page.locator(".header-settings")

    # Escape from inside the open menu closes it and gives the focus back to its summary.
    page.locator(".account-menu-summary").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.innerText") == "My account"
    page.keyboard.press("Escape")
    assert not account.evaluate("d => d.open")
    assert page.evaluate("document.activeElement.className") == "account-menu-summary"

    # A tap outside closes it; opening the other menu (here by keyboard) closes this one.
    page.locator(".account-menu-summary").click()
    assert account.evaluate("d => d.open")
    page.locator("main h1").click()
    assert not account.evaluate("d => d.open")
    page.locator(".header-settings-summary").click()
    page.locator(".account-menu-summary").focus()
    page.keyboard.press("Enter")
    assert account.evaluate("d => d.open") and not settings.evaluate("d => d.open")
    page.locator("main h1").click()

    # A click inside the open menu keeps it open (choosing a currency).
    page.locator(".header-settings-summary").click()
    page.get_by_label("Currency").click()
    assert settings.evaluate("d => d.open")
