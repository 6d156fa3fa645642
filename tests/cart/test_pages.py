"""The cart's pages: add to cart from the product page, the cart page with its actions,
checkout start and cancel, the session cart and its merge on login, and constant query
counts. (The catalog's pages: tests/catalog/test_pages.py.)"""
from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from cart import services as cart_services
from cart.models import Cart, CartLine
from cart.session import SESSION_KEY
from inventory.models import Reservation
from inventory.selectors import available_quantities
from tests.support.pages import add_to_cart, queries_for, session_cart, use_cart
from checkout import services as checkout_services

QUANTITY_RULE = "Quantity must be a whole number from 1 to 99."


@pytest.fixture
def client(db) -> Client:
    return Client()


# --- add to cart (on the product page) ------------------------------------------------------


def test_add_to_cart_creates_the_session_cart_and_redirects_to_it(client, shirt_sizes):
    response = add_to_cart(client, "linen-shirt", "SHIRT-S", "2")

    assert response.status_code == 302 and response["Location"] == "/cart/"
    cart = session_cart(client)
    assert cart is not None and cart.user_id is None and cart.currency == "USD"
    assert list(cart.lines.values_list("variant__sku", "quantity")) == [("SHIRT-S", 2)]
    page = client.get("/cart/")
    assertContains(page, "Added 2 × Linen shirt – S to your cart.")
    assertContains(page, '<span class="cart-count" aria-hidden="true">2</span>', html=True)
    assertContains(page, 'aria-label="Cart, 2 items"')


def test_adding_the_same_variant_again_adds_to_its_line(client, shirt_sizes):
    add_to_cart(client, "linen-shirt", "SHIRT-S", "2")
    add_to_cart(client, "linen-shirt", "SHIRT-S", " 3 ")

    cart = session_cart(client)
    assert list(cart.lines.values_list("variant__sku", "quantity")) == [("SHIRT-S", 5)]
    assert Cart.objects.count() == 1


@pytest.mark.parametrize(
    ("sku", "quantity", "status", "field", "message"),
    [
        ("SHIRT-S", "0", 400, "quantity", QUANTITY_RULE),
        ("SHIRT-S", "100", 400, "quantity", QUANTITY_RULE),
        ("SHIRT-S", "abc", 400, "quantity", QUANTITY_RULE),
        ("SHIRT-S", "", 400, "quantity", QUANTITY_RULE),
        ("SHIRT-S", "1.5", 400, "quantity", QUANTITY_RULE),
        ("SHIRT-M", "3", 409, "quantity", "Only 2 left of Linen shirt – M."),
        ("SHIRT-L", "1", 409, "quantity", "Linen shirt – L is out of stock."),
        ("NO-SUCH-SKU", "1", 400, "variant", "Choose one of the options shown."),
        ("", "1", 400, "variant", "Choose one of the options shown."),
    ],
)
def test_refused_add_shows_the_reason_next_to_its_field_and_creates_nothing(
    client, shirt_sizes, sku, quantity, status, field, message
):
    response = add_to_cart(client, "linen-shirt", sku, quantity)

    assert response.status_code == status
    assertContains(response, f'<p class="field-error" id="{field}-error">{message}</p>', status_code=status, html=True)
    assert Cart.objects.count() == 0 and CartLine.objects.count() == 0
    assert SESSION_KEY not in client.session


def test_variant_of_another_product_is_refused(client, shirt_sizes, make_variant):
    make_variant("HAT-1")

    response = add_to_cart(client, "linen-shirt", "HAT-1", "1")

    assert response.status_code == 400
    assert CartLine.objects.count() == 0


def test_refused_add_leaves_an_existing_cart_as_it_was(client, shirt_sizes):
    add_to_cart(client, "linen-shirt", "SHIRT-M", "2")

    response = add_to_cart(client, "linen-shirt", "SHIRT-M", "1")

    assert response.status_code == 409
    assertContains(response, "Only 2 left of Linen shirt – M.", status_code=409)
    assert list(session_cart(client).lines.values_list("variant__sku", "quantity")) == [("SHIRT-M", 2)]
    assert Cart.objects.count() == 1


def test_add_past_99_of_one_item_is_refused(client, make_variant, shirt_product):
    make_variant("SHIRT-XL", on_hand=200, product=shirt_product, size="XL")
    add_to_cart(client, "linen-shirt", "SHIRT-XL", "98")

    response = add_to_cart(client, "linen-shirt", "SHIRT-XL", "2")

    assert response.status_code == 400
    assertContains(response, '<p class="field-error" id="quantity-error">At most 99 of one item per order.</p>', status_code=400, html=True)
    assert session_cart(client).lines.get().quantity == 98


def test_add_while_in_checkout_is_refused_with_the_reason(client, shirt_sizes):
    add_to_cart(client, "linen-shirt", "SHIRT-S", "1")
    checkout_services.start_checkout(cart_id=session_cart(client).pk)

    response = add_to_cart(client, "linen-shirt", "SHIRT-S", "1")

    assert response.status_code == 409
    assertContains(response, "This cart is in checkout; cancel the checkout to change it.", status_code=409)
    assert session_cart(client).lines.get().quantity == 1


# --- the shopper's currency ----------------------------------------------------------------


def test_cart_is_created_in_the_shoppers_currency_and_priced_in_it(euro_shopper, shirt_sizes):
    add_to_cart(euro_shopper, "linen-shirt", "SHIRT-S", "3")

    response = euro_shopper.get("/cart/")

    assert session_cart(euro_shopper).currency == "EUR"
    assertContains(response, '<span class="cart-line-unit">€27.65 each</span>', html=True)
    assertContains(response, '<div class="cart-total"><dt>Total</dt><dd>€82.95</dd></div>', html=True)


# --- cart page ----------------------------------------------------------------------------


def test_empty_cart_page(client, db):
    response = client.get("/cart/")

    assert response.status_code == 200
    assertContains(response, "Your cart is empty.")
    assert Cart.objects.count() == 0


def test_cart_page_shows_lines_prices_stock_and_totals(client, shirt_sizes, make_cart):
    cart = make_cart({shirt_sizes["S"]: 3, shirt_sizes["M"]: 2})
    use_cart(client, cart)

    response = client.get("/cart/")

    assert response.status_code == 200
    s, m = cart.lines.get(variant__sku="SHIRT-S"), cart.lines.get(variant__sku="SHIRT-M")
    assertContains(response, '<span class="cart-line-attributes">Size: S</span>', html=True)
    assertContains(response, '<span class="cart-line-unit">$30.00 each</span>', html=True)
    assertContains(response, '<p class="cart-line-total">$90.00</p>', html=True)
    assertContains(response, '<p class="cart-line-total">$60.00</p>', html=True)
    assertContains(response, f'<input type="number" id="quantity-{s.pk}" name="quantity" inputmode="numeric" min="1" max="99" step="1" required value="3">', html=True)
    assertContains(response, f'action="/cart/lines/{m.pk}/remove/"')
    assertContains(response, '<span class="badge badge-low-stock">Low stock</span>', html=True)
    assertContains(response, "<div><dt>Subtotal</dt><dd>$150.00</dd></div>", html=True)
    assertContains(response, '<div class="cart-total"><dt>Total</dt><dd>$150.00</dd></div>', html=True)
    assertContains(response, '<span class="cart-count" aria-hidden="true">5</span>', html=True)
    assertContains(response, 'action="/cart/checkout/"')


def test_cart_line_shows_shortage_when_stock_fell_below_its_quantity(client, shirt_sizes, make_cart):
    cart = make_cart({shirt_sizes["M"]: 2})
    use_cart(client, cart)
    other = make_cart({shirt_sizes["M"]: 1})
    checkout_services.start_checkout(cart_id=other.pk)

    response = client.get("/cart/")

    assertContains(response, '<span class="badge badge-out-of-stock">Only 1 left</span>', html=True)


def test_update_line_quantity(client, shirt_sizes, make_cart):
    cart = make_cart({shirt_sizes["S"]: 1})
    use_cart(client, cart)
    line = cart.lines.get()

    response = client.post(f"/cart/lines/{line.pk}/", {"quantity": "4"})

    assert response.status_code == 302 and response["Location"] == "/cart/"
    line.refresh_from_db()
    assert line.quantity == 4
    assertContains(client.get("/cart/"), "Quantity updated.")


@pytest.mark.parametrize(
    ("quantity", "status", "message"),
    [("0", 400, QUANTITY_RULE), ("abc", 400, QUANTITY_RULE), ("100", 400, QUANTITY_RULE), ("3", 409, "Only 2 left of Linen shirt – M.")],
)
def test_refused_update_shows_the_reason_next_to_the_line_and_changes_nothing(
    client, shirt_sizes, make_cart, quantity, status, message
):
    cart = make_cart({shirt_sizes["M"]: 1})
    use_cart(client, cart)
    line = cart.lines.get()

    response = client.post(f"/cart/lines/{line.pk}/", {"quantity": quantity})

    assert response.status_code == status
    assertContains(response, f'<p class="field-error" id="quantity-{line.pk}-error">{message}</p>', status_code=status, html=True)
    line.refresh_from_db()
    assert line.quantity == 1


def test_remove_line(client, shirt_sizes, make_cart):
    cart = make_cart({shirt_sizes["S"]: 1, shirt_sizes["M"]: 1})
    use_cart(client, cart)

    response = client.post(f"/cart/lines/{cart.lines.get(variant__sku='SHIRT-S').pk}/remove/")

    assert response.status_code == 302
    assert list(cart.lines.values_list("variant__sku", flat=True)) == ["SHIRT-M"]
    assertContains(client.get("/cart/"), "Item removed from your cart.")


def test_line_of_another_cart_cannot_be_changed_or_removed(client, shirt_sizes, make_cart):
    mine, theirs = make_cart({shirt_sizes["S"]: 1}), make_cart({shirt_sizes["S"]: 2})
    use_cart(client, mine)
    their_line = theirs.lines.get()

    updated = client.post(f"/cart/lines/{their_line.pk}/", {"quantity": "5"})
    removed = client.post(f"/cart/lines/{their_line.pk}/remove/")

    assert updated.status_code == removed.status_code == 404
    assertContains(removed, "That line is not in this cart.", status_code=404)
    their_line.refresh_from_db()
    assert their_line.quantity == 2


def test_actions_without_a_cart_are_refused(client, db):
    assert client.post("/cart/lines/1/remove/").status_code == 404
    response = client.post("/cart/checkout/")
    assert response.status_code == 400
    assertContains(response, "Your cart is empty.", status_code=400)
    assert Cart.objects.count() == 0


def test_cart_pages_refuse_wrong_methods(client, db):
    assert client.post("/cart/").status_code == 405
    assert client.get("/cart/checkout/").status_code == 405


def test_completed_cart_is_no_longer_the_shoppers(client, shirt_sizes, make_cart):
    cart = make_cart({shirt_sizes["S"]: 1})
    use_cart(client, cart)
    Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.COMPLETED)

    response = client.get("/cart/")

    assertContains(response, "Your cart is empty.")
    assert SESSION_KEY not in client.session


# --- checkout start and cancel --------------------------------------------------------------


def test_checkout_start_reserves_and_goes_to_checkout(client, shirt_sizes, make_cart):
    cart = make_cart({shirt_sizes["S"]: 3})
    use_cart(client, cart)

    response = client.post("/cart/checkout/")

    assert response.status_code == 302 and response["Location"] == "/checkout/"
    cart.refresh_from_db()
    assert cart.status == Cart.Status.CHECKOUT
    assert available_quantities([shirt_sizes["S"].pk]) == {shirt_sizes["S"].pk: 17}


def test_checkout_start_without_stock_shows_the_message_and_reserves_nothing(client, shirt_sizes, make_cart):
    cart = make_cart({shirt_sizes["S"]: 1, shirt_sizes["M"]: 2})
    use_cart(client, cart)
    checkout_services.start_checkout(cart_id=make_cart({shirt_sizes["M"]: 1}).pk)

    response = client.post("/cart/checkout/")

    assert response.status_code == 409
    assertContains(response, '<p class="form-error" role="alert">Only 1 left of Linen shirt – M.</p>', status_code=409, html=True)
    cart.refresh_from_db()
    assert cart.status == Cart.Status.ACTIVE
    assert not Reservation.objects.filter(holder_id=cart.pk).exists()


def test_cart_in_checkout_is_read_only_and_can_be_cancelled(client, shirt_sizes, make_cart):
    cart = make_cart({shirt_sizes["S"]: 3})
    use_cart(client, cart)
    client.post("/cart/checkout/")

    page = client.get("/cart/")

    assertContains(page, "these items are reserved for you until")
    assertContains(page, '<p class="cart-line-quantity">Quantity: 3</p>', html=True)
    assertNotContains(page, 'name="quantity"')
    assertNotContains(page, "/remove/")
    assertContains(page, '<button type="submit" class="button">Back to cart (cancel checkout)</button>', html=True)

    cancelled = client.post("/cart/checkout/cancel/")

    assert cancelled.status_code == 302 and cancelled["Location"] == "/cart/"
    cart.refresh_from_db()
    assert cart.status == Cart.Status.ACTIVE
    assert available_quantities([shirt_sizes["S"].pk]) == {shirt_sizes["S"].pk: 20}


def test_cart_in_checkout_says_when_its_reservation_expired(client, shirt_sizes, make_cart):
    cart = make_cart({shirt_sizes["S"]: 1})
    use_cart(client, cart)
    checkout_services.start_checkout(cart_id=cart.pk, now=timezone.now() - timedelta(minutes=10))

    response = client.get("/cart/")

    assertContains(response, "your reservation has expired")


def test_update_while_in_checkout_is_refused_with_the_reason(client, shirt_sizes, make_cart):
    cart = make_cart({shirt_sizes["S"]: 3})
    use_cart(client, cart)
    client.post("/cart/checkout/")

    response = client.post(f"/cart/lines/{cart.lines.get().pk}/", {"quantity": "1"})

    assert response.status_code == 409
    assertContains(response, "This cart is in checkout; cancel the checkout to change it.", status_code=409)
    assert cart.lines.get().quantity == 3


def test_cancel_when_not_in_checkout_is_refused(client, shirt_sizes, make_cart):
    use_cart(client, make_cart({shirt_sizes["S"]: 1}))

    response = client.post("/cart/checkout/cancel/")

    assert response.status_code == 409
    assertContains(response, "This cart is not in checkout.", status_code=409)


# --- login and the session cart ---------------------------------------------------------------


@pytest.fixture
def shopper(db):
    user = get_user_model().objects.create_user(username="ada", email="ada@example.com", password="correct horse battery")
    EmailAddress.objects.create(user=user, email="ada@example.com", verified=True, primary=True)
    return user


def log_in(client: Client) -> object:
    return client.post("/accounts/login/", {"login": "ada@example.com", "password": "correct horse battery"})


def test_login_page_renders(client, db):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assertContains(response, '<label for="id_login">Email</label>', html=True)
    assertContains(response, '<a class="account-link" href="/accounts/login/">Log in</a>', html=True)


def test_log_in_link_returns_to_the_page_it_was_followed_from(client, shirt_sizes):
    response = client.get("/products/linen-shirt/")

    assertContains(response, '<a class="account-link" href="/accounts/login/?next=/products/linen-shirt/">Log in</a>', html=True)


def test_login_merges_the_session_cart_into_the_users_cart(client, shopper, make_variant, shirt_product):
    make_variant("SHIRT-XL", on_hand=200, product=shirt_product, size="XL")
    socks, hat = make_variant("SOCKS", on_hand=10), make_variant("HAT", on_hand=10)
    users_cart = cart_services.create_cart(user_id=shopper.pk)
    cart_services.add_line(cart_id=users_cart.pk, sku="SHIRT-XL", quantity=50)
    cart_services.add_line(cart_id=users_cart.pk, sku="HAT", quantity=2)
    add_to_cart(client, "linen-shirt", "SHIRT-XL", "60")
    client.post(f"/cart/add/{socks.product.slug}/", {"variant": "SOCKS", "quantity": "1"})
    anonymous_cart = session_cart(client)

    response = log_in(client)

    assert response.status_code == 302
    assert session_cart(client) == users_cart
    assert dict(users_cart.lines.values_list("variant__sku", "quantity")) == {"SHIRT-XL": 99, "HAT": 2, "SOCKS": 1}
    anonymous_cart.refresh_from_db()
    assert anonymous_cart.status == Cart.Status.ABANDONED and not anonymous_cart.lines.exists()
    assertContains(client.get("/cart/"), '<span class="cart-count" aria-hidden="true">102</span>', html=True)


def test_login_without_a_user_cart_makes_the_session_cart_the_users(client, shopper, shirt_sizes):
    add_to_cart(client, "linen-shirt", "SHIRT-S", "2")
    cart = session_cart(client)

    log_in(client)

    cart.refresh_from_db()
    assert cart.user_id == shopper.pk and cart.status == Cart.Status.ACTIVE
    assert session_cart(client) == cart


def test_signed_in_shopper_finds_their_cart_on_another_browser(client, shopper, shirt_sizes):
    log_in(client)
    add_to_cart(client, "linen-shirt", "SHIRT-S", "2")
    cart = session_cart(client)
    assert cart.user_id == shopper.pk

    other_browser = Client()
    log_in(other_browser)
    response = other_browser.get("/cart/")

    assert response.context["cart"] == cart
    assertContains(response, '<p class="cart-line-total">$60.00</p>', html=True)


def test_logout_forgets_the_cart(client, shopper, shirt_sizes):
    log_in(client)
    add_to_cart(client, "linen-shirt", "SHIRT-S", "2")

    client.post("/accounts/logout/")

    assertContains(client.get("/cart/"), "Your cart is empty.")


def test_anonymous_session_cannot_use_a_users_cart(client, shopper, shirt_sizes):
    users_cart = cart_services.create_cart(user_id=shopper.pk)
    cart_services.add_line(cart_id=users_cart.pk, sku="SHIRT-S", quantity=1)
    use_cart(client, users_cart)

    assertContains(client.get("/cart/"), "Your cart is empty.")
    add_to_cart(client, "linen-shirt", "SHIRT-S", "1")

    assert users_cart.lines.get().quantity == 1
    assert session_cart(client) != users_cart


# --- query counts ------------------------------------------------------------------------------


def test_cart_page_query_count_does_not_grow_with_lines(client, make_variant, make_cart):
    variants = [make_variant(on_hand=50) for _ in range(10)]
    counts = []
    for size in (1, 3, 10):
        browser = Client()
        use_cart(browser, make_cart({variant: 2 for variant in variants[:size]}))
        counts.append(queries_for(browser, "/cart/"))

    assert counts[0] == counts[1] == counts[2]


def test_cart_page_query_count_for_a_signed_in_shopper_does_not_grow_with_lines(client, shopper, make_variant):
    variants = [make_variant(on_hand=50) for _ in range(10)]
    log_in(client)
    cart = cart_services.create_cart(user_id=shopper.pk)
    cart_services.add_line(cart_id=cart.pk, sku=variants[0].sku, quantity=1)
    use_cart(client, cart)
    one = queries_for(client, "/cart/")
    for variant in variants[1:]:
        cart_services.add_line(cart_id=cart.pk, sku=variant.sku, quantity=1)

    assert queries_for(client, "/cart/") == one


def test_links_from_a_refused_add_lead_back_to_the_product_page(client, shirt_sizes):
    refused = add_to_cart(client, "linen-shirt", "SHIRT-L", "1")  # out of stock: the page again, at the form's URL
    assert refused.status_code == 409 and refused.request["PATH_INFO"] == "/cart/add/linen-shirt/"

    back = client.get("/cart/add/linen-shirt/")  # e.g. the currency selector's way back

    assert back.status_code == 302 and back["Location"] == "/products/linen-shirt/"
    assert client.get("/cart/add/no-such-product/").status_code == 404
