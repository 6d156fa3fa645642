"""Cart writes: lines, currency, checkout start/update/cancel, merge, abandonment.

Each function locks the cart row first (lock order: cart -> stock -> reservations) and
checks the cart's status under that lock (DESIGN.md invariant 9).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from moneyed import Money

from cart.models import Cart, CartLine, ShippingMethod
from cart.selectors import parse_cart_id
from cart.signals import checkout_ended, checkout_ending
from cart.validation import MAX_LINE_QUANTITY, clean_address, clean_email, has_control_characters, parse_quantity
from catalog.models import Variant
from inventory import services as inventory
from inventory.selectors import available_quantities
from shop import rates
from shop.errors import (
    CartNotActive,
    CartNotInCheckout,
    InsufficientStock,
    InvalidInput,
    NotFound,
    PaymentInProgress,
    ReservationExpired,
)

log = logging.getLogger(__name__)

_UNSET: Any = object()


def lock_cart(cart_id: UUID | str) -> Cart:
    try:
        return Cart.objects.select_for_update().get(pk=parse_cart_id(cart_id))
    except Cart.DoesNotExist:
        raise NotFound("That cart does not exist.") from None


def _require_active(cart: Cart) -> None:
    if cart.status != Cart.Status.ACTIVE:
        raise CartNotActive(
            "This cart is in checkout; cancel the checkout to change it."
            if cart.status == Cart.Status.CHECKOUT
            else "This cart can no longer be changed."
        )


def _touch(cart: Cart, now: datetime, fields: list[str]) -> None:
    cart.last_activity_at = now
    cart.save(update_fields=[*fields, "last_activity_at", "updated_at"])


def _currency_code(currency: Any) -> str:
    """A supported currency code, else UnsupportedCurrency (also for non-text values)."""
    return rates.validate_currency(currency.strip() if isinstance(currency, str) else "")


def create_cart(*, currency: Any = None, user_id: int | None = None) -> Cart:
    code = _currency_code(currency) if currency is not None else settings.DEFAULT_CURRENCY
    return Cart.objects.create(currency=code, user_id=user_id)


def _check_line_stock(variant: Variant, quantity: int) -> None:
    available = available_quantities([variant.pk])[variant.pk]
    if quantity > available:
        raise InsufficientStock(
            [{"sku": variant.sku, "name": str(variant), "requested": quantity, "available": available}]
        )


def _active_variant(sku: Any) -> Variant:
    if sku is None or (isinstance(sku, str) and not sku.strip()):
        raise InvalidInput("Give the SKU of the item to add.", details={"sku": ["This field is required."]})
    if not isinstance(sku, str):
        raise InvalidInput("The SKU must be text.", details={"sku": ["Must be a string."]})
    variant = None
    if not has_control_characters(sku):  # no SKU has them; PostgreSQL would refuse a NUL
        variant = (
            Variant.objects.select_related("product")
            .filter(sku=sku.strip(), is_active=True, product__is_active=True)
            .first()
        )
    if variant is None:
        raise InvalidInput(f"There is no product with SKU {sku.strip()[:64]!r}.", details={"sku": ["Unknown SKU."]})
    return variant


def add_line(*, cart_id: UUID | str, sku: Any, quantity: Any) -> CartLine:
    """Add `quantity` of a SKU; a SKU already in the cart adds to its line.

    Checks run in the order of the API's errors: the cart exists (404), may change
    (409), the input is valid (400), the stock suffices (409); a refusal writes nothing.
    """
    now = timezone.now()
    with transaction.atomic():
        cart = lock_cart(cart_id)
        _require_active(cart)
        quantity = parse_quantity(quantity)
        variant = _active_variant(sku)
        line = CartLine.objects.filter(cart=cart, variant=variant).first()
        new_quantity = (line.quantity if line else 0) + quantity
        if new_quantity > MAX_LINE_QUANTITY:
            raise InvalidInput(
                f"At most {MAX_LINE_QUANTITY} of one item per order.",
                details={"quantity": [f"The line would hold {new_quantity}; at most {MAX_LINE_QUANTITY}."]},
            )
        _check_line_stock(variant, new_quantity)
        if line:
            line.quantity = new_quantity
            line.save(update_fields=["quantity"])
        else:
            line = CartLine.objects.create(cart=cart, variant=variant, quantity=new_quantity)
        _touch(cart, now, [])
    return line


_MAX_ROW_ID = 2**63 - 1  # bigint: a larger id from a URL would be a database error


def _locked_line(cart: Cart, line_id: Any) -> CartLine:
    try:
        pk = int(str(line_id))
        if not 0 < pk <= _MAX_ROW_ID:
            raise ValueError(line_id)
        return CartLine.objects.select_related("variant__product").get(cart=cart, pk=pk)
    except (CartLine.DoesNotExist, ValueError, TypeError):
        raise NotFound("That line is not in this cart.") from None


def set_line_quantity(*, cart_id: UUID | str, line_id: Any, quantity: Any) -> CartLine:
    now = timezone.now()
    with transaction.atomic():
        cart = lock_cart(cart_id)
        line = _locked_line(cart, line_id)
        _require_active(cart)
        quantity = parse_quantity(quantity)
        if quantity > line.quantity:
            _check_line_stock(line.variant, quantity)
        line.quantity = quantity
        line.save(update_fields=["quantity"])
        _touch(cart, now, [])
    return line


def remove_line(*, cart_id: UUID | str, line_id: Any) -> None:
    now = timezone.now()
    with transaction.atomic():
        cart = lock_cart(cart_id)
        line = _locked_line(cart, line_id)
        _require_active(cart)
        line.delete()
        _touch(cart, now, [])


def set_currency(*, cart_id: UUID | str, currency: Any) -> Cart:
    with transaction.atomic():
        cart = lock_cart(cart_id)
        _require_active(cart)
        cart.currency = _currency_code(currency)
        _touch(cart, timezone.now(), ["currency"])
    return cart


def _items_to_reserve(cart: Cart) -> dict[int, int]:
    """variant id -> quantity of the cart's lines, in one query. A variant or product
    taken off sale since it was added cannot be bought: InsufficientStock, available 0."""
    rows = list(
        CartLine.objects.filter(cart=cart).values_list(
            "variant_id", "quantity", "variant__is_active", "variant__product__is_active"
        )
    )
    gone = [variant_id for variant_id, _q, variant_on_sale, product_on_sale in rows if not (variant_on_sale and product_on_sale)]
    if gone:
        lines = CartLine.objects.filter(cart=cart, variant_id__in=gone).select_related("variant__product")
        raise InsufficientStock(
            [{"sku": line.variant.sku, "name": str(line.variant), "requested": line.quantity, "available": 0} for line in lines]
        )
    return {variant_id: quantity for variant_id, quantity, _v, _p in rows}


def start_checkout(*, cart_id: UUID | str, now: datetime | None = None) -> Cart:
    """Reserve every line for RESERVATION_TTL, all or none, and fix the cart's quote
    (rate and USD prices).

    Called again while in checkout it extends a live reservation, or reserves again,
    all or none, when any of it ran out.
    """
    with transaction.atomic():
        cart = lock_cart(cart_id)
        now = now or timezone.now()  # read after the lock wait, which may cross an expiry
        expires_at = now + settings.RESERVATION_TTL
        if cart.status not in (Cart.Status.ACTIVE, Cart.Status.CHECKOUT):
            raise CartNotActive()
        items = _items_to_reserve(cart)
        if not items:
            raise InvalidInput("Your cart is empty.", details={"lines": ["Add an item before checking out."]})
        if cart.status == Cart.Status.CHECKOUT and cart.reservation_expires_at and cart.reservation_expires_at > now:
            target = max(expires_at, cart.reservation_expires_at)
            try:
                inventory.extend(cart_id=cart.pk, expires_at=target, now=now)
            except ReservationExpired:
                pass  # part of it ran out and may be someone else's: reserve again below
            else:
                cart.reservation_expires_at = target
                _touch(cart, now, ["reservation_expires_at"])
                return cart
        if cart.status == Cart.Status.ACTIVE:
            cart.status = Cart.Status.CHECKOUT
            cart.exchange_rate = rates.current_rate(cart.currency)
            cart.checkout_step = Cart.Step.ADDRESS
            _fix_quote(cart)
        cart.reservation_expires_at = expires_at
        # The cart is written before the stock rows are locked: those locks are held to
        # the commit, so nothing else should run after them.
        _touch(cart, now, ["status", "exchange_rate", "checkout_step", "reservation_expires_at", "quoted_shipping_usd"])
        inventory.reserve(cart_id=cart.pk, items=items, expires_at=expires_at, now=now)
    return cart


def _fix_quote(cart: Cart) -> None:
    """Checkout start: the USD prices of the lines and of the chosen shipping method are
    copied onto the cart, next to the rate, so the quote holds until payment."""
    CartLine.objects.filter(cart=cart).update(
        quoted_unit_price_usd=Subquery(Variant.objects.filter(pk=OuterRef("variant_id")).values("price")[:1])
    )
    method = ShippingMethod.objects.filter(code=cart.shipping_method).first() if cart.shipping_method else None
    cart.quoted_shipping_usd = method.price.amount if method else None


def _clear_quote(cart: Cart) -> None:
    CartLine.objects.filter(cart=cart).update(quoted_unit_price_usd=None)
    cart.quoted_shipping_usd = None


def _require_live_checkout(cart: Cart, now: datetime) -> None:
    if cart.status != Cart.Status.CHECKOUT:
        raise CartNotInCheckout()
    if cart.reservation_expires_at is None or cart.reservation_expires_at <= now:
        raise ReservationExpired()


def keep_reservation_alive(
    cart: Cart, *, now: datetime, ttl: timedelta | None = None, extend_below: timedelta | None = None
) -> None:
    """Activity in checkout: extend to `ttl` from now when less than `extend_below` is left."""
    ttl = ttl or settings.RESERVATION_TTL
    extend_below = extend_below if extend_below is not None else settings.RESERVATION_EXTEND_BELOW
    if cart.reservation_expires_at - now < extend_below:
        target = now + ttl
        inventory.extend(cart_id=cart.pk, expires_at=target, now=now)
        cart.reservation_expires_at = max(target, cart.reservation_expires_at)


def update_checkout(
    *,
    cart_id: UUID | str,
    email: Any = _UNSET,
    shipping_address: Any = _UNSET,
    billing_address: Any = _UNSET,
    shipping_method: Any = _UNSET,
    now: datetime | None = None,
) -> Cart:
    """Contact, addresses and shipping method for a cart in checkout.

    The cart must exist (404) and be in checkout with a live reservation (409); then
    every field is checked before anything is written, so a bad one changes nothing
    (400 naming each bad field). Activity extends a reservation that is running out.
    """
    with transaction.atomic():
        cart = lock_cart(cart_id)
        now = now or timezone.now()  # read after the lock wait, which may cross the expiry
        _require_live_checkout(cart, now)
        changes = _clean_checkout_fields(
            email=email, shipping_address=shipping_address, billing_address=billing_address, shipping_method=shipping_method
        )
        keep_reservation_alive(cart, now=now)
        method = changes.pop("shipping_method", None)
        if method is not None:
            changes["shipping_method"] = method.code
            changes["quoted_shipping_usd"] = method.price.amount
        for field, value in changes.items():
            setattr(cart, field, value)
        if cart.email and cart.shipping_address:
            cart.checkout_step = Cart.Step.PAYMENT if cart.shipping_method else Cart.Step.SHIPPING
        _touch(cart, now, [*changes, "checkout_step", "reservation_expires_at"])
    return cart


def _clean_checkout_fields(*, email: Any, shipping_address: Any, billing_address: Any, shipping_method: Any) -> dict[str, Any]:
    """The given fields cleaned; InvalidInput naming every bad one."""
    changes: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}

    def collect(field: str, clean) -> None:
        try:
            changes[field] = clean()
        except InvalidInput as exc:
            errors.update(exc.details)

    if email is not _UNSET:
        collect("email", lambda: clean_email(email))
    if shipping_address is not _UNSET:
        collect("shipping_address", lambda: clean_address(shipping_address, field="shipping_address"))
    if billing_address is not _UNSET:
        collect(
            "billing_address",
            lambda: None if billing_address is None else clean_address(billing_address, field="billing_address"),
        )
    if shipping_method is not _UNSET:
        collect("shipping_method", lambda: _clean_shipping_method(shipping_method))
    if errors:
        first_field, messages = next(iter(errors.items()))
        raise InvalidInput(f"{first_field}: {messages[0]}", details=errors)
    return changes


def _clean_shipping_method(code: Any) -> ShippingMethod:
    known = isinstance(code, str) and not has_control_characters(code)
    method = ShippingMethod.objects.filter(code=code, is_active=True).first() if known else None
    if method is None:
        codes = list(ShippingMethod.objects.filter(is_active=True).values_list("code", flat=True))
        raise InvalidInput(
            "Choose one of the shipping methods offered.",
            details={"shipping_method": [f"Unknown shipping method; choose one of {', '.join(codes)}."]},
        )
    return method


def cancel_checkout(*, cart_id: UUID | str, now: datetime | None = None) -> Cart:
    """Back to `active`: reservations released, the rate unfixed. Waits for a payment of
    the cart being confirmed right now (PaymentInProgress, 429, if it takes too long)."""
    with transaction.atomic():
        checkout_ending.send(sender=Cart, cart_id=parse_cart_id(cart_id))
        cart = lock_cart(cart_id)
        now = now or timezone.now()
        if cart.status != Cart.Status.CHECKOUT:
            raise CartNotInCheckout()
        cart.status = Cart.Status.ACTIVE
        cart.exchange_rate = None
        cart.reservation_expires_at = None
        cart.checkout_step = Cart.Step.CART
        _clear_quote(cart)
        _touch(cart, now, ["status", "exchange_rate", "reservation_expires_at", "checkout_step", "quoted_shipping_usd"])
        _announce_checkout_ended(cart.pk)
        inventory.release(cart_id=cart.pk, now=now)  # last: stock locks are held to the commit
    return cart


def _announce_checkout_ended(cart_id: UUID) -> None:
    transaction.on_commit(partial(checkout_ended.send, sender=Cart, cart_id=cart_id))


def abandon_idle_carts(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """Carts untouched for CART_ABANDON_AFTER become `abandoned`, their stock released."""
    now = now or timezone.now()
    cutoff = now - settings.CART_ABANDON_AFTER
    abandoned = 0
    paying: set[UUID] = set()  # a payment is being confirmed: left for the next sweep
    while True:
        ids = list(
            Cart.objects.filter(status__in=[Cart.Status.ACTIVE, Cart.Status.CHECKOUT], last_activity_at__lt=cutoff)
            .exclude(pk__in=paying)
            .order_by("last_activity_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return abandoned
        for cart_id in ids:
            with transaction.atomic():
                try:
                    checkout_ending.send(sender=Cart, cart_id=cart_id)
                except PaymentInProgress:
                    paying.add(cart_id)
                    continue
                cart = lock_cart(cart_id)
                # Re-checked under the lock: the shopper may have come back meanwhile.
                if cart.status not in (Cart.Status.ACTIVE, Cart.Status.CHECKOUT) or cart.last_activity_at >= cutoff:
                    continue
                inventory.release(cart_id=cart.pk, now=now)
                if cart.status == Cart.Status.CHECKOUT:
                    _announce_checkout_ended(cart.pk)
                cart.status = Cart.Status.ABANDONED
                cart.reservation_expires_at = None
                cart.save(update_fields=["status", "reservation_expires_at", "updated_at"])
                abandoned += 1


def merge_carts(*, source_id: UUID | str, user_id: int) -> Cart:
    """On login: the session's cart joins the user's active cart (quantities add, capped
    at 99); with no active user cart, the session cart becomes the user's."""
    with transaction.atomic():
        target = (
            Cart.objects.select_for_update()
            .filter(user_id=user_id, status=Cart.Status.ACTIVE)
            .exclude(pk=source_id)
            .order_by("-last_activity_at")
            .first()
        )
        source = lock_cart(source_id)
        if source.user_id not in (None, user_id) or source.status not in (Cart.Status.ACTIVE, Cart.Status.CHECKOUT):
            return target or source
        if target is None or source.status == Cart.Status.CHECKOUT:
            # A cart in checkout keeps its reservation and place: it becomes the user's.
            source.user_id = user_id
            source.save(update_fields=["user", "updated_at"])
            return source
        existing = {line.variant_id: line for line in target.lines.all()}
        for line in source.lines.all():
            if line.variant_id in existing:
                merged = existing[line.variant_id]
                merged.quantity = min(merged.quantity + line.quantity, MAX_LINE_QUANTITY)
                merged.save(update_fields=["quantity"])
            else:
                CartLine.objects.create(cart=target, variant_id=line.variant_id, quantity=line.quantity)
        source.lines.all().delete()
        source.status = Cart.Status.ABANDONED
        source.save(update_fields=["status", "updated_at"])
        _touch(target, timezone.now(), [])
    return target


def upsert_shipping_method(*, code: str, name: str, price_usd: Decimal, position: int = 0) -> ShippingMethod:
    """Create or update a shipping method by code; its price is in the USD base."""
    method, _ = ShippingMethod.objects.update_or_create(
        code=code, defaults={"name": name, "price": Money(price_usd, "USD"), "position": position}
    )
    return method
