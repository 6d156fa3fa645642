"""The shop in English, German and French: Accept-Language decides by default, the
header's selector keeps the shopper's choice (the language cookie) across requests, every
shopper page and email is translated with no English sentence of the catalogue left on it,
money is formatted for the page's language, an order stores its language and every email
about it is written in that language whoever sends it, and the committed .mo files are
compiled from the .po files as they are now."""
from __future__ import annotations

import gettext as gnu_gettext
import re
from html import unescape
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from babel.messages.pofile import read_po
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import translation

from catalog.models import Category, Product
from checkout import cancellation
from orders import emails, fulfilment
from orders.models import Order
from tests.support.orders import line_ids
from tests.support.pages import session_cart
from tests.support.shipping import make_method, make_zone
from tests.support.stripe_fixtures import CARD_OK

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
LANGUAGES = ("de", "fr")
ADDRESS = {"name": "Ada Lovelace", "line1": "Unter den Linden 1", "city": "Berlin", "region": "", "postal_code": "10117", "country": "DE"}
# What every page says in each language (the language selector in the header).
SAYS = {"de": ("Sprache",), "fr": ("Langue",)}


# --- the catalogue as a checker -----------------------------------------------------------------


def _catalogue(language: str):
    with open(LOCALE_DIR / language / "LC_MESSAGES" / "django.po", "rb") as po:
        return read_po(po, locale=language)


def _plain(text: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", text)).split())


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


def english_phrases(language: str) -> dict[str, str]:
    """English text of the catalogue that must not show on a page in `language`: each
    message whose translation differs, tags stripped; a message with placeholders gives its
    longest literal part when that part is long enough to mean something (12 characters)
    and is not also in the translation. Date formats are not text."""
    phrases: dict[str, str] = {}
    for message in _catalogue(language):
        if not message.id or (message.context or "").endswith("(Django date filter)"):
            continue
        ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        translated = " ".join(_plain(s) for s in strings)
        for msgid in ids:
            text = _plain(msgid)
            if PLACEHOLDER.search(text):
                parts = sorted((p.strip(" .,:;()") for p in PLACEHOLDER.split(text)), key=len, reverse=True)
                text = parts[0] if parts and len(parts[0]) >= 12 else ""
            if text and text not in translated:
                phrases[text] = msgid
    return phrases


def shown_text(html: str, data: list[str]) -> str:
    """What a shopper reads or hears on the page: its text and the labels in attributes,
    without scripts, styles and the shop's data (product names and such are not UI text)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    # A country's regions are place names (Rhode Island, District of Columbia): data too.
    # Country names are translated by django-countries, and some German ones are English
    # words (Island is Iceland).
    html = re.sub(r'<select[^>]*name="[^"]*-(region|country)".*?</select>', " ", html, flags=re.S)
    labels = " ".join(re.findall(r'(?:aria-label|alt|title|placeholder|data-label|data-follow-text)="([^"]*)"', html))
    text = _plain(html) + " " + unescape(labels)
    for item in sorted(data, key=len, reverse=True):
        text = text.replace(item, " ")
    # Addresses (https://shop/orders/...) and a script's placeholders (%(country)s) are not
    # words the shopper reads, even when a staff label of the catalogue spells the same.
    return re.sub(r"\b\w+://\S+|%\(\w+\)[sd]", " ", text)


def english_left(html: str, phrases: dict[str, str], data: list[str]) -> list[str]:
    text = shown_text(html, data)
    return sorted(phrase for phrase in phrases if re.search(r"(?<![\w-])" + re.escape(phrase) + r"(?![\w-])", text))


# --- the world the pages are walked in -------------------------------------------------------


@pytest.fixture
def shop_world(db, make_variant):
    """A category with a shirt in two sizes, shipping to Germany, and what the pages show
    as data (not translated): the names the test takes out before looking for English."""
    category = Category.objects.create(name="Hemden", slug="hemden")
    product = Product.objects.create(slug="leinenhemd", name="Leinenhemd", description="Kühl im Sommer.", category=category)
    make_variant("HEMD-M", price="30.00", on_hand=50, product=product, size="M")
    make_variant("HEMD-L", price="32.00", on_hand=2, product=product, size="L")
    make_method(code="dhl", name="DHL Paket", price="5.00", min_days=1, max_days=3, zone=make_zone("Deutschland", ["DE"]))
    data = ["Leinenhemd", "Kühl im Sommer.", "Hemden", "HEMD-M", "HEMD-L", "DHL Paket", "Ada Lovelace", "Unter den Linden 1",
            "Berlin", "10117", "ada@example.com", getattr(settings, "SHOP_NAME", "Shop")]
    return product, data


def in_language(language: str) -> Client:
    """A browser whose shopper picked `language` in the selector, with an English browser."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def page(client: Client, url: str, expected_status: int = 200):
    response = client.get(url)
    assert response.status_code == expected_status, (url, response.status_code)
    return response.content.decode()


def walk_shop_and_checkout(client: Client, product: Product, api, stripe_emulator, capture, language: str) -> tuple[dict[str, str], Order]:
    """Every page a guest sees from the home page to the order page, paying on the way."""
    pages = {
        "home": page(client, "/"),
        "category": page(client, product.category.get_absolute_url()),
        "search": page(client, "/?q=Leinenhemd"),
        "filtered": page(client, "/?price_min=10.5&sort=price"),
        "product": page(client, product.get_absolute_url()),
        "empty cart": page(client, "/cart/"),
        "not found": page(client, "/no-such-page/", 404),
    }
    assert client.post(f"/cart/add/{product.slug}/", {"variant": "HEMD-M", "quantity": 2}).status_code == 302
    pages["cart"] = page(client, "/cart/")
    assert client.post("/cart/checkout/").status_code == 302
    pages["checkout address"] = page(client, "/checkout/address/")
    form = {**{f"shipping-{key}": value for key, value in ADDRESS.items()}, "shipping-line2": "", "email": "ada@example.com", "billing_same": "on"}
    assert client.post("/checkout/address/", form).status_code == 302
    pages["checkout shipping"] = page(client, "/checkout/shipping/")
    assert client.post("/checkout/shipping/", {"shipping_method": "dhl"}).status_code == 302
    pages["checkout payment"] = page(client, "/checkout/payment/")
    pages["cart in checkout"] = page(client, "/cart/")
    cart = session_cart(client)
    assert cart is not None
    with capture(execute=True):  # the page's script pays through the API, with the page's cookies
        api.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        paid = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method(CARD_OK)})
    assert paid.status_code == 200, paid.content
    order = Order.objects.get(cart=cart)
    pages["confirmation"] = page(client, "/checkout/complete/")
    pages["order"] = page(client, f"/orders/{order.number}/?token={order.access_token}")
    return pages, order


def walk_account(language: str) -> dict[str, str]:
    """The pages of signing up and logging in, and of a signed-in customer's account."""
    guest = in_language(language)
    pages = {
        "login": page(guest, "/accounts/login/"),
        "signup": page(guest, "/accounts/signup/"),
        "password reset": page(guest, "/accounts/password/reset/"),
    }
    user = get_user_model().objects.create_user(username=f"ada-{language}", email="ada@example.com", password="correct horse battery")
    EmailAddress.objects.create(user=user, email="ada@example.com", verified=True, primary=True)
    customer = in_language(language)
    customer.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    for name, url in [
        ("account", "/account/"), ("profile", "/account/profile/"), ("addresses", "/account/addresses/"),
        ("add address", "/account/addresses/add/"), ("orders", "/orders/"), ("privacy", "/account/privacy/"),
        ("email", "/accounts/email/"), ("password", "/accounts/password/change/"),
    ]:
        pages[name] = page(customer, url)
    return pages


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_shopper_page_is_in_the_chosen_language_with_no_english_left(
    language, shop_world, api, stripe_emulator, django_capture_on_commit_callbacks, mailoutbox
):
    product, data = shop_world
    client = in_language(language)

    pages, order = walk_shop_and_checkout(client, product, api, stripe_emulator, django_capture_on_commit_callbacks, language)
    pages.update(walk_account(language))

    phrases = english_phrases(language)
    assert len(phrases) > 300  # the catalogue is the shop's, not an empty file
    data = [*data, order.number]
    for name, html in pages.items():
        assert f'<html lang="{language}">' in html, name
        text = shown_text(html, data)
        assert all(word in text for word in SAYS[language]), (name, [w for w in SAYS[language] if w not in text])
    # The common attribute names are translated too (they are keys of the catalog's data).
    # (French puts a no-break space before the colon; shown_text makes every space a plain one.)
    assert {"de": "Größe: M", "fr": "Taille : M"}[language] in shown_text(pages["product"], [])
    # Numbers meant for machines stay as they are in every language (no "10,5").
    assert 'value="10.5"' in pages["filtered"]
    assert re.search(r'data-total="\d+\.\d\d"', pages["checkout payment"])
    left = {name: english_left(html, phrases, data) for name, html in pages.items()}
    assert not any(left.values()), "English left:\n" + "\n".join(f"{name}: {found}" for name, found in left.items() if found)
    assert order.language == language


def test_the_walk_would_see_english(shop_world):
    """The checker finds the catalogue's English on an English page (it is not blind)."""
    product, data = shop_world
    html = page(Client(HTTP_ACCEPT_LANGUAGE="en"), product.get_absolute_url())
    left = english_left(html, english_phrases("de"), data)
    assert {"Cart", "All products", "Language", "Skip to content"} <= set(left)


def test_accept_language_decides_without_a_choice(shop_world):
    product, _ = shop_world
    for header, language, says in [
        ("de-DE,de;q=0.9,en;q=0.5", "de", "Alle Produkte"),
        ("fr-CH, fr;q=0.9", "fr", "Tous les produits"),
        ("ja,en;q=0.2", "en", "All products"),  # a language the shop does not speak: English
        ("", "en", "All products"),
    ]:
        html = page(Client(HTTP_ACCEPT_LANGUAGE=header), "/")
        assert f'<html lang="{language}">' in html and says in html, header


def test_the_language_selector_keeps_the_choice_across_requests(shop_world):
    product, _ = shop_world
    client = Client(HTTP_ACCEPT_LANGUAGE="de-DE")
    home = page(client, "/")
    # A labelled plain form in the header, beside the currency's, that works without JavaScript.
    assert '<label for="language-select">Sprache</label>' in home
    assert re.search(r'<form class="inline-form language-selector" method="post" action="/i18n/setlang/" id="language-form">', home)
    assert re.search(r'<option value="de" lang="de" selected>Deutsch</option>', home)
    assert home.index("currency-selector") < home.index("language-selector") < home.index("</header>")

    response = client.post("/i18n/setlang/", {"language": "fr", "next": product.get_absolute_url()})

    assert response.status_code == 302 and response["Location"] == product.get_absolute_url()
    for url in ("/", product.get_absolute_url(), "/cart/", "/accounts/login/"):
        html = page(client, url)
        assert '<html lang="fr">' in html and "Panier" in html, url
    assert re.search(r'<option value="fr" lang="fr" selected>Français</option>', page(client, "/"))
    # A language the shop does not speak changes nothing.
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    assert '<html lang="fr">' in page(client, "/")


def test_money_follows_the_page_language(shop_world, euro_shopper):
    product, _ = shop_world
    # tests.support.pages.euro_shopper: 0.9215 EUR per USD, so 30.00 USD is 27.645, 27.65 EUR.
    client = euro_shopper
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en-US"
    assert "€27.65" in _plain(page(client, product.get_absolute_url()))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    assert "27,65 €" in _plain(page(client, product.get_absolute_url()))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert "27,65 €" in _plain(page(client, product.get_absolute_url())).replace("\u202f", " ").replace("\xa0", " ")
    # Without a choice, the browser's own region still decides the separators (de-CH).
    swiss = Client(HTTP_ACCEPT_LANGUAGE="de-CH")
    session = swiss.session
    session["currency"] = "EUR"
    session.save()
    assert "EUR 27.65" in _plain(page(swiss, product.get_absolute_url())).replace("\xa0", " ")


def test_allauth_speaks_german(db):
    html = page(in_language("de"), "/accounts/signup/")
    # allauth's own catalogue: its form labels and errors.
    assert "Passwort (Wiederholung)" in html or "Passwort (wiederholen)" in html
    response = in_language("de").post("/accounts/login/", {"login": "nobody@example.com", "password": "wrong password 1"})
    assert "Die E-Mail-Adresse und/oder das Passwort" in response.content.decode()


# --- emails --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "language, confirmed, shipped, cancelled, money",
    [
        ("de", "Ihre Bestellung {n} ist bestätigt", "Bestellung {n}: Ein Teil ist unterwegs", "Bestellung {n} ist storniert", "80,00 $"),
        ("fr", "Votre commande {n} est confirmée", "Commande {n}\u00a0: une partie est en route", "La commande {n} est annulée", "80,00 $US"),
    ],
)
def test_an_orders_emails_are_in_its_language_whoever_sends_them(
    language, confirmed, shipped, cancelled, money, api, stripe_emulator, ready_cart, lamp, bulb, django_capture_on_commit_callbacks
):
    cart = ready_cart({lamp: 2, bulb: 3})
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method(CARD_OK)},
            HTTP_ACCEPT_LANGUAGE=f"{language},en;q=0.5",
        )
    assert response.status_code == 200, response.content
    order = Order.objects.get(cart=cart)
    assert order.language == language
    [confirmation] = mail.outbox
    assert confirmation.subject == confirmed.format(n=order.number)
    assert money in confirmation.body.replace("\xa0", " ").replace("\u202f", " ")  # the lamps' line, 2 x 40.00 USD
    html = confirmation.alternatives[0][0]
    assert f'<html lang="{language}">' in html

    # Staff ship part of it (an admin request in English) and cancel another order: the
    # shopper's emails stay in the order's language.
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        fulfilment.ship(order_id=order.pk, quantities={line_ids(order)["LAMP-1"]: 1}, carrier="ups", tracking_number="1Z1")
    assert mail.outbox[-1].subject == shipped.format(n=order.number)
    phrases = english_phrases(language)
    for message in mail.outbox:
        for body in (message.body, message.alternatives[0][0]):
            assert english_left(body, phrases, ["Product", "LAMP-1", "BULB-1", "UPS", "1Z1", order.number, "Shop"]) == []

    # Sent by a task or a webhook with no shopper request: the same language.
    mail.outbox.clear()
    with translation.override("en"):
        assert emails.send_order_confirmation(order.pk)
    assert mail.outbox[0].subject == confirmed.format(n=order.number)


def test_a_cancelled_orders_email_is_in_its_language(paid, django_capture_on_commit_callbacks):
    Order.objects.filter(pk=paid.pk).update(language="fr")
    with translation.override("de"), django_capture_on_commit_callbacks(execute=True):
        cancellation.cancel_order(order_id=paid.pk, by_customer=False)
    [email] = mail.outbox
    assert email.subject == f"La commande {paid.number} est annulée"
    assert "Nous remboursons 95,00" in email.body.replace("\xa0", " ").replace("\u202f", " ")
    assert english_left(email.body, english_phrases("fr"), ["Product", "LAMP-1", "BULB-1", paid.number, "Shop"]) == []


def test_an_english_order_keeps_its_english_emails(paid):
    assert paid.language == "en"
    with translation.override("de"):
        assert emails.send_order_confirmation(paid.pk)
    assert mail.outbox[-1].subject == f"Your order {paid.number} is confirmed"
    assert "Total:    $95.00" in mail.outbox[-1].body


def test_an_unknown_language_becomes_the_default():
    from orders.services import order_language

    assert [order_language(code) for code in ("de", "de-ch", "fr-FR", "ja", "", None)] == ["de", "de", "fr", "en", "en", "en"]


def test_the_order_admin_shows_the_language(paid, admin_client):
    Order.objects.filter(pk=paid.pk).update(language="de")
    html = admin_client.get(f"/admin/orders/order/{paid.pk}/change/").content.decode()
    assert "Deutsch (de)" in _plain(html)


# --- the catalogues -----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_files_are_compiled_from_the_po_files(language):
    """A fresh machine needs no gettext tools: the .mo files are committed, so they must
    say what the .po files say (run `manage.py compilemessages` after editing a .po)."""
    catalogue = _catalogue(language)
    with open(LOCALE_DIR / language / "LC_MESSAGES" / "django.mo", "rb") as mo:
        compiled = gnu_gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]
    expected = {}
    for message in catalogue:
        if not message.id or message.fuzzy:
            continue
        key = message.id if not message.context else f"{message.context}\x04{message.id}"
        if isinstance(message.id, (tuple, list)):
            singular = message.id[0] if not message.context else f"{message.context}\x04{message.id[0]}"
            for index, string in enumerate(message.string):
                expected[(singular, index)] = string
        else:
            expected[key] = message.string
    shipped = {key: value for key, value in compiled.items() if key != ""}
    assert shipped == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language):
    untranslated = [
        message.id for message in _catalogue(language)
        if message.id and (message.fuzzy or not all(message.string if isinstance(message.string, (tuple, list)) else [message.string]))
    ]
    assert untranslated == []


# --- in a browser -------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [320, 375, 1280])
def test_the_selector_switches_the_language_in_a_browser_and_the_header_fits(width, shop_world, live_server, chromium):
    """German words are long: the header with both selectors still fits a phone, and the
    plain form switches the page to French (then German) and keeps it on the next page."""
    product, _ = shop_world
    shots = Path("/tmp/shots/i18n")
    shots.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": width, "height": 800}, locale="de-DE")
    try:
        tab = context.new_page()
        tab.goto(live_server.url + "/")
        assert tab.locator("html").get_attribute("lang") == "de"
        assert tab.evaluate("document.documentElement.scrollWidth") <= width
        tab.screenshot(path=str(shots / f"home-de-{width}.png"))

        if width < 768:  # on a phone both selectors are folded into the header's disclosure
            tab.locator(".header-settings-summary").click()
        tab.get_by_label("Sprache").select_option("fr")
        with tab.expect_navigation():
            tab.locator(".language-selector button").click()
        assert tab.locator("html").get_attribute("lang") == "fr"
        assert tab.get_by_label("Langue").input_value() == "fr"
        assert tab.evaluate("document.documentElement.scrollWidth") <= width
        tab.screenshot(path=str(shots / f"home-fr-{width}.png"))

        tab.goto(live_server.url + product.get_absolute_url())
        assert tab.locator("html").get_attribute("lang") == "fr"
        assert tab.evaluate("document.documentElement.scrollWidth") <= width
        tab.screenshot(path=str(shots / f"product-fr-{width}.png"), full_page=True)
    finally:
        context.close()


def test_api_messages_follow_the_requests_language_and_codes_do_not(shop_world, api):
    product, _ = shop_world
    url = f"/api/v1/products/{product.slug}/?currency=XXX"
    english = api.get(url).json()["error"]
    german = api.get(url, HTTP_ACCEPT_LANGUAGE="de").json()["error"]
    assert english["message"] == "XXX is not supported. Choose one of USD."
    assert german["message"] == "XXX wird nicht unterstützt. Wählen Sie eine von: USD."
    assert german["code"] == english["code"] == "unsupported_currency" and german["details"] == english["details"]
