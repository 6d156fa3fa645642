"""Cart writes: lines, currency, merge, and the cart's own side of checkout (its status,
quote, contact and shipping details). Every write of the cart tables is here.

Each function that starts a change locks the cart row first (step 3 of the lock order,
shop/locks.py) and checks the cart's status under that lock (invariant 9). The functions
of the checkout section take a cart their caller (checkout.services) holds locked; the
stock side of checkout (reserving, extending, releasing) is the caller's too.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from cart.models import Cart, CartLine
from cart.pricing import cart_weight, price_cart
from cart import selectors as cart_selectors
from cart.selectors import parse_cart_id, reservation_is_live
from cart.validation import MAX_LINE_QUANTITY, clean_address, clean_email, has_control_characters, parse_quantity
from catalog.models import Variant
from currencies import rates
from discounts import selectors as discount_selectors
from discounts import services as discount_services
from inventory.selectors import available_quantities
from shipping import selectors as shipping
from shipping.selectors import MethodQuote
from shop import metrics, prepared_statements
from shop.errors import (
    CartNotActive,
    CartNotInCheckout,
    DiscountNotApplicable,
    InsufficientStock,
    InvalidInput,
    NotFound,
    ReservationExpired,
    ShopError,
)
from shop.prepared_statements import Prepared, Statement

log = logging.getLogger(__name__)

# A checkout field not given at all (as opposed to given as None).
UNSET: Any = object()


def lock_cart(cart_id: UUID | str, *, with_lines: bool = False) -> Cart:
    """The cart row, locked (lock order: shop/locks.py), else NotFound.

    One prepared SELECT ... FOR UPDATE of every column (shop/prepared_statements.py),
    converted as the ORM converts them: every checkout request starts here, and the
    ORM's query building cost more CPU than the query (bench/hot_sku.py).

    `with_lines`: the same round trip then reads the cart's lines with their variants and
    products (a second statement in the query string, so it runs once the lock is held
    and no line can change under it), kept on the cart (cart.selectors.keep_lines) for
    the checkout's writes and the response."""
    statement, names, converters = _lock_cart_sql()
    cart_pk = parse_cart_id(cart_id)
    statements = [(statement, [cart_pk])]
    if with_lines:
        statements.append((cart_selectors.lines_statement(), [cart_pk]))
    connection = transaction.get_connection()
    with connection.cursor() as cursor:
        prepared_statements.execute(cursor, *statements)
        row = cursor.fetchone()
        if with_lines:
            cursor.nextset()
            line_rows = cursor.fetchall()
    if row is None:
        raise NotFound("That cart does not exist.")
    values = list(row)
    for i, (column, field_converters) in enumerate(converters):
        for convert in field_converters:
            values[i] = convert(values[i], column, connection)
    cart = Cart.from_db(connection.alias, names, values)
    if with_lines:
        cart_selectors.keep_lines(cart, line_rows)
    return cart


@functools.cache
def _lock_cart_sql() -> tuple[Prepared, list[str], list[tuple[Any, list]]]:
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    fields = Cart._meta.concrete_fields
    columns = ", ".join(quote(field.column) for field in fields)
    sql = f"SELECT {columns} FROM {quote(Cart._meta.db_table)} WHERE {quote(Cart._meta.pk.column)} = %s FOR UPDATE"
    converters = []
    for field in fields:
        column = field.get_col(Cart._meta.db_table)
        converters.append((column, [*connection.ops.get_db_converters(column), *field.get_db_converters(connection)]))
    return Prepared("cart_lock", sql), [field.attname for field in fields], converters


def lock_carts(cart_ids: Iterable[UUID]) -> dict[UUID, Cart]:
    """Several cart rows locked in one statement, by primary key (lock order:
    shop/locks.py), so two transactions locking the same carts never deadlock."""
    carts = Cart.objects.select_for_update().filter(pk__in=set(cart_ids)).order_by("pk")
    return {cart.pk: cart for cart in carts}


def _require_active(cart: Cart) -> None:
    if cart.status != Cart.Status.ACTIVE:
        raise CartNotActive(
            gettext("This cart is in checkout; cancel the checkout to change it.")
            if cart.status == Cart.Status.CHECKOUT
            else gettext("This cart can no longer be changed.")
        )


def touch(cart: Cart, now: datetime, fields: list[str], *, lines_write: LinesWrite | None = None) -> None:
    """Save `fields` of the cart and note the shopper's activity (`lines_write`: see
    _save_fields)."""
    cart.last_activity_at = now
    _save_fields(cart, [*fields, "last_activity_at", "updated_at"], lines_write=lines_write)


# A write of a cart's lines and how many lines it must write (a check: the lines are the
# ones read under the cart's lock).
LinesWrite = tuple[Statement, int]

# The prepared UPDATE of a cart per set of fields, built once: on the checkout's hot path
# Model.save's query building costs more than the statement itself (bench/hot_sku.py).
_UPDATE_SQL: dict[tuple[str, ...], tuple[Prepared, list]] = {}


# Listeners of every model's saves that only act on a model's file fields (easy-thumbnails,
# for product images): a cart has none, so they do nothing for it.
_FILE_FIELD_LISTENERS = ("easy_thumbnails.signal_handlers",)


def _save_listeners() -> list:
    """The receivers of pre_save and post_save that would act on a cart's save."""
    from django.db.models import signals

    found = []
    for signal in (signals.pre_save, signals.post_save):
        if signal.has_listeners(Cart):
            sync, asynchronous = signal._live_receivers(Cart)
            found += [r for r in [*sync, *asynchronous] if getattr(r, "__module__", None) not in _FILE_FIELD_LISTENERS]
    return found


def _save_fields(cart: Cart, fields: list[str], *, lines_write: LinesWrite | None = None) -> None:
    """cart.save(update_fields=fields) as one prepared UPDATE, with the same values (each
    field's pre_save and database preparation, so `updated_at` moves as auto_now says).
    Model.save runs instead if a signal listens for saved carts (none does).

    `lines_write`: a write of the cart's lines sent ahead of the cart's UPDATE in the
    same query string, one round trip for both, and how many lines it must write."""
    from django.db import DatabaseError

    def check(cursor, expected: int, what: str) -> None:
        if cursor.rowcount != expected:
            raise DatabaseError(f"{what}: {cursor.rowcount} rows written, {expected} expected.")

    connection = transaction.get_connection()
    writes = [lines_write[0]] if lines_write else []
    if _save_listeners():
        if lines_write:
            with connection.cursor() as cursor:
                prepared_statements.execute(cursor, *writes)
                check(cursor, lines_write[1], "Cart lines")
        cart.save(update_fields=fields)
        return
    key = tuple(dict.fromkeys(fields))
    built = _UPDATE_SQL.get(key)
    if built is None:
        quote = connection.ops.quote_name
        columns = [Cart._meta.get_field(name) for name in key]
        assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
        sql = f"UPDATE {quote(Cart._meta.db_table)} SET {assignments} WHERE {quote(Cart._meta.pk.column)} = %s"
        built = _UPDATE_SQL[key] = (Prepared("cart_save", sql), columns)
    statement, columns = built
    params = [field.get_db_prep_save(field.pre_save(cart, False), connection) for field in columns]
    params.append(Cart._meta.pk.get_db_prep_value(cart.pk, connection))
    with connection.cursor() as cursor:
        prepared_statements.execute(cursor, *writes, (statement, params))
        if lines_write:
            check(cursor, lines_write[1], "Cart lines")
            cursor.nextset()  # to the cart's UPDATE
        check(cursor, 1, "Save with update_fields")


def create_cart(*, currency: Any = None, user_id: int | None = None) -> Cart:
    code = rates.validate_currency(currency) if currency is not None else settings.DEFAULT_CURRENCY
    return Cart.objects.create(currency=code, user_id=user_id)


def _check_line_stock(variant: Variant, quantity: int) -> None:
    available = available_quantities([variant.pk])[variant.pk]
    if quantity > available:
        metrics.OUT_OF_STOCK_REFUSALS.labels(stage="cart").inc()
        raise InsufficientStock.of([(variant, quantity, available)])


# --- how much one cart may hold (docs/operations.md, "Limits and security settings") -------


def _per_sku_limit_error(quantity: int) -> InvalidInput:
    limit = settings.CART_MAX_QUANTITY_PER_SKU
    return InvalidInput(
        gettext("At most %(limit)d of one item per order.") % {"limit": limit},
        details={"quantity": [gettext("The line would hold %(quantity)d; at most %(limit)d.") % {"quantity": quantity, "limit": limit}]},
    )


def _total_limit_error(total: int, *, field: str) -> InvalidInput:
    limit = settings.CART_MAX_UNITS
    return InvalidInput(
        gettext("A cart can hold at most %(limit)d items.") % {"limit": limit},
        details={field: [gettext("The cart would hold %(total)d items; at most %(limit)d.") % {"total": total, "limit": limit}]},
    )


def check_quantity_limits(cart: Cart, *, variant_id: int, quantity: int) -> None:
    """A line of `quantity` units of the variant must keep the cart within
    CART_MAX_QUANTITY_PER_SKU of one SKU and CART_MAX_UNITS in all: else InvalidInput
    naming `quantity`, and nothing is written. The caller holds the cart locked."""
    if quantity > settings.CART_MAX_QUANTITY_PER_SKU:
        raise _per_sku_limit_error(quantity)
    others = CartLine.objects.filter(cart=cart).exclude(variant_id=variant_id).aggregate(units=Sum("quantity"))["units"] or 0
    if others + quantity > settings.CART_MAX_UNITS:
        raise _total_limit_error(others + quantity, field="quantity")


def check_hold_limits(items: dict[int, int]) -> None:
    """What a checkout is about to reserve (variant id -> quantity, as items_to_reserve
    returns it) must keep to the same limits, which may have been lowered since the lines
    were added: else InvalidInput naming `lines`, before anything is reserved."""
    worst = max(items.values(), default=0)
    if worst > settings.CART_MAX_QUANTITY_PER_SKU:
        error = _per_sku_limit_error(worst)
        raise InvalidInput(error.message, details={"lines": error.details["quantity"]})
    total = sum(items.values())
    if total > settings.CART_MAX_UNITS:
        raise _total_limit_error(total, field="lines")


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
        check_quantity_limits(cart, variant_id=variant.pk, quantity=new_quantity)
        _check_line_stock(variant, new_quantity)
        if line:
            line.quantity = new_quantity
            line.save(update_fields=["quantity"])
        else:
            line = CartLine.objects.create(cart=cart, variant=variant, quantity=new_quantity)
        touch(cart, now, [])
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
            check_quantity_limits(cart, variant_id=line.variant_id, quantity=quantity)
            _check_line_stock(line.variant, quantity)
        line.quantity = quantity
        line.save(update_fields=["quantity"])
        touch(cart, now, [])
    return line


def remove_line(*, cart_id: UUID | str, line_id: Any) -> None:
    now = timezone.now()
    with transaction.atomic():
        cart = lock_cart(cart_id)
        line = _locked_line(cart, line_id)
        _require_active(cart)
        line.delete()
        touch(cart, now, [])


def set_currency(*, cart_id: UUID | str, currency: Any) -> Cart:
    with transaction.atomic():
        cart = lock_cart(cart_id)
        _require_active(cart)
        cart.currency = rates.validate_currency(currency)
        touch(cart, timezone.now(), ["currency"])
    return cart


# --- the cart's side of checkout: the caller holds the cart locked --------------------


def items_to_reserve(cart: Cart) -> dict[int, int]:
    """variant id -> quantity of the cart's lines (read with the lock: lock_cart's
    `with_lines`, else in one query). A variant or product taken off sale since it was
    added cannot be bought: InsufficientStock, available 0."""
    rows = _line_rows(cart)
    variant_at, quantity_at = cart_selectors.line_column("l", "variant_id"), cart_selectors.line_column("l", "quantity")
    on_sale_at = cart_selectors.line_column("v", "is_active"), cart_selectors.line_column("p", "is_active")
    gone = [row[variant_at] for row in rows if not all(row[i] for i in on_sale_at)]
    if gone:
        lines = CartLine.objects.filter(cart=cart, variant_id__in=gone).select_related("variant__product")
        raise InsufficientStock.of((line.variant, line.quantity, 0) for line in lines)
    return {row[variant_at]: row[quantity_at] for row in rows}


def _line_rows(cart: Cart) -> list:
    """The cart's lines with their variants and products as rows (cart.selectors.
    line_columns()): the ones kept on the cart, else read in one query and kept."""
    rows = cart_selectors.kept_line_rows(cart)
    if rows is None:
        with transaction.get_connection().cursor() as cursor:
            prepared_statements.execute(cursor, (cart_selectors.lines_statement(), [cart.pk]))
            rows = cursor.fetchall()
        cart_selectors.keep_lines(cart, rows)
    return rows


def checkout_problem(cart: Cart, now: datetime, *, not_in_checkout: str | None = None) -> ShopError | None:
    """The one rule for "this cart is in a live checkout": in checkout, with a
    reservation that has not run out. Else the error that says which is not so:
    CartNotInCheckout (with `not_in_checkout` as its message if given) or
    ReservationExpired."""
    if cart.status != Cart.Status.CHECKOUT:
        return CartNotInCheckout(not_in_checkout)
    if not reservation_is_live(cart, now):
        return ReservationExpired()
    return None


def require_live_checkout(cart: Cart, now: datetime, *, not_in_checkout: str | None = None) -> None:
    """Raise checkout_problem's error, if there is one."""
    problem = checkout_problem(cart, now, not_in_checkout=not_in_checkout)
    if problem is not None:
        raise problem


def enter_checkout(cart: Cart, *, expires_at: datetime, now: datetime) -> None:
    """An active cart goes into checkout, its quote fixed (the rate and the USD prices
    of its lines and shipping method, invariant 7); a cart in checkout gets a new
    reservation expiry. Written before the caller locks stock rows: those locks are
    held to the commit, so nothing else should run after them. The lines' prices and
    the cart go in one round trip."""
    lines_write = None
    if cart.status == Cart.Status.ACTIVE:
        cart.status = Cart.Status.CHECKOUT
        cart.exchange_rate = rates.current_rate(cart.currency)
        cart.checkout_step = Cart.Step.ADDRESS
        lines_write = _fix_quote(cart)
    cart.reservation_expires_at = expires_at
    cart.checkout_started_at = now  # a new hold: its time limit starts again
    fields = [*QUOTE_FIELDS, "status", "exchange_rate", "checkout_step", "reservation_expires_at", "checkout_started_at"]
    touch(cart, now, fields, lines_write=lines_write)


QUOTE_FIELDS = ["shipping_method", "quoted_shipping_usd", "quoted_free_over_usd"]


def _fix_quote(cart: Cart) -> LinesWrite:
    """Checkout start: the USD prices of the lines and of the chosen shipping method are
    set on the cart, next to the rate, so the quote holds until payment. Each line's
    price is its variant's as read with the lines (lock_cart's `with_lines`), so the
    response shows exactly what is fixed. Returns the lines' write for the caller to
    send with the cart's."""
    rows = _line_rows(cart)
    method = None
    if cart.shipping_method:
        weight = cart_weight(cart_selectors.lines_from_rows(rows))
        method = shipping.method_for((cart.shipping_address or {}).get("country"), cart.shipping_method, weight)
    _quote_shipping(cart, method)
    price_at = cart_selectors.line_column("v", "price")
    return _line_prices_write(cart, [row[price_at] for row in rows])


def _line_prices_write(cart: Cart, prices: list[Decimal] | None) -> LinesWrite:
    """The statement setting each line's quoted USD price (`prices`, in the order of the
    cart's rows in hand) or clearing them all (None), prepared (the ORM's costs more to
    build than the statement takes to run). The rows in hand are changed to match, so
    the response is built from what is written. Returns the statement and the number of
    lines it must write."""
    rows = _line_rows(cart)
    quoted_at, id_at = cart_selectors.line_column("l", "quoted_unit_price_usd"), cart_selectors.line_column("l", "id")
    if prices is None:
        prices = [None] * len(rows)
        write = (_line_prices_statements()[1], [cart.pk])
    else:
        write = (_line_prices_statements()[0], [[row[id_at] for row in rows], prices, cart.pk])
    cart_selectors.keep_lines(cart, [(*row[:quoted_at], price, *row[quoted_at + 1:]) for row, price in zip(rows, prices)])
    return write, len(rows)


@functools.cache
def _line_prices_statements() -> tuple[Prepared, Prepared]:
    """(set the quoted price of each listed line of a cart: line ids, prices, the cart's
    id; clear it on every line of a cart: its id)."""
    quote = transaction.get_connection().ops.quote_name
    line = CartLine._meta
    table, quoted = quote(line.db_table), quote(line.get_field("quoted_unit_price_usd").column)
    return (
        Prepared(
            "cart_lines_quote",
            f"UPDATE {table} AS l SET {quoted} = x.price FROM unnest(%s::bigint[], %s::numeric[]) AS x(id, price)"
            f" WHERE l.{quote(line.pk.column)} = x.id AND l.{quote(line.get_field('cart').column)} = %s",
        ),
        Prepared("cart_lines_unquote", f"UPDATE {table} SET {quoted} = NULL WHERE {quote(line.get_field('cart').column)} = %s"),
    )


def _weight(cart: Cart) -> int:
    return cart_weight(CartLine.objects.filter(cart=cart).select_related("variant__product"))


def _method_of(cart: Cart, country: str | None = None) -> MethodQuote | None:
    """The cart's chosen method as the zone of `country` (else of its address) offers it
    for the cart's parcel, if it does."""
    country = country or (cart.shipping_address or {}).get("country")
    return shipping.method_for(country, cart.shipping_method, _weight(cart))


def _quote_shipping(cart: Cart, method: MethodQuote | None) -> None:
    """The chosen method and its USD price and threshold, fixed on the cart; a method
    the address's zone does not offer is dropped (the shopper chooses again)."""
    cart.shipping_method = method.code if method else ""
    cart.quoted_shipping_usd = method.price_usd if method else None
    cart.quoted_free_over_usd = method.free_over_usd if method else None


def apply_checkout_fields(cart: Cart, changes: dict[str, Any], *, now: datetime) -> None:
    """Write contact, addresses, shipping method and discount code (cleaned by
    clean_checkout_fields) and the step they lead to, with the reservation expiry as the
    caller left it. A new address re-prices the chosen method for its zone, or drops it
    when that zone does not offer it."""
    changes = dict(changes)
    method = changes.pop("shipping_method", None)
    code = changes.pop("discount_code", None)
    for field, value in changes.items():
        setattr(cart, field, value)
    if method is not None:
        _quote_shipping(cart, method)
    elif "shipping_address" in changes and cart.shipping_method:
        _quote_shipping(cart, _method_of(cart))
    fields = [*changes, *QUOTE_FIELDS]
    if code is not None:
        apply_discount_code(cart, code, now=now)
        fields.append("discount_code")
    if cart.email and cart.shipping_address:
        cart.checkout_step = Cart.Step.PAYMENT if cart.shipping_method else Cart.Step.SHIPPING
    touch(cart, now, [*fields, "checkout_step", "reservation_expires_at"])


def apply_discount_code(cart: Cart, code: Any, *, now: datetime) -> None:
    """Set (or with "" remove) the cart's one discount code; the caller holds the cart
    locked and saves it. A code that does not apply raises DiscountNotApplicable with its
    reason and changes nothing. A use the checkout held of another code is released."""
    if code is None:
        code = ""
    if not isinstance(code, str) or len(code) > discount_selectors.MAX_CODE_LENGTH * 2 or has_control_characters(code):
        raise InvalidInput("Enter the discount code as text.", details={"discount_code": ["Must be a code of at most 40 characters."]})
    code = discount_selectors.normalize_code(code)
    if code == cart.discount_code:
        return
    if code:
        problem = discount_selectors.code_problem(code, email=cart.email, holder_id=cart.pk, now=now)
        if problem is not None:
            raise DiscountNotApplicable(discount_selectors.reason_sentence(problem, code), reason=problem)
        previous = cart.discount_code
        cart.discount_code = code
        totals = price_cart(cart, now=now)
        if totals.discount_problem is not None:
            cart.discount_code = previous
            raise DiscountNotApplicable(totals.discount_message, reason=totals.discount_problem)
    cart.discount_code = code
    discount_services.release_uses(holder_id=cart.pk)


def clean_checkout_fields(
    cart: Cart, *, email: Any, shipping_address: Any, billing_address: Any, shipping_method: Any, discount_code: Any = UNSET
) -> dict[str, Any]:
    """The given fields cleaned; InvalidInput naming every bad one. A shipping address
    must be in a country the shop ships to; a shipping method must be one its zone offers
    (the new address's, if one is given). The discount code is checked when it is
    applied (apply_checkout_fields)."""
    changes: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}

    def collect(field: str, clean) -> None:
        try:
            changes[field] = clean()
        except InvalidInput as exc:
            errors.update(exc.details)

    if email is not UNSET:
        collect("email", lambda: clean_email(email))
    if shipping_address is not UNSET:
        collect("shipping_address", lambda: _clean_shipping_address(shipping_address))
    if billing_address is not UNSET:
        collect(
            "billing_address",
            lambda: None if billing_address is None else clean_address(billing_address, field="billing_address"),
        )
    if shipping_method is not UNSET and "shipping_address" not in errors:
        address = changes.get("shipping_address") or cart.shipping_address
        collect("shipping_method", lambda: _clean_shipping_method(shipping_method, cart, (address or {}).get("country")))
    if discount_code is not UNSET:
        changes["discount_code"] = discount_code
    if errors:
        first_field, messages = next(iter(errors.items()))
        raise InvalidInput(f"{first_field}: {messages[0]}", details=errors)
    return changes


def _clean_shipping_address(value: Any) -> dict[str, str]:
    address = clean_address(value, field="shipping_address")
    if not shipping.ships_to(address["country"]):
        sentence = shipping.not_shipped_sentence(address["country"])
        raise InvalidInput(sentence, details={"shipping_address.country": [sentence]})
    return address


def _clean_shipping_method(code: Any, cart: Cart, country: str | None) -> MethodQuote:
    if not country:
        raise InvalidInput(
            "Enter the shipping address first: the methods depend on it.",
            details={"shipping_method": ["Enter the shipping address first."]},
        )
    offered = shipping.methods_for(country, _weight(cart))
    method = next((m for m in offered if m.code == code), None) if isinstance(code, str) else None
    if method is None:
        codes = ", ".join(m.code for m in offered) or "none"
        raise InvalidInput(
            "Choose one of the shipping methods offered.",
            details={"shipping_method": [f"Unknown shipping method for this address; choose one of {codes}."]},
        )
    return method


def leave_checkout(cart: Cart, *, now: datetime) -> None:
    """checkout -> active (cancelled): the quote and the reservation expiry cleared; the
    lines' prices and the cart written in one round trip."""
    if cart.status != Cart.Status.CHECKOUT:
        raise CartNotInCheckout()
    cart.status = Cart.Status.ACTIVE
    cart.exchange_rate = None
    cart.reservation_expires_at = None
    cart.checkout_step = Cart.Step.CART
    cart.quoted_shipping_usd = None
    cart.quoted_free_over_usd = None
    _release_code_use(cart)
    fields = ["status", "exchange_rate", "reservation_expires_at", "checkout_step", "quoted_shipping_usd", "quoted_free_over_usd"]
    touch(cart, now, fields, lines_write=_line_prices_write(cart, None))  # the prices as _fix_quote clears them


def idle_open_cart_ids(*, cutoff: datetime, excluding: Iterable[UUID] = (), limit: int = 200) -> list[UUID]:
    """Open carts (active or in checkout) untouched since `cutoff`, oldest first."""
    return list(
        Cart.objects.filter(status__in=[Cart.Status.ACTIVE, Cart.Status.CHECKOUT], last_activity_at__lt=cutoff)
        .exclude(pk__in=list(excluding))
        .order_by("last_activity_at")
        .values_list("pk", flat=True)[:limit]
    )


def abandon(cart: Cart) -> None:
    """active|checkout -> abandoned (idle too long); the caller released its stock."""
    cart.status = Cart.Status.ABANDONED
    cart.reservation_expires_at = None
    _release_code_use(cart)
    cart.save(update_fields=["status", "reservation_expires_at", "updated_at"])


def _release_code_use(cart: Cart) -> None:
    """The checkout ended: the use of its discount code the payment request held, if
    any, no longer counts. A cart without a code holds none (a use is only reserved for
    the cart's code, and changing or removing the code releases it): no query then."""
    if cart.discount_code:
        discount_services.release_uses(holder_id=cart.pk)


def restore_quote(
    cart: Cart,
    *,
    rate: Decimal,
    unit_prices_usd: dict[int, Decimal],
    shipping_usd: Decimal | None,
    free_over_usd: Decimal | None,
    discount_code: str,
) -> None:
    """Put a quote back on a cart whose checkout ended (cancelling it cleared the fixed
    prices and rate): a payment for that quote arrived, so the order is priced as paid."""
    lines = list(CartLine.objects.filter(cart=cart))
    for line in lines:
        line.quoted_unit_price_usd = unit_prices_usd[line.variant_id]
    CartLine.objects.bulk_update(lines, ["quoted_unit_price_usd"])
    cart.exchange_rate = rate
    cart.quoted_shipping_usd = shipping_usd
    cart.quoted_free_over_usd = free_over_usd
    cart.discount_code = discount_code


def line_quantities(cart: Cart) -> dict[int, int]:
    """variant id -> quantity of the cart's lines, as they are in the database."""
    return dict(CartLine.objects.filter(cart=cart).values_list("variant_id", "quantity"))


def complete(cart: Cart, *, now: datetime) -> None:
    """checkout -> completed: its order exists. The quote (rate, shipping) stays."""
    cart.status = Cart.Status.COMPLETED
    cart.completed_at = now
    cart.reservation_expires_at = None
    cart.checkout_step = Cart.Step.CONFIRMATION
    cart.save(
        update_fields=[
            "status", "completed_at", "reservation_expires_at", "checkout_step", "exchange_rate", "quoted_shipping_usd",
            "quoted_free_over_usd", "discount_code", "updated_at",
        ]
    )


def merge_carts(*, source_id: UUID | str, user_id: int) -> Cart:
    """On login: the session's cart joins the user's active cart (quantities add, capped
    at 99); with no active user cart, the session cart becomes the user's. Both carts are
    locked at once, by primary key (lock order: shop/locks.py)."""
    source_uuid = parse_cart_id(source_id)
    with transaction.atomic():
        target_id = (
            Cart.objects.filter(user_id=user_id, status=Cart.Status.ACTIVE)
            .exclude(pk=source_uuid)
            .order_by("-last_activity_at")
            .values_list("pk", flat=True)
            .first()
        )
        locked = lock_carts([source_uuid] + ([target_id] if target_id else []))
        source = locked.get(source_uuid)
        if source is None:
            raise NotFound("That cart does not exist.")
        target = locked.get(target_id) if target_id else None
        if target is not None and (target.status != Cart.Status.ACTIVE or target.user_id != user_id):
            target = None  # it changed before we locked it (checked out, merged): none to join
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
                merged.quantity = min(merged.quantity + line.quantity, MAX_LINE_QUANTITY, settings.CART_MAX_QUANTITY_PER_SKU)
                merged.save(update_fields=["quantity"])
            else:
                CartLine.objects.create(cart=target, variant_id=line.variant_id, quantity=line.quantity)
        source.lines.all().delete()
        source.status = Cart.Status.ABANDONED
        source.save(update_fields=["status", "updated_at"])
        touch(target, timezone.now(), [])
    return target


def forget_carts(*, cart_ids: Iterable[UUID]) -> int:
    """A customer who leaves (accounts.privacy): their carts lose who they were for (the
    email, both addresses and the user) and keep their lines and quote, so a completed
    cart still matches its order's amounts. An active cart is abandoned, as nobody can
    come back to it. A cart in checkout is refused (CartNotActive): its reservation and
    payment belong to the checkout, which must end first. Rows are locked by primary key
    (lock order: shop/locks.py). Returns how many carts there were."""
    with transaction.atomic():
        carts = lock_carts(cart_ids)
        if any(cart.status == Cart.Status.CHECKOUT for cart in carts.values()):
            raise CartNotActive("A checkout is still open; finish or cancel it first.")
        now = timezone.now()
        for cart in carts.values():
            cart.updated_at = now
            cart.email = ""
            cart.shipping_address = None
            cart.billing_address = None
            cart.user_id = None
            if cart.status == Cart.Status.ACTIVE:
                cart.status = Cart.Status.ABANDONED
        Cart.objects.bulk_update(list(carts.values()), ["email", "shipping_address", "billing_address", "user", "status", "updated_at"])
    return len(carts)
