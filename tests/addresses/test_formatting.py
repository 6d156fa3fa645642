"""One formatter (addresses.formatting.address_lines) writes every address: the order
page, the confirmation email (HTML and text), the checkout's recap and admin all show
the same lines, in the country's order, with the country's everyday name last."""
from __future__ import annotations

import re
from html import unescape

import pytest
from django.core import mail

from addresses.formatting import address_inline, address_lines, country_name
from addresses.models import SavedAddress
from cart.session import SESSION_KEY
from orders.models import Order
from orders.selectors import guest_link
from tests.addresses.samples import DE, DE_LINES, GB, GB_LINES, JP, JP_LINES, US, US_LINES, form_data
from tests.support.shipping import make_method, rest_of_world


@pytest.mark.parametrize(
    ("address", "lines"),
    [(US, US_LINES), (DE, DE_LINES), (JP, JP_LINES), (GB, GB_LINES)],
    ids=["US", "DE", "JP", "GB"],
)
def test_an_address_is_written_in_its_countrys_order(address, lines):
    assert address_lines(address) == lines


def test_the_second_line_and_a_missing_state_leave_no_stray_separators():
    lines = address_lines({**US, "line2": "Apt 4", "region": ""})

    assert lines == ["Grace Hopper", "1 Main St", "Apt 4", "Springfield 62701", "United States"]


def test_country_names_read_in_normal_case():
    assert [country_name(code) for code in ("US", "GB", "JP", "DE", "ch")] == [
        "United States", "United Kingdom", "Japan", "Germany", "Switzerland"
    ]
    assert not any(line.isupper() and len(line) > 3 for line in address_lines(US))


def test_an_unknown_country_code_still_prints_what_was_given():
    assert address_lines({"name": "A", "line1": "1 Road", "city": "Town", "postal_code": "1", "country": "XX"}) == ["A", "1 Road", "Town, 1", "XX"]


def test_no_address_is_no_lines():
    assert address_lines(None) == [] and address_lines({}) == [] and address_inline(None) == ""


# --- the same lines on the order page, in the email and in admin ----------------------------


@pytest.fixture
def us_order(api, stripe_emulator, make_variant, make_cart, django_capture_on_commit_callbacks) -> Order:
    """A paid order shipped to Springfield, IL, billed in Tokyo; its confirmation email sent."""
    rest_of_world()
    cart = make_cart({make_variant("LAMP", price="40.00"): 1})
    assert api.post(f"/api/v1/carts/{cart.pk}/checkout/").status_code == 200
    body = {"email": "grace@example.com", "shipping_address": US, "billing_address": JP}
    assert api.patch(f"/api/v1/carts/{cart.pk}/checkout/", body).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method()})
    assert response.status_code == 200, response.content
    return Order.objects.get(cart=cart)


def address_blocks(html: str) -> list[list[str]]:
    """Each <address> of a page, as its lines."""
    return [
        [unescape(part).strip() for part in re.split(r"<br\s*/?>", block) if part.strip()]
        for block in re.findall(r"<address[^>]*>(.*?)</address>", html, re.S)
    ]


def test_the_order_page_shows_the_formatted_addresses(client, us_order):
    html = client.get(guest_link(us_order)).content.decode()

    assert address_blocks(html) == [US_LINES, JP_LINES]


def test_the_confirmation_email_shows_the_same_lines_in_html_and_text(us_order):
    (email,) = mail.outbox
    html = email.alternatives[0][0]

    assert "\n".join(US_LINES) in email.body
    assert "<br>".join(US_LINES) in unescape(html)
    assert "UNITED STATES" not in email.body and "SPRINGFIELD" not in email.body


def test_page_email_and_admin_use_one_formatter(client, admin_client, us_order, django_user_model):
    user = django_user_model.objects.create_user(username="grace", email="grace@example.com", password="pw")
    saved = SavedAddress.objects.create(user=user, **US)

    admin_html = admin_client.get(f"/admin/addresses/savedaddress/{saved.pk}/change/").content.decode()
    page_html = client.get(guest_link(us_order)).content.decode()
    (email,) = mail.outbox

    assert "<br>".join(US_LINES) + "<br>" in admin_html
    assert address_blocks(page_html)[0] == US_LINES == address_lines(us_order.shipping_address)
    assert "\n".join(address_lines(us_order.shipping_address)) in email.body


def test_the_checkout_recap_writes_the_address_on_one_line(client, make_variant, make_cart):
    rest_of_world()
    make_method(code="standard", name="Standard", price="5.00")
    cart = make_cart({make_variant("LAMP", price="40.00"): 1})
    session = client.session
    session[SESSION_KEY] = str(cart.pk)
    session.save()
    client.get("/checkout/")
    assert client.post("/checkout/address/", form_data(US, email="grace@example.com", billing_same="on")).status_code == 302

    html = client.get("/checkout/shipping/").content.decode()

    assert "Shipping to Grace Hopper, 1 Main St, Springfield, IL 62701, United States" in unescape(html)
