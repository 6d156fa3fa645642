"""The shopper's saved cards: /account/cards/ lists them with a Remove button, and the
payment step's script posts a confirmed SetupIntent to /account/cards/save/ to keep its
card. Each view calls one service of payments.customers; another user's card is 404."""
from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from django.utils.translation import gettext

from payments import customers
from shop.api_errors import shop_error_json
from shop.errors import InvalidInput, NotFound, PaymentProviderUnavailable, ShopError

STRIPE_AWAY = "We could not reach our payment provider just now."


@login_required
@require_http_methods(["GET", "HEAD"])
def cards(request: HttpRequest) -> HttpResponse:
    try:
        saved = customers.saved_cards(user_id=request.user.pk)
        unavailable = False
    except PaymentProviderUnavailable:
        saved, unavailable = [], True
    return render(request, "accounts/cards.html", {"cards": saved, "unavailable": unavailable})


@login_required
@require_POST
def remove_card(request: HttpRequest, payment_method_id: str) -> HttpResponse:
    """Detach the card at Stripe: it cannot pay in this shop again."""
    try:
        card = customers.remove_card(user_id=request.user.pk, payment_method_id=payment_method_id)
    except NotFound:
        raise Http404(customers.NO_SUCH_CARD) from None
    except PaymentProviderUnavailable:
        messages.error(request, gettext("We could not reach our payment provider just now. Your card is still saved; try again in a moment."))
        return redirect("accounts:cards")
    messages.success(request, gettext("%(brand)s ending in %(last4)s is removed from your account.") % {"brand": card.brand_name, "last4": card.last4})
    return redirect("accounts:cards")


@require_POST
def save_card(request: HttpRequest) -> JsonResponse:
    """JSON: `{"setup_intent": "seti_..."}`, a SetupIntent the payment step made for this
    shopper (checkout:setup_intent with `save_card`) and Stripe.js confirmed. Answers the
    saved card, or the API's error envelope (404 for a set-up that is not theirs, 402 for
    a card its bank will not let be saved, 502 when Stripe is away)."""
    if not request.user.is_authenticated:
        return shop_error_json(NotFound("Sign in to save a card."))
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("setup_intent"), str):
        return shop_error_json(InvalidInput("Say which card set-up to save.", details={"setup_intent": ["Required."]}))
    try:
        card = customers.save_card_from_setup(user_id=request.user.pk, setup_intent_id=body["setup_intent"])
    except ShopError as error:
        return shop_error_json(error)
    return JsonResponse(
        {
            "payment_method": card.payment_method_id,
            "brand": card.brand,
            "last4": card.last4,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
        }
    )
