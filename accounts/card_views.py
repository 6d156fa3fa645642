"""The shopper's saved cards: /account/cards/ lists them with a Remove button (a card is
saved while paying, by checkout.payment). Each view calls one service of
payments.customers; another user's card is 404."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from django.utils.translation import gettext

from payments import customers
from shop.errors import NotFound, PaymentProviderUnavailable

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

