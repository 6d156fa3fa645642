"""The staff side in German and French: a superuser whose language cookie says `de` or `fr`
walks the changelist and a change page of every model registered in the admin, and the
shop's own admin pages (ship, cancel, return, refund, adjust stock, delete a customer, sales
overview), and no English text of the shop's admin catalogue is left on any of them
(columns, filters, actions, fieldsets, help texts, labels, buttons). The messages of a few
actions come in the page's language too, with the right plural."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from babel.messages.pofile import read_po
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from addresses.models import SavedAddress
from currencies import services as rate_services
from discounts.models import DiscountCode, DiscountUse
from payments.models import Payment, Refund, StripeCustomer, WebhookEvent
from shop.models import StaffAlert
from taxes.models import TaxRate

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
# Where the staff side's messages come from (the catalogue's "#:" references).
ADMIN_SOURCES = re.compile(r"(^|/)(admin\.py|report_admin\.py|models\.py|apps\.py)$|^inventory/forms\.py$|^templates/admin/")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
# What the pages show as data, not as text of the shop (names, codes, addresses), and a
# sentence of Django's own user page that Django 5.2's catalogues do not translate yet.
DATA = [
    "Raw passwords are not stored, so there is no way to see the user’s password",
    "Linen shirt", "Clothing", "Shirts", "LIN-M", "Standard", "2025-000001", "shopper@example.com", "ada@example.com",
    "boss@example.com", "Ada Lovelace", "Ada", "1 Main St", "Springfield", "Unter den Linden 1", "Berlin", "SPRING10",
    "Lagerbestand", "pi_admin_1", "ch_admin_1", "re_admin_1", "evt_admin_1", "cus_admin_1", "payment_intent.succeeded",
]


def admin_phrases(language: str) -> dict[str, str]:
    """English text of the admin's messages that must not show on a staff page in
    `language`: each message from an admin source whose translation differs, tags
    stripped; a message with placeholders gives its longest literal part when it is long
    enough to mean something (10 characters). Words under 4 letters ("id") are left out."""
    with open(LOCALE_DIR / language / "LC_MESSAGES" / "django.po", "rb") as po:
        catalogue = read_po(po, locale=language)
    phrases: dict[str, str] = {}
    for message in catalogue:
        if not message.id or not any(ADMIN_SOURCES.search(path) for path, _line in message.locations):
            continue
        ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        translated = " ".join(_plain(s) for s in strings)
        for msgid in ids:
            text = _plain(msgid)
            if PLACEHOLDER.search(text):
                parts = sorted((p.strip(" .,:;()") for p in PLACEHOLDER.split(text)), key=len, reverse=True)
                text = parts[0] if parts and len(parts[0]) >= 10 else ""
            if len(text) >= 4 and text not in translated:
                phrases[text] = msgid
    return phrases


def _plain(text: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", text)).split())


def shown_text(html: str) -> str:
    """What staff read: the text, the buttons' and links' titles, without scripts, styles,
    permission names and the shop's data."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    # Permission names are rows Django wrote in English when the models were migrated.
    html = re.sub(r'<select[^>]*name="(user_)?permissions".*?</select>', " ", html, flags=re.S)
    extra = re.findall(r'(?:title|aria-label|placeholder)="([^"]*)"', html)
    extra += re.findall(r'<input[^>]*type="submit"[^>]*value="([^"]*)"', html)
    text = _plain(html) + " " + unescape(" ".join(extra))
    for item in sorted(DATA, key=len, reverse=True):
        text = text.replace(item, " ")
    return text


def english_left(html: str, phrases: dict[str, str]) -> list[str]:
    text = shown_text(html)
    return sorted(p for p in phrases if re.search(r"(?<![\w-])" + re.escape(p) + r"(?![\w-])", text))


# --- the staff's world ---------------------------------------------------------------------


@pytest.fixture
def staff_world(shop_world, known_rates):
    """shop_world (catalog, stock, a cart in checkout, a paid order, a shipping method) and
    one row of each other thing staff look at."""
    order, cart = shop_world["order"], shop_world["cart"]
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-12345678")
    ada = get_user_model().objects.create_user("ada", "ada@example.com", "pw-12345678", first_name="Ada", last_name="Lovelace")
    EmailAddress.objects.create(user=ada, email=ada.email, verified=True, primary=True)
    order.user = ada
    order.save(update_fields=["user"])
    SavedAddress.objects.create(user=ada, name="Ada Lovelace", line1="Unter den Linden 1", city="Berlin", postal_code="10117", country="DE")
    Group.objects.create(name="Lagerbestand")
    rate_services.set_rate_override(currency="EUR", rate=Decimal("0.9"), user_id=boss.pk, note="Lagerbestand")
    code = DiscountCode.objects.create(code="SPRING10", kind=DiscountCode.Kind.PERCENT, value=Decimal("10.00"), usage_limit=5)
    DiscountUse.objects.create(
        code=code, holder_id=uuid.uuid4(), email="ada@example.com", status=DiscountUse.Status.RESERVED,
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    TaxRate.objects.create(country="DE", name="MwSt.", rate=Decimal("19.00"))
    StaffAlert.objects.create(kind=StaffAlert.Kind.LOW_STOCK, subject="LIN-M", body="LIN-M")
    payment = Payment.objects.create(
        cart=order.cart, attempt=1, order=order, stripe_payment_intent_id="pi_admin_1", stripe_charge_id="ch_admin_1",
        amount=5490, currency="USD", status=Payment.Status.SUCCEEDED,
    )
    Refund.objects.create(
        payment=payment, order=order, amount=500, currency="USD", reason=Refund.Reason.REQUESTED_BY_CUSTOMER,
        status=Refund.Status.SUCCEEDED, stripe_refund_id="re_admin_1",
    )
    WebhookEvent.objects.create(
        stripe_event_id="evt_admin_1", type="payment_intent.succeeded", payload={}, outcome=WebhookEvent.Outcome.PROCESSED,
    )
    StripeCustomer.objects.create(user=ada, stripe_customer_id="cus_admin_1")
    return {**shop_world, "boss": boss, "ada": ada, "code": code}


def staff_in(language: str, boss) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(boss)
    return client


def walk_the_admin(client: Client, world) -> dict[str, str]:
    """Every registered model's list and the change page of its first row, then the shop's
    own staff pages: {url: html}; each answered 200."""
    pages: dict[str, str] = {}

    def get(url: str):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        pages[url] = response.content.decode()
        return response

    without_rows = []
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        listing = get(reverse("admin:%s_%s_changelist" % info))
        if "cl" not in (listing.context or {}):
            continue  # the sales overview: a page of its own at the list's address
        first = next(iter(listing.context["cl"].result_list), None)
        if first is None:
            without_rows.append(model._meta.label)
            continue
        get(reverse("admin:%s_%s_change" % info, args=[first.pk]))
    assert without_rows == []

    order, variant = world["order"], world["variant"]
    for name in ("orders_order_ship", "orders_order_cancel", "orders_order_return", "orders_order_refund"):
        get(reverse(f"admin:{name}", args=[order.pk]))
    get(reverse("admin:inventory_stock_adjust", args=[variant.pk]))
    get(reverse("admin:accounts_customer_erase", args=[world["ada"].pk]))
    get(reverse("admin:index"))
    return pages


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["de", "fr"])
def test_the_catalogue_holds_the_admins_english_to_look_for(language):
    phrases = admin_phrases(language)

    assert len(phrases) > 300
    assert {"Adjust stock", "Release expired reservations now", "Deactivate selected discount codes", "payment status"} <= set(phrases)


@pytest.mark.parametrize(
    "language, says",
    [
        ("de", ["Zahlungsstatus", "Bestand anpassen", "Ausgewählte Rabattcodes deaktivieren", "Versandzonen", "Steuersätze", "Kundenwert (USD)"]),
        ("fr", ["Statut du paiement", "Ajuster le stock", "Désactiver les codes de réduction sélectionnés", "Zones de livraison", "Taux de taxe", "Valeur client (USD)"]),
    ],
)
def test_every_admin_page_is_in_the_staff_members_language(language, says, staff_world):
    client = staff_in(language, staff_world["boss"])
    phrases = admin_phrases(language)

    pages = walk_the_admin(client, staff_world)

    left = {url: found for url, html in pages.items() if (found := english_left(html, phrases))}
    assert left == {}
    everything = "\n".join(pages.values())
    for text in says:
        assert text in everything, text


@pytest.mark.parametrize(
    "language, acknowledged, deactivated, released",
    [
        ("de", "1 Warnung zur Kenntnis genommen.", "1 Code deaktiviert.", "Abgelaufene Reservierungen freigegeben: 0 Stück frei."),
        ("fr", "1 alerte prise en compte.", "1 code désactivé.", "Réservations expirées libérées\u00a0: 0 unité libérée."),
    ],
)
def test_the_actions_answer_in_the_staff_members_language(language, acknowledged, deactivated, released, staff_world):
    client = staff_in(language, staff_world["boss"])
    alert = StaffAlert.objects.get()

    alerts = client.post(
        reverse("admin:shop_staffalert_changelist"), {"action": "acknowledge_selected", "_selected_action": [alert.pk]}, follow=True
    )
    codes = client.post(
        reverse("admin:discounts_discountcode_changelist"),
        {"action": "deactivate", "_selected_action": [staff_world["code"].pk]},
        follow=True,
    )
    reservations = client.post(reverse("admin:inventory_reservation_release_expired"), follow=True)

    assert acknowledged in alerts.content.decode()
    assert deactivated in codes.content.decode()
    assert released in reservations.content.decode()
    phrases = admin_phrases(language)
    for response in (alerts, codes, reservations):
        assert english_left(response.content.decode(), phrases) == []
