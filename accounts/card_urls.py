"""Saved cards, under /account/cards/: the list with a Remove button per card, and the
JSON endpoint the payment step calls once Stripe.js has set up a card to save."""
from django.urls import path

from accounts import card_views

urlpatterns = [
    path("", card_views.cards, name="cards"),
    path("save/", card_views.save_card, name="card_save"),
    path("<str:payment_method_id>/remove/", card_views.remove_card, name="card_remove"),
]
