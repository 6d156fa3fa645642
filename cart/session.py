"""The shopper's cart in the browser: its id lives in the session.

An anonymous shopper owns the cart whose id the session holds; a signed-in one owns the
carts bound to their user, and falls back to their latest open cart when the session has
none. A cart is created only on the first add, so browsing never writes a cart row.
Whatever is resolved is kept on the request, so one page asks the database once.
"""
from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Case, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from cart import services
from cart.models import Cart, CartLine
from cart.selectors import cart_with_lines, parse_cart_id
from currencies.choice import forget_resolved_currency, shopper_currency
from shop.errors import CartNotActive, NotFound

SESSION_KEY = "cart_id"
OPEN_STATUSES = (Cart.Status.ACTIVE, Cart.Status.CHECKOUT)

_NOT_RESOLVED: Any = object()


def _session_cart_id(request: HttpRequest) -> UUID | None:
    raw = request.session.get(SESSION_KEY)
    if not raw:
        return None
    try:
        return parse_cart_id(raw)
    except NotFound:
        return None


def _owned_open_carts(request: HttpRequest) -> QuerySet[Cart]:
    carts = Cart.objects.filter(status__in=OPEN_STATUSES)
    if request.user.is_authenticated:
        return carts.filter(user_id=request.user.pk)
    return carts.filter(user__isnull=True)


def _owns(request: HttpRequest, cart: Cart) -> bool:
    if cart.status not in OPEN_STATUSES:
        return False
    if request.user.is_authenticated:
        return cart.user_id == request.user.pk
    return cart.user_id is None


def remember_cart(request: HttpRequest, cart_id: UUID | None) -> None:
    """Bind `cart_id` to the session (None forgets it)."""
    if cart_id is None:
        request.session.pop(SESSION_KEY, None)
    elif request.session.get(SESSION_KEY) != str(cart_id):
        request.session[SESSION_KEY] = str(cart_id)
    request._shop_cart_summary = _NOT_RESOLVED  # type: ignore[attr-defined]


def _follow_shopper_currency(request: HttpRequest, *, cart_id: UUID, status: str, currency: str) -> None:
    """A cart the shopper takes up again (merged at login, or their latest cart found on
    a new session) is shown in the currency their selector shows, as choosing a currency
    makes the open cart follow it (follow_chosen_currency); a cart in checkout keeps its
    fixed quote."""
    if status != Cart.Status.ACTIVE:
        return
    wanted = shopper_currency(request)
    if currency == wanted:
        return
    try:
        services.set_currency(cart_id=cart_id, currency=wanted)
    except CartNotActive:
        pass  # it went into checkout meanwhile (another tab): its quote stands


def _summary(request: HttpRequest) -> tuple[UUID | None, int]:
    """(cart id, number of items) of the shopper's open cart, in one query. Reads only
    (the header shows it on every page): a cart taken up from the user's history follows
    the shopper's currency when a page uses it (take_up_cart), not here."""
    cached = getattr(request, "_shop_cart_summary", _NOT_RESOLVED)
    if cached is not _NOT_RESOLVED:
        return cached
    counted = _owned_open_carts(request).annotate(item_count=Coalesce(Sum("lines__quantity"), 0))
    session_id = _session_cart_id(request)
    if request.user.is_authenticated:
        # The session's cart if it is the user's, else their most recently used one.
        ordering = ["-last_activity_at"]
        if session_id:
            ordering.insert(0, Case(When(pk=session_id, then=Value(0)), default=Value(1)))
        row = counted.order_by(*ordering).values_list("pk", "item_count").first()
    elif session_id:
        row = counted.filter(pk=session_id).values_list("pk", "item_count").first()
    else:
        row = None
    summary = (row[0], row[1]) if row else (None, 0)
    request._shop_cart_summary = summary  # type: ignore[attr-defined]
    return summary


def take_up_cart(request: HttpRequest) -> UUID | None:
    """The shopper's open cart id, bound to the session. A signed-in shopper whose session
    has no cart takes up their latest one, which then shows in the currency their selector
    shows (_follow_shopper_currency); one in checkout keeps its fixed quote."""
    session_id = _session_cart_id(request)
    cart_id = _summary(request)[0]
    if cart_id is not None and cart_id != session_id and request.user.is_authenticated:
        row = Cart.objects.filter(pk=cart_id).values_list("status", "currency").first()
        if row is not None:
            _follow_shopper_currency(request, cart_id=cart_id, status=row[0], currency=row[1])
    if cart_id != session_id:
        count = _summary(request)[1]
        remember_cart(request, cart_id)
        request._shop_cart_summary = (cart_id, count)  # type: ignore[attr-defined]
    return cart_id


def current_cart_id(request: HttpRequest) -> UUID | None:
    """The shopper's open cart id, for an action on it (take_up_cart)."""
    return take_up_cart(request)


def cart_item_count(request: HttpRequest) -> int:
    if not hasattr(request, "session") or not hasattr(request, "user"):
        return 0  # a request that skipped the middleware (e.g. a RequestFactory render)
    return _summary(request)[1]


def current_cart(request: HttpRequest) -> Cart | None:
    """The shopper's open cart with lines, variants and products loaded (a constant
    number of queries however many lines it has)."""
    cart_id = _session_cart_id(request)
    cart = None
    if cart_id is not None:
        try:
            cart = cart_with_lines(cart_id)
        except NotFound:
            cart = None
        if cart is not None and not _owns(request, cart):
            cart = None
    if cart is None and request.user.is_authenticated:
        cart_id = take_up_cart(request)
        cart = cart_with_lines(cart_id) if cart_id else None
    lines = list(cart.lines.all()) if cart else []
    remember_cart(request, cart.pk if cart else None)
    request._shop_cart_summary = (cart.pk if cart else None, sum(line.quantity for line in lines))  # type: ignore[attr-defined]
    return cart


def quantity_from_form(raw: str | None) -> Any:
    """A whole number typed into a form field, else the raw text, which the cart
    services refuse with their own message."""
    try:
        return int((raw or "").strip())
    except ValueError:
        return raw


def add_to_cart(request: HttpRequest, *, sku: Any, quantity: Any) -> CartLine:
    """Add to the shopper's cart, creating it on the first add. If the add is refused,
    the new cart is rolled back with it: a refused add changes nothing."""
    cart_id = current_cart_id(request)
    with transaction.atomic():
        if cart_id is None:
            user_id = request.user.pk if request.user.is_authenticated else None
            cart_id = services.create_cart(currency=shopper_currency(request), user_id=user_id).pk
        line = services.add_line(cart_id=cart_id, sku=sku, quantity=quantity)
    remember_cart(request, cart_id)
    return line


def follow_chosen_currency(request: HttpRequest, currency: str) -> str | None:
    """The shopper chose `currency`: their open cart follows it, unless it is in checkout
    (its quote is fixed then). Returns that fixed cart's currency, else None."""
    cart_id = current_cart_id(request)
    if cart_id is None:
        return None
    try:
        services.set_currency(cart_id=cart_id, currency=currency)
    except CartNotActive:
        return Cart.objects.filter(pk=cart_id).values_list("currency", flat=True).first()
    return None


def merge_session_cart_on_login(request: HttpRequest | None, user: Any) -> None:
    """On login: the anonymous session's cart joins the user's active cart."""
    if request is None or not hasattr(request, "session"):
        return
    forget_resolved_currency(request)  # the saved choice of the user now counts
    source_id = _session_cart_id(request)
    if source_id is None:
        return  # the user's latest cart, if any, is taken up (and follows the currency) on use
    try:
        merged = services.merge_carts(source_id=source_id, user_id=user.pk)
    except NotFound:
        remember_cart(request, None)
        return
    if merged.status in OPEN_STATUSES and merged.user_id == user.pk:
        # merge_carts keeps the user's cart's currency; the shopper sees the selector's.
        _follow_shopper_currency(request, cart_id=merged.pk, status=merged.status, currency=merged.currency)
        remember_cart(request, merged.pk)
    else:
        remember_cart(request, None)


def cart_context(request: HttpRequest) -> dict[str, Any]:
    """Template context: the header's item count. Templates call a callable when they
    use it, so a page that does not show it runs no query (and the result is cached on
    the request, so showing it twice runs one)."""
    return {"cart_item_count": partial(cart_item_count, request)}
