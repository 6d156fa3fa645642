"""The shopper's currency: session, saved choice, Accept-Language, USD; the selector on
every page; prices on the rendered page formatted for currency and locale."""
from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.cache import SessionStore
from django.test import Client, RequestFactory
from pytest_django.asserts import assertContains, assertNotContains

from cart import services as cart_services
from cart.models import Cart
from cart.session import SESSION_KEY as CART_SESSION_KEY
from catalog.models import Product
from currencies.choice import (
    SESSION_KEY,
    currency_from_accept_language,
    locale_from_accept_language,
    shopper_currency,
)
from currencies.models import ShopperPreference
from checkout import services as checkout_services



@pytest.fixture
def shopper(db):
    user = get_user_model().objects.create_user("shopper", "shopper@example.com", "pw-shopper-1")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)  # logins need it verified
    return user


def request_with(*, session: dict | None = None, user=None, accept_language: str | None = None):
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE=accept_language or "")
    request.session = SessionStore()
    request.session.update(session or {})
    request.user = user or AnonymousUser()
    return request


# --- which currency ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "header, currency",
    [
        ("de-DE,de;q=0.9,en;q=0.8", "EUR"),
        ("de", "EUR"),
        ("fr-FR", "EUR"),
        ("en-GB,en;q=0.9", "GBP"),
        ("ja", "JPY"),
        ("ja-JP", "JPY"),
        ("en-CA", "CAD"),
        ("fr-CA", "CAD"),
        ("en-AU", "AUD"),
        ("de-CH", "CHF"),
        ("fr-CH", "CHF"),
        ("sv-SE", "SEK"),
        ("sv", "SEK"),
        ("ar-KW", "KWD"),
        ("en-US", "USD"),
        ("pt-BR,de;q=0.5", "EUR"),  # BRL is not sold in; the next language decides
    ],
)
def test_accept_language_picks_a_supported_currency(known_rates, header, currency):
    assert currency_from_accept_language(header) == currency
    assert shopper_currency(request_with(accept_language=header)) == currency


@pytest.mark.parametrize("header", ["", "*", "pt-BR", "zz-ZZ", "not a header;;;", "de-DE," * 200])
def test_no_usable_accept_language_means_usd(known_rates, header):
    assert shopper_currency(request_with(accept_language=header)) == "USD"


def test_session_choice_beats_saved_choice_and_accept_language(known_rates, shopper):
    ShopperPreference.objects.create(user=shopper, currency="GBP")

    request = request_with(session={SESSION_KEY: "JPY"}, user=shopper, accept_language="de-DE")

    assert shopper_currency(request) == "JPY"


def test_saved_choice_beats_accept_language(known_rates, shopper):
    ShopperPreference.objects.create(user=shopper, currency="GBP")

    assert shopper_currency(request_with(user=shopper, accept_language="de-DE")) == "GBP"


def test_a_choice_that_is_no_longer_sold_falls_through(known_rates):
    from currencies.models import CurrencyRate

    CurrencyRate.objects.filter(currency="SEK").delete()

    assert shopper_currency(request_with(session={SESSION_KEY: "SEK"}, accept_language="de")) == "EUR"
    assert shopper_currency(request_with(session={SESSION_KEY: "XYZ"})) == "USD"


@pytest.mark.parametrize(
    "header, locale",
    [("de-DE,de;q=0.9", "de_DE"), ("de", "de"), ("ja", "ja"), ("en-GB", "en_GB"), ("", "en_US"), ("zz", "en_US")],
)
def test_locale_comes_from_accept_language(header, locale):
    assert locale_from_accept_language(header) == locale


# --- the selector and its view ----------------------------------------------------------------

@pytest.fixture
def shirt(make_variant, known_rates):
    product = Product.objects.create(slug="linen-shirt", name="Linen shirt")
    return make_variant("SHIRT-S", price="1339.69", on_hand=20, product=product, size="S")


def test_selector_is_on_every_page_as_a_plain_accessible_form(db, known_rates, shirt):
    client = Client()
    for url in ("/", "/products/linen-shirt/", "/cart/"):
        response = client.get(url)
        assertContains(response, '<form class="inline-form currency-selector" method="post" action="/currency/" id="currency-form">')
        assertContains(response, '<label for="currency-select">Currency</label>', html=True)
        assertContains(response, 'name="csrfmiddlewaretoken"')
        assertContains(response, f'<input type="hidden" name="next" value="{url}">', html=True)
        assertContains(response, '<option value="USD" selected>USD – US Dollar</option>', html=True)
        assertContains(response, '<option value="KWD">KWD – Kuwaiti Dinar</option>', html=True)
        assertContains(response, "<button type=\"submit\">Change<span class=\"visually-hidden\"> currency</span></button>", html=True)


def test_choosing_a_currency_is_remembered_and_goes_back(db, known_rates, shirt):
    client = Client()

    response = client.post("/currency/", {"currency": "EUR", "next": "/products/linen-shirt/"})

    assert response.status_code == 302
    assert response["Location"] == "/products/linen-shirt/"
    assert client.session[SESSION_KEY] == "EUR"
    page = client.get("/products/linen-shirt/")
    assertContains(page, '<option value="EUR" selected>EUR – Euro</option>', html=True)
    assertContains(page, "€1,234.52")  # 1339.69 x 0.9215 = 1234.524...


def test_signed_in_choice_is_saved_on_the_user_for_other_sessions(db, known_rates, shopper):
    laptop = Client()
    laptop.force_login(shopper)

    laptop.post("/currency/", {"currency": "JPY", "next": "/"})

    assert ShopperPreference.objects.get(user=shopper).currency == "JPY"
    phone = Client()
    phone.force_login(shopper)
    assertContains(phone.get("/"), '<option value="JPY" selected>', html=False)


def test_unsupported_currency_changes_nothing_and_says_why(db, known_rates):
    client = Client()
    client.post("/currency/", {"currency": "GBP", "next": "/"})

    response = client.post("/currency/", {"currency": "XYZ", "next": "/"}, follow=True)

    assert client.session[SESSION_KEY] == "GBP"
    assertContains(response, "XYZ is not supported. Choose one of USD, EUR, GBP, JPY, CAD, AUD, CHF, SEK, KWD.")


def test_set_currency_needs_post_and_csrf(db, known_rates):
    client = Client(enforce_csrf_checks=True)

    assert client.get("/currency/").status_code == 405
    assert client.post("/currency/", {"currency": "EUR"}).status_code == 403
    assert SESSION_KEY not in client.session


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_set_currency_never_redirects_off_site(db, known_rates, next_url):
    response = Client().post("/currency/", {"currency": "EUR", "next": next_url})

    assert response["Location"] == "/"


def test_the_open_cart_follows_the_chosen_currency(db, known_rates, shirt):
    client = Client()
    client.post("/cart/add/linen-shirt/", {"variant": "SHIRT-S", "quantity": 1})
    cart = Cart.objects.get(pk=client.session[CART_SESSION_KEY])
    assert cart.currency == "USD"

    client.post("/currency/", {"currency": "KWD", "next": "/cart/"})

    cart.refresh_from_db()
    assert cart.currency == "KWD"
    assertContains(client.get("/cart/"), "KWD\xa0411.950")  # 1339.69 x 0.3075 = 411.954675 -> 10-fils step


def test_a_cart_in_checkout_keeps_its_currency(db, known_rates, shirt):
    client = Client()
    client.post("/cart/add/linen-shirt/", {"variant": "SHIRT-S", "quantity": 1})
    cart_id = client.session[CART_SESSION_KEY]
    checkout_services.start_checkout(cart_id=cart_id)

    response = client.post("/currency/", {"currency": "EUR", "next": "/"}, follow=True)

    assert Cart.objects.get(pk=cart_id).currency == "USD"
    assert client.session[SESSION_KEY] == "EUR"
    assertContains(response, "Your checkout stays in USD; cancel the checkout to pay in another currency.")


# --- prices on the rendered page ---------------------------------------------------------------

@pytest.mark.parametrize(
    "currency, accept_language, price_usd, shown",
    [
        ("USD", "en-US", "1234.50", "$1,234.50"),
        ("EUR", "de-DE,de;q=0.9", "1339.69", "1.234,52\xa0€"),  # 1234.524...
        ("JPY", "en-US", "13.21", "¥2,000"),  # 1999.5977 -> 2000
        ("JPY", "ja-JP", "13.20", "￥1,998"),  # 1998.084
        ("KWD", "en-US", "17.07", "KWD\xa05.250"),  # 5.249025 -> 5.250
        ("GBP", "en-GB", "10.00", "£7.89"),
    ],
)
def test_rendered_prices_follow_currency_and_locale(db, known_rates, make_variant, currency, accept_language, price_usd, shown):
    product = Product.objects.create(slug="lamp", name="Lamp")
    make_variant("LAMP", price=price_usd, on_hand=5, product=product)
    client = Client(HTTP_ACCEPT_LANGUAGE=accept_language)
    client.post("/currency/", {"currency": currency, "next": "/"})

    detail = client.get("/products/lamp/")
    listing = client.get("/")

    assertContains(detail, shown)
    assertContains(listing, shown)
    if currency != "USD":
        assertNotContains(detail, f"${price_usd}")


# --- Accept-Language: refusals and tags Babel does not know --------------------------------

@pytest.mark.parametrize(
    "header, currency",
    [
        ("de;q=0", "USD"),  # "not German": no euro
        ("pt-BR, de;q=0", "USD"),  # BRL is not sold in and German is refused
        ("de;q=0, en-GB;q=0.5", "GBP"),
        ("en-KW", "KWD"),  # Babel has no en_KW: the region decides
        ("en-kw,en;q=0.8", "KWD"),
        ("fr-KW", "KWD"),
        ("xx-JP", "JPY"),  # an unknown language still names its country
        ("en-KW;q=0, en-CH;q=0.9", "CHF"),
    ],
)
def test_accept_language_ignores_refused_entries_and_maps_unknown_tags_by_region(known_rates, header, currency):
    assert currency_from_accept_language(header) == (None if currency == "USD" else currency)
    assert shopper_currency(request_with(accept_language=header)) == currency


@pytest.mark.parametrize(
    "header, locale",
    [("de;q=0", "en_US"), ("zz, de;q=0", "en_US"), ("de;q=0, fr-FR;q=0.4", "fr_FR"), ("en-KW", "en"), ("fr-KW,de;q=0.5", "fr")],
)
def test_locale_ignores_refused_entries_and_falls_back_to_the_language(header, locale):
    assert locale_from_accept_language(header) == locale


def test_prices_for_an_en_kw_shopper_are_in_dinars(db, known_rates, make_variant):
    product = Product.objects.create(slug="lamp", name="Lamp")
    make_variant("LAMP", price="17.07", on_hand=5, product=product)

    page = Client(HTTP_ACCEPT_LANGUAGE="en-KW,en;q=0.9").get("/products/lamp/")

    assertContains(page, "KWD\xa05.250")


# --- caches must key pages on Accept-Language -------------------------------------------------

@pytest.mark.parametrize("url", ["/", "/products/linen-shirt/", "/cart/", "/api/v1/products/"])
def test_responses_vary_on_accept_language(db, known_rates, shirt, url):
    response = Client(HTTP_ACCEPT_LANGUAGE="de-DE").get(url)

    assert response.status_code == 200
    vary = [part.strip().lower() for part in response.get("Vary", "").split(",")]
    assert "accept-language" in vary


def test_the_same_url_differs_by_accept_language(db, known_rates, shirt):
    german = Client(HTTP_ACCEPT_LANGUAGE="de-DE").get("/products/linen-shirt/")
    japanese = Client(HTTP_ACCEPT_LANGUAGE="ja-JP").get("/products/linen-shirt/")

    assertContains(german, "1.234,52\xa0€")
    assertContains(japanese, "￥202,789")  # 1339.69 x 151.37 = 202788.8...
    assert "Accept-Language" in german["Vary"] and "Accept-Language" in japanese["Vary"]


# --- after login the cart shows what the selector shows -------------------------------------

def log_in(client: Client, user) -> None:
    response = client.post("/accounts/login/", {"login": user.email, "password": "pw-shopper-1"})
    assert response.status_code == 302, response.content


def users_cart(user, shirt, *, currency: str, status: str = "active") -> Cart:
    cart = cart_services.create_cart(currency=currency, user_id=user.pk)
    cart_services.add_line(cart_id=cart.pk, sku=shirt.sku, quantity=1)
    if status == "checkout":
        checkout_services.start_checkout(cart_id=cart.pk)
    return Cart.objects.get(pk=cart.pk)


def test_login_merges_into_the_users_cart_in_the_selectors_currency(db, known_rates, shirt, shopper):
    saved = users_cart(shopper, shirt, currency="GBP")
    client = Client()
    client.post("/currency/", {"currency": "EUR", "next": "/"})
    client.post("/cart/add/linen-shirt/", {"variant": "SHIRT-S", "quantity": 2})

    log_in(client, shopper)

    saved.refresh_from_db()
    assert (saved.currency, saved.lines.get().quantity) == ("EUR", 3)
    assert client.session[CART_SESSION_KEY] == str(saved.pk)
    page = client.get("/cart/")
    assertContains(page, '<option value="EUR" selected>EUR – Euro</option>', html=True)
    assertContains(page, "€3,703.56")  # 3 x 1234.52 (1339.69 x 0.9215 = 1234.524...)
    assertNotContains(page, "£")


def test_login_without_a_session_cart_takes_up_the_users_cart_in_the_selectors_currency(db, known_rates, shirt, shopper):
    saved = users_cart(shopper, shirt, currency="GBP")
    client = Client()
    client.post("/currency/", {"currency": "JPY", "next": "/"})

    log_in(client, shopper)
    page = client.get("/cart/")

    saved.refresh_from_db()
    assert saved.currency == "JPY"
    assert client.session[CART_SESSION_KEY] == str(saved.pk)
    assertContains(page, "¥202,789")  # 1339.69 x 151.37 = 202788.87...
    assertNotContains(page, "£")


def test_login_leaves_a_cart_in_checkout_in_its_fixed_currency(db, known_rates, shirt, shopper):
    in_checkout = users_cart(shopper, shirt, currency="GBP", status="checkout")
    client = Client()
    client.post("/currency/", {"currency": "EUR", "next": "/"})

    log_in(client, shopper)
    client.get("/cart/")

    in_checkout.refresh_from_db()
    assert (in_checkout.status, in_checkout.currency) == ("checkout", "GBP")


def test_login_merge_follows_the_users_saved_choice_when_the_session_has_none(db, known_rates, shirt, shopper):
    ShopperPreference.objects.create(user=shopper, currency="KWD")
    saved = users_cart(shopper, shirt, currency="GBP")
    client = Client(HTTP_ACCEPT_LANGUAGE="de-DE")  # EUR before login, no choice made
    client.post("/cart/add/linen-shirt/", {"variant": "SHIRT-S", "quantity": 1})
    assert Cart.objects.get(pk=client.session[CART_SESSION_KEY]).currency == "EUR"

    log_in(client, shopper)

    saved.refresh_from_db()
    assert (saved.currency, saved.lines.get().quantity) == ("KWD", 2)
