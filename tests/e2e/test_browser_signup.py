"""A new customer in a real browser (Debian's chromium through Playwright) on Django's live
server: signs up by email, follows the verification link from the email, logs in and lands
on the account page, where the order they once placed as a guest now shows. On a phone
(375 px) and a desktop (1280 px), with nothing wider than the screen.

Screenshots go to /tmp/shots/accounts_*.png for a person to look at. `chromium` comes last
in the test's arguments: fixtures that write to the database run before the browser opens
(see tests/support/browser_fixtures.py).
"""
from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from cart.pricing import price_cart
from orders import services as orders_services
from orders.models import Order
from tests.support.browser_fixtures import SHOTS, off_loop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
EMAIL = "grace@example.com"
PASSWORD = "cobol-compiler-59"
# Anything on the page that reaches past the right edge of the screen.
OVERFLOWING = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''))"""


@pytest.fixture
def guest_order(ready_cart, make_variant) -> Order:
    """An order Grace placed as a guest before she had an account."""
    lamp = make_variant("LAMP-1", price="40.00", on_hand=5)
    cart = ready_cart({lamp: 1}, email=EMAIL.upper())
    with transaction.atomic():
        return orders_services.create_order(cart=cart, totals=price_cart(cart), authorized_only=False, now=timezone.now())


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"accounts_{name}.png"), full_page=True)


def fits(page) -> None:
    assert page.evaluate(OVERFLOWING) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def verification_link() -> str:
    found = re.search(r"https?://\S+/accounts/confirm-email/\S+", mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return found.group(0)


def test_a_new_customer_signs_up_verifies_logs_in_and_finds_her_guest_order(guest_order, live_server, chromium):
    base = live_server.url
    page = chromium.new_page(viewport=DESKTOP)

    page.goto(f"{base}/")
    page.get_by_role("link", name="Sign up").click()
    page.wait_for_url(f"{base}/accounts/signup/")
    fits(page)
    shot(page, "signup_1280")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD + "x")
    page.get_by_role("button", name="Create account").click()
    assert page.locator("#id_password2_error").inner_text() == "You must type the same password each time."
    shot(page, "signup_error_1280")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{base}/accounts/confirm-email/")
    assert page.get_by_role("heading", name="Check your email").is_visible()
    shot(page, "verification_sent_1280")

    page.goto(verification_link().replace("http://testserver", base))
    shot(page, "verify_1280")
    page.get_by_role("button", name="Yes, verify it").click()
    page.wait_for_url(f"{base}/accounts/login/")
    assert off_loop(lambda: Order.objects.get(pk=guest_order.pk).user.email) == EMAIL
    fits(page)
    shot(page, "login_1280")

    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/account/")
    assert page.get_by_role("heading", name="Hello").is_visible()
    assert page.get_by_role("link", name=guest_order.number).is_visible()
    assert page.get_by_role("link", name="My account").is_visible()
    fits(page)
    shot(page, "account_1280")

    page.set_viewport_size(PHONE)
    page.reload()
    fits(page)
    shot(page, "account_375")
    for name, path in (("email", "/accounts/email/"), ("password_change", "/accounts/password/change/"), ("profile", "/account/profile/")):
        page.goto(f"{base}{path}")
        fits(page)
        shot(page, f"{name}_375")
    page.goto(f"{base}/account/")
    page.get_by_role("link", name=guest_order.number).click()
    page.wait_for_url(f"{base}/orders/{guest_order.number}/")

    page.locator(".account-menu-summary").click()  # on a phone the account links are in the header's menu
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base}/")
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("not-her-password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text().strip() == "The email address and/or password you specified are not correct."
    fits(page)
    shot(page, "login_error_375")
    page.goto(f"{base}/accounts/login/")
    fits(page)
    shot(page, "login_375")
    page.goto(f"{base}/accounts/signup/")
    fits(page)
    shot(page, "signup_375")
    page.goto(f"{base}/accounts/password/reset/")
    fits(page)
    shot(page, "password_reset_375")
