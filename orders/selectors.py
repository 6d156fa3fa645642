"""Order reads: a customer's orders, and one order for whoever may see it."""
from __future__ import annotations

import secrets

from django.db.models import Prefetch, QuerySet
from django.urls import reverse

from orders.models import Order, OrderLine


def orders_of_customer(*, user_id: int) -> QuerySet[Order]:
    """The signed-in customer's orders, newest first, lines loaded in one more query."""
    return (
        Order.objects.filter(user_id=user_id)
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("id")))
        .order_by("-created_at", "-id")
    )


def order_for_viewer(*, number: str, user_id: int | None, token: str | None) -> Order | None:
    """The order if the viewer may see it: its customer, or anyone holding the signed
    link's token (a guest's only key). Everyone else gets None, exactly as for an order
    that does not exist, so order numbers reveal nothing."""
    order = (
        Order.objects.filter(number=number)
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("id")))
        .first()
    )
    if order is None:
        return None
    if user_id is not None and order.user_id == user_id:
        return order
    # Compared as bytes: compare_digest refuses str with non-ASCII characters, and a
    # token from a URL can hold anything.
    if isinstance(token, str) and token and secrets.compare_digest(token.encode(), order.access_token.encode()):
        return order
    return None


def guest_link(order: Order, *, view: str = "orders:detail") -> str:
    """The path, with the order's token, that lets whoever holds it read the order (the
    order page by default, "api:order-detail" for the API)."""
    return f"{reverse(view, args=[order.number])}?token={order.access_token}"
