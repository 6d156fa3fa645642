"""Saved cards, under /account/cards/: the list with a Remove button per card. Cards are
saved by the payment request itself ("Save this card for next time": checkout.payment)."""
from django.urls import path

from accounts import card_views

urlpatterns = [
    path("", card_views.cards, name="cards"),
    path("<str:payment_method_id>/remove/", card_views.remove_card, name="card_remove"),
]
