"""Cart reads."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import Model, Prefetch, QuerySet
from django.utils import timezone

from cart.models import Cart, CartLine
from catalog import selectors as catalog_selectors
from catalog.models import Product, ProductImage, Variant
from shop.errors import NotFound
from shop.prepared_statements import Prepared


def reservation_is_live(cart: Cart, now: datetime | None = None) -> bool:
    """Whether the cart's reservation still holds its stock (it has one and it has not
    run out). With the cart in checkout, this is "in a live checkout"
    (cart.services.require_live_checkout)."""
    return cart.reservation_expires_at is not None and cart.reservation_expires_at > (now or timezone.now())


def parse_cart_id(value: UUID | str) -> UUID:
    """A cart id from a URL; anything that is not a UUID is simply not found."""
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise NotFound("That cart does not exist.") from None


def _lines() -> QuerySet[CartLine]:
    return CartLine.objects.select_related("variant__product").order_by("created_at", "id")


def cart_with_lines(cart_id: UUID | str, *, select_related: Sequence[str] = ()) -> Cart:
    """A cart with its lines, variants and products in two queries (with whatever
    `select_related` names joined in the first: apps above may join their own rows)."""
    try:
        return (
            Cart.objects.select_related(*select_related)
            .prefetch_related(Prefetch("lines", queryset=_lines()))
            .get(pk=parse_cart_id(cart_id))
        )
    except Cart.DoesNotExist:
        raise NotFound("That cart does not exist.") from None


def lines_of(cart: Cart) -> list[CartLine]:
    """The lines of a cart already in hand, with their variants and products, in the
    order cart_with_lines gives them: the ones the write that saved the cart in this
    request returned (keep_lines), else in one query."""
    kept = cart.__dict__.pop(_KEPT, None)
    if kept is not None:
        return lines_from_rows(kept)
    return list(_lines().filter(cart_id=cart.pk))


def line_pictures(lines: Iterable[CartLine]) -> dict[int, ProductImage]:
    """Line id -> the picture the cart page shows for it (its variant's own, else its
    product's first: catalog.selectors.variant_pictures), in one query for all the lines."""
    lines = list(lines)
    pictures = catalog_selectors.variant_pictures(line.variant for line in lines)
    return {line.pk: pictures[line.variant_id] for line in lines if line.variant_id in pictures}


# --- lines in hand -----------------------------------------------------------------------------
# Checkout start and cancel read the lines with their variants and products in the round
# trip that locks the cart (cart.services.lock_cart) and write their quoted prices from
# those rows, so the response is built from them rather than read again.

_KEPT = "_lines_as_saved"
_ALIASES = ((CartLine, "l"), (Variant, "v"), (Product, "p"))


def line_columns() -> str:
    """The columns of a line (alias l), its variant (v) and product (p), for a RETURNING
    or SELECT list that lines_from_rows reads."""
    return _line_columns()[0]


@cache
def _line_columns() -> tuple[str, list[tuple[type[Model], list[str], list[tuple[Any, list]]]]]:
    quote = connection.ops.quote_name
    columns, models = [], []
    for model, alias in _ALIASES:
        fields = model._meta.concrete_fields
        columns += [f"{alias}.{quote(field.column)}" for field in fields]
        converters = []
        for field in fields:
            column = field.get_col(model._meta.db_table)
            converters.append((column, [*connection.ops.get_db_converters(column), *field.get_db_converters(connection)]))
        models.append((model, [field.attname for field in fields], converters))
    return ", ".join(columns), models


def lines_from_rows(rows: Iterable[Sequence[Any]]) -> list[CartLine]:
    """Lines with their variants and products from rows of line_columns(), converted as
    the ORM converts them, in the order cart_with_lines gives them."""
    _sql, models = _line_columns()
    lines = []
    for row in rows:
        instances, start = [], 0
        for model, names, converters in models:
            values = list(row[start:start + len(names)])
            for i, (column, field_converters) in enumerate(converters):
                for convert in field_converters:
                    values[i] = convert(values[i], column, connection)
            instances.append(model.from_db(connection.alias, names, values))
            start += len(names)
        line, variant, product = instances
        Variant.product.field.set_cached_value(variant, product)
        CartLine.variant.field.set_cached_value(line, variant)
        lines.append(line)
    lines.sort(key=lambda line: (line.created_at, line.pk))
    return lines


def keep_lines(cart: Cart, rows: list[Sequence[Any]]) -> None:
    """The cart's lines as this request read or wrote them (rows of line_columns()): the
    next lines_of(cart) gives them without a query (and only then builds them)."""
    cart.__dict__[_KEPT] = rows


def kept_line_rows(cart: Cart) -> list[Sequence[Any]] | None:
    """The rows keep_lines kept on the cart, left in place; None if none are."""
    return cart.__dict__.get(_KEPT)


@cache
def lines_statement() -> Prepared:
    """One statement reading a cart's lines with their variants and products (rows of
    line_columns(), in cart_with_lines' order); its one parameter is the cart id.
    Prepared (shop/prepared_statements.py): checkout start and cancel read it."""
    quote = connection.ops.quote_name
    line, variant, product = CartLine._meta, Variant._meta, Product._meta
    return Prepared(
        "cart_lines",
        f"SELECT {line_columns()}"
        f"  FROM {quote(line.db_table)} AS l"
        f"  JOIN {quote(variant.db_table)} AS v ON v.{quote(variant.pk.column)} = l.{quote(line.get_field('variant').column)}"
        f"  JOIN {quote(product.db_table)} AS p ON p.{quote(product.pk.column)} = v.{quote(variant.get_field('product').column)}"
        f" WHERE l.{quote(line.get_field('cart').column)} = %s"
        f" ORDER BY l.{quote(line.get_field('created_at').column)}, l.{quote(line.pk.column)}",
    )


@cache
def line_column(alias: str, attname: str) -> int:
    """Where a field (`l`: line, `v`: variant, `p`: product; by attname) is in a row of
    line_columns(), for code that needs a few raw values and not the built lines."""
    start = 0
    for (model, names, _converters), (_model, model_alias) in zip(_line_columns()[1], _ALIASES):
        if model_alias == alias:
            return start + names.index(attname)
        start += len(names)
    raise KeyError(alias)
