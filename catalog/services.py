"""Catalog writes: the JSON catalog import (upsert by SKU, stock through the ledger)."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from django.db import transaction
from django.utils.text import slugify
from moneyed import Money

from catalog.models import Category, Product, Variant
from inventory import services as inventory
from inventory.locks import lock_stocks
from inventory.models import StockMovement
from shop.errors import InvalidInput, StockAdjustmentRefused

# Column limits of the models, checked up front so a long value is a named error, not a
# database error halfway through the import.
MAX_SLUG_LENGTH = Product._meta.get_field("slug").max_length
MAX_NAME_LENGTH = Product._meta.get_field("name").max_length
MAX_SKU_LENGTH = Variant._meta.get_field("sku").max_length
MAX_VARIANT_NAME_LENGTH = Variant._meta.get_field("name").max_length
MAX_CATEGORY_NAME_LENGTH = Category._meta.get_field("name").max_length
MAX_COUNT = 2**31 - 1  # stock and thresholds are 32-bit integer columns
MAX_PRICE = Decimal("1e10")  # 12 digits, 2 of them decimals


@dataclass
class ImportResult:
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    stock_movements: int = 0
    skus: list[str] = field(default_factory=list)


def _fail(where: str, message: str) -> NoReturn:
    raise InvalidInput(f"{where}: {message}", details={where: [message]})


def _nul_path(value: Any, path: str) -> str | None:
    """Where a NUL character hides in the file (PostgreSQL refuses it in text and JSON)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_path(key, path) or _nul_path(item, f"{path}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _validate(data: Any) -> list[dict[str, Any]]:
    """Check the whole file before writing anything; the first bad entry is named."""
    if not isinstance(data, dict) or not isinstance(data.get("products"), list):
        _fail("file", 'must be an object with a "products" list')
    nul_at = _nul_path(data["products"], "products")
    if nul_at:
        _fail(nul_at, "must not contain NUL characters")
    seen_skus: set[str] = set()
    seen_slugs: set[str] = set()
    for i, product in enumerate(data["products"]):
        where = f"products[{i}]"
        if not isinstance(product, dict):
            _fail(where, "must be an object")
        slug = product.get("slug")
        if not isinstance(slug, str) or not slug or slugify(slug) != slug or len(slug) > MAX_SLUG_LENGTH:
            _fail(f"{where}.slug", f"must be a lowercase slug like 'linen-shirt' of at most {MAX_SLUG_LENGTH} characters")
        if slug in seen_slugs:
            _fail(f"{where}.slug", f"{slug!r} appears twice in the file")
        seen_slugs.add(slug)
        where = f"products[{i}] ({slug})"
        if not isinstance(product.get("name"), str) or not product["name"].strip():
            _fail(f"{where}.name", "is required")
        if len(product["name"].strip()) > MAX_NAME_LENGTH:
            _fail(f"{where}.name", f"must be at most {MAX_NAME_LENGTH} characters")
        for key in ("description", "category"):
            if key in product and product[key] is not None and not isinstance(product[key], str):
                _fail(f"{where}.{key}", "must be text")
        category = product.get("category")
        if category and (not slugify(category) or len(category) > MAX_CATEGORY_NAME_LENGTH):
            _fail(f"{where}.category", f"must be a name of at most {MAX_CATEGORY_NAME_LENGTH} characters with letters or digits")
        variants = product.get("variants")
        if not isinstance(variants, list) or not variants:
            _fail(f"{where}.variants", "must be a non-empty list")
        for j, variant in enumerate(variants):
            vwhere = f"{where}.variants[{j}]"
            if not isinstance(variant, dict):
                _fail(vwhere, "must be an object")
            sku = variant.get("sku")
            if not isinstance(sku, str) or not sku.strip() or sku != sku.strip() or len(sku) > MAX_SKU_LENGTH:
                _fail(f"{vwhere}.sku", f"must be text of 1 to {MAX_SKU_LENGTH} characters without surrounding spaces")
            if sku in seen_skus:
                _fail(f"{vwhere}.sku", f"{sku!r} appears twice in the file")
            seen_skus.add(sku)
            vwhere = f"{vwhere} ({sku})"
            price = variant.get("price_usd")
            try:
                amount = Decimal(str(price)) if isinstance(price, (str, int)) and not isinstance(price, bool) else None
            except InvalidOperation:
                amount = None
            if (
                amount is None
                or not amount.is_finite()
                or amount < 0
                or amount >= MAX_PRICE
                or amount != amount.quantize(Decimal("0.01"))
            ):
                _fail(f"{vwhere}.price_usd", 'must be a decimal string of 0 or more with at most 2 decimals, like "19.99"')
            stock = variant.get("stock")
            if isinstance(stock, bool) or not isinstance(stock, int) or not 0 <= stock <= MAX_COUNT:
                _fail(f"{vwhere}.stock", "must be a whole number of 0 or more")
            threshold = variant.get("low_stock_threshold")
            if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= MAX_COUNT):
                _fail(f"{vwhere}.low_stock_threshold", "must be a whole number of 0 or more")
            if "attributes" in variant and not isinstance(variant["attributes"], dict):
                _fail(f"{vwhere}.attributes", "must be an object")
            if "name" in variant and variant["name"] is not None and (
                not isinstance(variant["name"], str) or len(variant["name"]) > MAX_VARIANT_NAME_LENGTH
            ):
                _fail(f"{vwhere}.name", f"must be text of at most {MAX_VARIANT_NAME_LENGTH} characters")
    return data["products"]


def import_catalog(data: Any, *, actor_id: int | None = None, only_new: bool = False) -> ImportResult:
    """Upsert products and variants by slug and SKU; set stock to the file's figure
    through ledger movements (one per variant whose figure changes). All or nothing:
    any bad entry raises InvalidInput naming it and nothing is written.

    only_new: add what the shop does not have yet and leave existing products, variants
    and their stock exactly as staff left them (the demo seed, run on every start).

    Locking: catalog rows are written first with plain UPDATEs (which do not block a
    checkout's foreign-key checks on the variant), then every stock row the file sets is
    locked at once in variant-id order, the global order checkouts follow, so an import
    never deadlocks with shoppers.
    """
    products = _validate(data)
    result = ImportResult()
    with transaction.atomic():
        stock_to_set: list[tuple[int, dict[str, Any], str]] = []
        for i, entry in enumerate(products):
            product = Product.objects.filter(slug=entry["slug"]).first()
            if product is not None and only_new:
                pass
            else:
                category = None
                if entry.get("category"):
                    category, _ = Category.objects.get_or_create(
                        slug=slugify(entry["category"]), defaults={"name": entry["category"]}
                    )
                fields = {"name": entry["name"].strip(), "description": entry.get("description") or "", "category": category}
                if product is None:
                    product = Product.objects.create(slug=entry["slug"], **fields)
                    result.products_created += 1
                else:
                    Product.objects.filter(pk=product.pk).update(**fields)
                    result.products_updated += 1
            for position, v in enumerate(entry["variants"]):
                existing = Variant.objects.filter(sku=v["sku"]).first()
                vwhere = f"products[{i}] ({product.slug}).variants[{position}] ({v['sku']})"
                if existing is not None and existing.product_id != product.pk:
                    # A SKU moving to another product would corrupt old carts' snapshots.
                    _fail(f"{vwhere}.sku", f"already belongs to product {existing.product.slug!r}")
                result.skus.append(v["sku"])
                if existing is not None and only_new:
                    continue
                fields = {
                    "name": v.get("name") or "",
                    "attributes": v.get("attributes") or {},
                    "price": Money(Decimal(str(v["price_usd"])), "USD"),
                    "position": position,
                    "is_active": True,
                }
                if existing is None:
                    variant_id = Variant.objects.create(product=product, sku=v["sku"], **fields).pk
                    result.variants_created += 1
                else:
                    Variant.objects.filter(pk=existing.pk).update(**fields)
                    variant_id = existing.pk
                    result.variants_updated += 1
                stock_to_set.append((variant_id, v, vwhere))
        lock_stocks(variant_id for variant_id, _v, _where in stock_to_set)
        for variant_id, v, vwhere in stock_to_set:
            if v.get("low_stock_threshold") is not None:
                inventory.set_low_stock_threshold(variant_id=variant_id, threshold=v["low_stock_threshold"])
            try:
                movement = inventory.set_on_hand(
                    variant_id=variant_id,
                    on_hand=v["stock"],
                    reason=StockMovement.Reason.IMPORT,
                    actor_id=actor_id,
                    note="catalog import",
                )
            except StockAdjustmentRefused as exc:  # e.g. more units reserved by carts in checkout
                _fail(f"{vwhere}.stock", exc.message)
            if movement is not None:
                result.stock_movements += 1
    return result
