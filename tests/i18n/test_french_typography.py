"""French typography: a no-break space (U+00A0) before ':' ';' '?' and '!', in the French
catalogue and in what the templates put together (a label, then its colon: shop_i18n's
|with_colon and {% label_colon %}), so the mark never sticks to the word nor starts a
line. English and German keep the colon right after the word."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.core import mail
from django.template import Context, Template
from django.test import Client
from django.utils import translation

from checkout import cancellation
from orders import emails
from orders.models import Order
from tests.support.pages import use_cart

NBSP = "\u00a0"
MARKS = ":;?!"


def marks_without_a_no_break_space(text: str) -> list[str]:
    """Each ':' ';' '?' '!' of running text not preceded by U+00A0, with what comes before
    it; addresses (https://...), HTML tags and entities (&minus;) and `H:i`-style times are
    not running text."""
    text = re.sub(r"\b\w+://\S+|<[^>]*>|&#?\w+;|\b\d{1,2}:\d\d\b", " ", text)
    return [text[max(0, m.start() - 15):m.end()] for m in re.finditer(rf"[{MARKS}]", text) if m.start() == 0 or text[m.start() - 1] != NBSP]


def test_the_check_sees_a_colon_stuck_to_a_word_or_after_a_plain_space():
    found = marks_without_a_no_break_space("Total: 3 ; Prix\u00a0: 4 ; https://x.test/a?b=1 &minus; 12:30 Fin !")
    assert [(snippet[-2:]) for snippet in found] == ["l:", " ;", " ;", " !"]


def test_every_french_translation_puts_a_no_break_space_before_the_marks():
    with open(Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES" / "django.po", "rb") as po:
        catalogue = read_po(po, locale="fr")
    wrong = {}
    for message in catalogue:
        if not message.id or (message.context or "").endswith("(Django date filter)"):
            continue
        for string in message.string if isinstance(message.string, (tuple, list)) else (message.string,):
            found = marks_without_a_no_break_space(string)
            if found:
                wrong[str(message.id)[:60]] = found
    assert wrong == {}


@pytest.mark.parametrize("language, expected", [("fr", "Total\u00a0: 95,00"), ("de", "Gesamt: 95,00"), ("en", "Total: 95,00")])
def test_a_label_with_its_colon_in_each_language(language, expected):
    template = Template('{% load i18n shop_i18n %}{{ _("Total")|with_colon }} {{ amount }}')
    with translation.override(language):
        assert template.render(Context({"amount": "95,00"})) == expected


def test_the_french_order_confirmation_text_email_spaces_its_colons(paid):
    Order.objects.filter(pk=paid.pk).update(language="fr")

    with translation.override("en"):  # sent by a task: the order's language, not the sender's
        assert emails.send_order_confirmation(paid.pk)

    [email] = mail.outbox
    body = email.body
    assert email.subject == f"Votre commande {paid.number} est confirmée"
    # The totals block: each label, a no-break space, the colon; the amounts of the order.
    assert re.search(r"^Sous-total\u00a0: 95,00\s\$US$", body, flags=re.M), body
    assert re.search(r"^Total\u00a0:    95,00\s\$US$", body, flags=re.M), body
    assert re.search(r"^Livraison\u00a0: ", body, flags=re.M), body
    assert f"Livraison à{NBSP}:\n" in body and f"Consultez votre commande à tout moment{NBSP}:\n" in body
    assert marks_without_a_no_break_space(body) == []


def test_the_english_and_german_confirmations_keep_the_colon_on_the_word(paid):
    emails.send_order_confirmation(paid.pk)
    Order.objects.filter(pk=paid.pk).update(language="de")
    emails.send_order_confirmation(paid.pk)

    english, german = (message.body for message in mail.outbox)
    assert "Total:    $95.00" in english and NBSP + ":" not in english
    assert re.search(r"^Gesamt:    95,00\s\$$", german, flags=re.M), german
    assert NBSP + ":" not in german


def test_the_french_cancellation_email_spaces_its_marks(paid, django_capture_on_commit_callbacks):
    Order.objects.filter(pk=paid.pk).update(language="fr")

    with translation.override("de"), django_capture_on_commit_callbacks(execute=True):
        cancellation.cancel_order(order_id=paid.pk, by_customer=False)

    [email] = mail.outbox
    assert marks_without_a_no_break_space(email.subject + "\n" + email.body) == []
    assert f"Votre commande{NBSP}: http" in email.body


def test_the_french_cart_page_spaces_the_attribute_colon(make_variant, make_cart):
    shirt = make_variant("SHIRT-M", colour="bleu", size="M")
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    use_cart(client, make_cart({shirt: 1}))

    html = client.get("/cart/").content.decode()

    assert f"Taille{NBSP}: M, Couleur{NBSP}: bleu" in html  # (jsonb keeps the shorter key first)
    assert "Couleur:" not in html and "Taille:" not in html
