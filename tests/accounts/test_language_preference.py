"""A signed-in customer's language: choosing one in the header's selector keeps it on the
account (accounts.LanguagePreference), logging in makes it the page language again on any
browser, a customer with none keeps the browser's choice, and a language the shop does not
offer is refused and changes nothing."""
from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import LanguagePreference
from accounts.privacy import export_data
from accounts.selectors import saved_language
from accounts.services import UnsupportedLanguage, remember_language

PASSWORD = "linen-shirt-42"
ENGLISH_BROWSER = "en-US,en;q=0.9"


@pytest.fixture
def customer(db):
    user = get_user_model().objects.create_user(username="ada", email="ada@example.com", password=PASSWORD)
    EmailAddress.objects.create(user=user, email="ada@example.com", verified=True, primary=True)
    return user


def browser() -> Client:
    """A fresh browser (no cookies) that asks for English pages."""
    return Client(HTTP_ACCEPT_LANGUAGE=ENGLISH_BROWSER)


def log_in(client: Client):
    response = client.post("/accounts/login/", {"login": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 302, response.content
    return response


def choose(client: Client, language: str, next_url: str = "/"):
    return client.post("/i18n/setlang/", {"language": language, "next": next_url})


def html_lang(client: Client, url: str = "/") -> str:
    html = client.get(url).content.decode()
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


def test_choosing_a_language_while_signed_in_keeps_it_on_the_account(customer):
    client = browser()
    log_in(client)

    response = choose(client, "de", "/account/")

    assert response.status_code == 302 and response["Location"] == "/account/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert LanguagePreference.objects.get(user=customer).language == "de"
    assert html_lang(client) == "de"


def test_choosing_again_replaces_the_saved_language(customer):
    client = browser()
    log_in(client)
    choose(client, "de")

    choose(client, "fr")

    assert list(LanguagePreference.objects.filter(user=customer).values_list("language", flat=True)) == ["fr"]


def test_the_saved_language_comes_back_at_login_on_a_browser_with_no_cookies(customer):
    first = browser()
    log_in(first)
    choose(first, "de")
    first.post("/accounts/logout/")

    other = browser()  # cookies cleared: nothing but an English Accept-Language
    assert html_lang(other, "/accounts/login/") == "en"
    response = log_in(other)

    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME]["max-age"] == settings.LANGUAGE_COOKIE_AGE
    # The login's own message ("You are logged in.") is already in that language.
    assert "Sie sind angemeldet." in other.get("/account/").content.decode()
    for url in ("/", "/cart/", "/account/"):
        html = other.get(url).content.decode()
        assert '<html lang="de">' in html and "Warenkorb" in html, url


def test_a_customer_with_no_saved_language_keeps_the_browsers_choice(customer):
    client = browser()
    choose(client, "fr")  # chosen as a guest: the cookie only

    response = log_in(client)

    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert html_lang(client) == "fr"
    assert not LanguagePreference.objects.exists()


def test_a_guests_choice_is_not_saved_on_any_account(customer):
    client = browser()

    choose(client, "de")

    assert html_lang(client) == "de"
    assert not LanguagePreference.objects.exists()


@pytest.mark.parametrize("code", ["xx", "es", "DE", "de-DE", "", "de\u0000"])
def test_a_language_the_shop_does_not_offer_is_refused_and_changes_nothing(customer, code):
    client = browser()
    log_in(client)
    choose(client, "fr")

    response = choose(client, code, "/cart/")

    assert response.status_code in (302, 400)
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert LanguagePreference.objects.get(user=customer).language == "fr"
    page = client.get("/cart/").content.decode()
    assert '<html lang="fr">' in page
    if response.status_code == 302:  # the form's way back, with the reason (a NUL is refused earlier, with 400)
        assert response["Location"] == "/cart/"
        assert "Choisissez l’une des langues proposées par la boutique." in page


def test_remember_language_refuses_an_unoffered_code_without_writing(customer):
    with pytest.raises(UnsupportedLanguage) as refused:
        remember_language(user_id=customer.pk, language="es")

    assert refused.value.status == 400 and refused.value.code == "unsupported_language"
    assert saved_language(user_id=customer.pk) is None
    assert remember_language(user_id=customer.pk, language="de") == "de"
    assert saved_language(user_id=customer.pk) == "de"


def test_the_selector_needs_a_post(customer):
    assert browser().get("/i18n/setlang/?language=de").status_code == 405


def test_the_profile_page_shows_the_saved_language_and_the_export_includes_it(customer):
    client = browser()
    log_in(client)
    assert "Your account has no language yet" in client.get("/account/profile/").content.decode()

    choose(client, "de")

    html = client.get("/account/profile/").content.decode()
    assert "Die Sprache Ihres Kontos: Deutsch." in html
    assert export_data(user_id=customer.pk)["profile"]["language"] == "de"


def test_deleting_the_account_deletes_its_language(customer):
    remember_language(user_id=customer.pk, language="fr")

    customer.delete()

    assert not LanguagePreference.objects.exists()
